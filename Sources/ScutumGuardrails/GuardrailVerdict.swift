import ScutumCore

/// A blocking finding and how to tell the client.
public struct GuardrailBlock: Sendable, Equatable {
    /// The profile's name.
    public var profile: String
    public var direction: GuardrailDirection
    /// The finding that decided the block (the highest risk score, the earliest among equals).
    public var finding: GuardrailFinding

    public init(profile: String, direction: GuardrailDirection, finding: GuardrailFinding) {
        self.profile = profile
        self.direction = direction
        self.finding = finding
    }

    /// `guardrail_violation`: the error code of every guardrail block.
    public static let errorCode = "guardrail_violation"

    /// Names the profile, scanner and rule, never the matched text.
    public var message: String {
        let what = direction == .input ? "The request" : "The response"
        return "\(what) was blocked by guardrail '\(profile)': \(finding.scanner.rawValue) rule '\(finding.rule)' matched."
    }

    /// The OpenAI-style error: 400, `invalid_request_error` for input (`param: messages`) or
    /// `guardrail_error` for output, code `guardrail_violation`. The proxy answers it as is, or for a
    /// stream sends `GatewayError.jsonData()` as the final `data:` event before `[DONE]`.
    public var error: GatewayError {
        GatewayError(
            status: 400, message: message, type: direction == .input ? "invalid_request_error" : "guardrail_error",
            param: direction == .input ? "messages" : nil, code: Self.errorCode)
    }
}

/// What a scan decided for one text, with everything found (also when it allows: `detect`, `on_fail: log`).
public struct GuardrailVerdict: Sendable, Equatable {
    public enum Decision: Sendable, Equatable {
        /// Pass the text on unchanged.
        case allow
        /// Pass this text on instead (matches replaced by placeholders).
        case mask(String)
        /// Refuse: answer the block's error.
        case block(GuardrailBlock)
    }

    public var decision: Decision
    /// Sorted by position; offsets into the scanned text.
    public var findings: [GuardrailFinding]

    public init(decision: Decision, findings: [GuardrailFinding]) {
        self.decision = decision
        self.findings = findings
    }

    public static let clean = GuardrailVerdict(decision: .allow, findings: [])

    public var blocked: GuardrailBlock? {
        if case .block(let block) = decision { return block }
        return nil
    }

    public var decisionName: String {
        switch decision {
        case .allow: "allow"
        case .mask: "mask"
        case .block: "block"
        }
    }

    public var findingsJSON: [JSONValue] { findings.map(\.json) }

    /// The text to forward: the masked text, the original when allowed, nil when blocked.
    public func text(replacing original: String) -> String? {
        switch decision {
        case .allow: return original
        case .mask(let masked): return masked
        case .block: return nil
        }
    }
}

/// What a text or body verdict reports the same way: blocked or not, its error, its log JSON.
public protocol GuardrailReport {
    var blocked: GuardrailBlock? { get }
    /// `allow`, `mask` or `block`.
    var decisionName: String { get }
    var findingsJSON: [JSONValue] { get }
}

extension GuardrailReport {
    public var isBlocked: Bool { blocked != nil }

    /// The error to answer when blocked.
    public var error: GatewayError? { blocked?.error }

    /// For logs: `{"decision","scanner"?,"rule"?,"findings":[...]}`; no matched text.
    public var json: JSONValue {
        var fields: [String: JSONValue] = ["decision": .string(decisionName), "findings": .array(findingsJSON)]
        if let blocked {
            fields["scanner"] = .string(blocked.finding.scanner.rawValue)
            fields["rule"] = .string(blocked.finding.rule)
        }
        return .object(fields)
    }
}

extension GuardrailVerdict: GuardrailReport {}
