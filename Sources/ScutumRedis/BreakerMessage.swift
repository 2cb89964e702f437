/// A deployment's circuit breaker as Redis holds it.
public enum BreakerState: Sendable, Equatable {
    case closed
    /// Skipped by every node for `remaining` more.
    case open(remaining: Duration)
    /// The cooldown is over: the next caller to ask Redis gets the single probe.
    case halfOpen
}

/// A breaker change, as published on `<namespace>:breakers` to every node.
///
/// The text is `open <deployment> <milliseconds>` (open for that long from now: a duration rather
/// than an instant, so nodes' clocks need not agree) or `closed <deployment>`. The deployment name
/// may hold spaces.
public struct BreakerMessage: Sendable, Equatable {
    public var deployment: String
    /// `.open` or `.closed`: half-open is never published, each node sees the cooldown end by itself.
    public var state: BreakerState

    public init(deployment: String, state: BreakerState) {
        self.deployment = deployment
        self.state = state
    }

    /// Parses a published payload; nil when it is not a breaker message.
    public init?(payload: [UInt8]) {
        let text = String(decoding: payload, as: UTF8.self)
        if text.hasPrefix("closed "), text.count > "closed ".count {
            self.init(deployment: String(text.dropFirst("closed ".count)), state: .closed)
            return
        }
        guard text.hasPrefix("open ") else { return nil }
        let rest = text.dropFirst("open ".count)
        guard let space = rest.lastIndex(of: " "), let milliseconds = Int64(rest[rest.index(after: space)...]),
            milliseconds >= 0
        else { return nil }
        let name = rest[..<space]
        guard !name.isEmpty else { return nil }
        self.init(deployment: String(name), state: .open(remaining: .milliseconds(milliseconds)))
    }

    /// The text to publish; nil for half-open, which is not published.
    public var payload: String? {
        switch state {
        case .closed: "closed \(deployment)"
        case .open(let remaining): "open \(deployment) \(remaining.wholeMilliseconds)"
        case .halfOpen: nil
        }
    }
}
