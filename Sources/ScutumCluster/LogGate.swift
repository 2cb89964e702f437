/// Lets a log line repeated while a backend stays down through once per `period`.
struct LogGate {
    var quietUntil: ContinuousClock.Instant?
    var period: Duration = .seconds(10)

    /// Whether to log now; if so, the gate closes for `period`.
    mutating func opens(at now: ContinuousClock.Instant = .now) -> Bool {
        if let quietUntil, now < quietUntil { return false }
        quietUntil = now + period
        return true
    }
}
