import ScutumCore

/// Runs one profile's detectors over texts and decides: allow, mask or block. Built once per profile
/// (it compiles the keyword automaton and patterns) and shared; scanning is pure and thread-safe.
///
/// Decision rules:
/// - nothing is scanned when the profile is inactive or its `mode` does not cover the direction;
/// - PII findings do what `pii_action` says, secrets what `secrets_action` says (`block`, `mask`,
///   `detect` = report only); every other finding (prompt injection at or above the threshold,
///   invisible text, banned topic, malicious URL, max input tokens) blocks;
/// - `on_fail: log` turns every block into allow-with-findings; masking still applies;
/// - a block wins over masking; the blocking finding reported is the highest-risk one, earliest first.
public struct GuardrailScanner: Sendable {
    public let profile: GuardrailProfile
    private let detectors: [any Detector]

    /// About this many UTF-8 bytes make a token for `max_input_tokens`.
    public static let bytesPerToken = 4

    public init(profile: GuardrailProfile) {
        self.profile = profile
        var detectors: [any Detector] = []
        if profile.enablePIIDetection {
            let entities = Set(profile.piiEntities)
            if entities.contains(.creditCard) || entities.contains(.usSSN) || entities.contains(.phoneNumber) {
                detectors.append(
                    NumberRunDetector(
                        creditCards: entities.contains(.creditCard), ssns: entities.contains(.usSSN),
                        phones: entities.contains(.phoneNumber)))
            }
            if entities.contains(.emailAddress) { detectors.append(EmailDetector()) }
            if entities.contains(.ibanCode) { detectors.append(IBANDetector()) }
            if entities.contains(.ipAddress) { detectors.append(IPAddressDetector()) }
            if entities.contains(.person) { detectors.append(PersonDetector()) }
        }
        if profile.enableSecretsDetection { detectors.append(SecretsDetector()) }
        if profile.enablePromptInjection {
            detectors.append(PromptInjectionDetector(threshold: profile.promptInjectionThreshold))
        }
        if profile.enableInvisibleText { detectors.append(InvisibleTextDetector()) }
        if !profile.bannedTopics.isEmpty { detectors.append(BannedTopicDetector(topics: profile.bannedTopics)) }
        if profile.enableMaliciousURLs {
            detectors.append(MaliciousURLDetector(blockedHosts: Set(profile.blockedHosts.map { $0.lowercased() })))
        }
        self.detectors = detectors
    }

    /// Whether `direction` is scanned at all.
    public func applies(to direction: GuardrailDirection) -> Bool {
        profile.isActive && profile.mode.covers(direction)
    }

    /// Everything the detectors find in `text`, sorted by position (empty when the profile does not apply).
    /// `max_input_tokens` is checked here for input texts.
    public func findings(in text: String, direction: GuardrailDirection) -> [GuardrailFinding] {
        guard applies(to: direction) else { return [] }
        var text = text
        var found = text.withUTF8 { findings(in: $0) }
        if direction == .input, let finding = tokenLimitFinding(byteCount: text.utf8.count) { found.append(finding) }
        return found.sorted { $0.range.lowerBound < $1.range.lowerBound }
    }

    func findings(in bytes: Bytes) -> [GuardrailFinding] {
        var findings: [GuardrailFinding] = []
        for detector in detectors { detector.detect(in: bytes, into: &findings) }
        return findings
    }

    /// A `max_input_tokens` finding over the whole text when `byteCount` bytes estimate above the limit.
    func tokenLimitFinding(byteCount: Int) -> GuardrailFinding? {
        guard let limit = profile.maxInputTokens else { return nil }
        let estimate = (byteCount + Self.bytesPerToken - 1) / Self.bytesPerToken
        guard estimate > limit else { return nil }
        return GuardrailFinding(scanner: .maxInputTokens, rule: "max_input_tokens", range: 0..<byteCount)
    }

    /// Scans `text` and decides.
    public func scan(_ text: String, direction: GuardrailDirection) -> GuardrailVerdict {
        let findings = findings(in: text, direction: direction)
        guard !findings.isEmpty else { return .clean }
        switch outcome(of: findings) {
        case .block(let finding):
            return GuardrailVerdict(
                decision: .block(GuardrailBlock(profile: profile.name, direction: direction, finding: finding)),
                findings: findings)
        case .mask(let masked):
            return GuardrailVerdict(decision: .mask(GuardrailMasking.mask(text, masked)), findings: findings)
        case .allow:
            return GuardrailVerdict(decision: .allow, findings: findings)
        }
    }

    /// What a set of findings calls for.
    enum Outcome {
        case allow
        case mask([GuardrailFinding])
        case block(GuardrailFinding)
    }

    func outcome(of findings: [GuardrailFinding]) -> Outcome {
        var blocking: GuardrailFinding?
        var masked: [GuardrailFinding] = []
        for finding in findings {
            switch action(for: finding) {
            case .block:
                guard profile.onFail == .block else { continue }
                if blocking.map({ finding.riskScore > $0.riskScore }) ?? true { blocking = finding }
            case .mask: masked.append(finding)
            case .detect: continue
            }
        }
        if let blocking { return .block(blocking) }
        return masked.isEmpty ? .allow : .mask(masked)
    }

    /// What the profile does with this kind of finding.
    public func action(for finding: GuardrailFinding) -> GuardrailAction {
        switch finding.scanner {
        case .pii: profile.piiAction
        case .secrets: profile.secretsAction
        default: .block
        }
    }
}
