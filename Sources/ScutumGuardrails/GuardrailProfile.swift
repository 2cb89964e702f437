import ScutumCore

/// Which way text travels: the prompt going to the model, or the model's answer coming back.
public enum GuardrailDirection: String, Sendable, Hashable {
    case input
    case output
}

/// A profile's `mode`: the directions it scans.
public enum GuardrailMode: String, Sendable, Hashable, CaseIterable {
    case input, output, both

    public func covers(_ direction: GuardrailDirection) -> Bool {
        self == .both || rawValue == direction.rawValue
    }
}

/// A profile's `on_fail`: what a blocking finding does. `log` lets the text through and reports the
/// findings (a dry run for a new profile); masking still happens, as `pii_action: mask` asked for it.
public enum GuardrailOnFail: String, Sendable, Hashable, CaseIterable {
    case block, log
}

/// `pii_action` / `secrets_action`: block the text, mask the matches, or only report them.
public enum GuardrailAction: String, Sendable, Hashable, CaseIterable {
    case block, mask, detect
}

/// A PII entity the profile looks for (`pii_entities`); the raw value is also the mask placeholder's name.
public enum PIIEntity: String, Sendable, Hashable, CaseIterable, Comparable {
    case emailAddress = "EMAIL_ADDRESS"
    case phoneNumber = "PHONE_NUMBER"
    case creditCard = "CREDIT_CARD"
    case usSSN = "US_SSN"
    case ibanCode = "IBAN_CODE"
    case ipAddress = "IP_ADDRESS"
    /// A heuristic (honorific or "my name is" followed by capitalized words); off unless listed.
    case person = "PERSON"

    /// What `pii_entities` is when the profile does not say: every entity but the heuristic `PERSON`.
    public static let defaults: [PIIEntity] = allCases.filter { $0 != .person }

    public static func < (lhs: PIIEntity, rhs: PIIEntity) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// A banned topic: found when any keyword (whole words, ASCII case-insensitive) or any pattern matches.
/// A plain string in `banned_topics` is a topic whose name and only keyword are that string.
public struct BannedTopic: Sendable, Hashable {
    public var name: String
    public var keywords: [String]
    public var patterns: [SafeRegex]

    public init(name: String, keywords: [String] = [], patterns: [SafeRegex] = []) {
        self.name = name
        self.keywords = keywords
        self.patterns = patterns
    }
}

/// A guardrail profile: which detectors run, in which direction, and what a finding does. Built by
/// `GuardrailProfile(json:)` from the Admin API's body (which validates every field), or in code.
public struct GuardrailProfile: Sendable, Hashable {
    public var name: String
    public var description: String?
    public var isActive: Bool
    public var mode: GuardrailMode
    public var onFail: GuardrailOnFail

    public var enablePIIDetection: Bool
    public var piiAction: GuardrailAction
    public var piiEntities: [PIIEntity]

    public var enableSecretsDetection: Bool
    /// Not in the list: secrets block by default; `mask` rewrites them to `<SECRET>`.
    public var secretsAction: GuardrailAction

    public var enablePromptInjection: Bool
    /// 0...1; the text is blocked when its injection score reaches it.
    public var promptInjectionThreshold: Double

    public var enableInvisibleText: Bool
    public var bannedTopics: [BannedTopic]

    public var enableMaliciousURLs: Bool
    /// Hosts whose URLs are malicious; `evil.example` also covers `a.evil.example`. Lowercase.
    public var blockedHosts: [String]

    /// Input texts estimated (about 4 UTF-8 bytes a token) above this are blocked; nil: no limit.
    public var maxInputTokens: Int?

    public static let defaultPromptInjectionThreshold = 0.7

    public init(
        name: String, description: String? = nil, isActive: Bool = true, mode: GuardrailMode = .both,
        onFail: GuardrailOnFail = .block, enablePIIDetection: Bool = false, piiAction: GuardrailAction = .mask,
        piiEntities: [PIIEntity] = PIIEntity.defaults, enableSecretsDetection: Bool = false,
        secretsAction: GuardrailAction = .block, enablePromptInjection: Bool = false,
        promptInjectionThreshold: Double = GuardrailProfile.defaultPromptInjectionThreshold,
        enableInvisibleText: Bool = false, bannedTopics: [BannedTopic] = [], enableMaliciousURLs: Bool = false,
        blockedHosts: [String] = [], maxInputTokens: Int? = nil
    ) {
        self.name = name
        self.description = description
        self.isActive = isActive
        self.mode = mode
        self.onFail = onFail
        self.enablePIIDetection = enablePIIDetection
        self.piiAction = piiAction
        self.piiEntities = piiEntities
        self.enableSecretsDetection = enableSecretsDetection
        self.secretsAction = secretsAction
        self.enablePromptInjection = enablePromptInjection
        self.promptInjectionThreshold = promptInjectionThreshold
        self.enableInvisibleText = enableInvisibleText
        self.bannedTopics = bannedTopics
        self.enableMaliciousURLs = enableMaliciousURLs
        self.blockedHosts = blockedHosts
        self.maxInputTokens = maxInputTokens
    }
}
