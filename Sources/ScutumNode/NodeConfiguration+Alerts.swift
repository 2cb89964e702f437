import Foundation

/// How the leader detects and delivers alerts (where to is a platform setting, `alert_webhook_url`).
public struct AlertConfiguration: Sendable, Equatable {
    /// How often the monitor looks and the dispatcher sends (`SCUTUM_ALERT_INTERVAL_MILLISECONDS`,
    /// default 5000).
    public var interval: Duration
    /// How long a node must be cut off from Redis or PostgreSQL before it is an alert
    /// (`SCUTUM_ALERT_UNREACHABLE_SECONDS`, default 10).
    public var unreachableAfter: Duration
    /// One delivery's time limit (`SCUTUM_ALERT_TIMEOUT_SECONDS`, default 10).
    public var timeout: Duration
    /// The wait after the first failed delivery, doubling after each further one up to 5 minutes
    /// (`SCUTUM_ALERT_RETRY_BASE_MILLISECONDS`, default 1000).
    public var retryBase: Duration
    /// Deliveries tried before an alert is `failed` (`SCUTUM_ALERT_MAX_ATTEMPTS`, default 8).
    public var maximumAttempts: Int

    public init(interval: Duration = .seconds(5), unreachableAfter: Duration = .seconds(10),
        timeout: Duration = .seconds(10), retryBase: Duration = .seconds(1), maximumAttempts: Int = 8)
    {
        self.interval = interval
        self.unreachableAfter = unreachableAfter
        self.timeout = timeout
        self.retryBase = retryBase
        self.maximumAttempts = maximumAttempts
    }
}

extension NodeConfiguration {
    /// The alert timings `variables` choose.
    static func alertConfiguration(_ variables: [String: String]) throws(Invalid) -> AlertConfiguration {
        func number(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(Invalid) -> Int {
            guard let text = variables[name]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else {
                return fallback
            }
            guard let value = Int(text), range.contains(value) else {
                throw Invalid(description: "\(name)=\(text) must be an integer in \(range.lowerBound)...\(range.upperBound)")
            }
            return value
        }
        return AlertConfiguration(
            interval: .milliseconds(try number("SCUTUM_ALERT_INTERVAL_MILLISECONDS", default: 5000, range: 10...3_600_000)),
            unreachableAfter: .seconds(try number("SCUTUM_ALERT_UNREACHABLE_SECONDS", default: 10, range: 1...86_400)),
            timeout: .seconds(try number("SCUTUM_ALERT_TIMEOUT_SECONDS", default: 10, range: 1...300)),
            retryBase: .milliseconds(try number("SCUTUM_ALERT_RETRY_BASE_MILLISECONDS", default: 1000, range: 10...3_600_000)),
            maximumAttempts: try number("SCUTUM_ALERT_MAX_ATTEMPTS", default: 8, range: 1...100))
    }
}
