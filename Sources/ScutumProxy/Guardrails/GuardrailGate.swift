import Foundation
import Logging
import NIOCore
import ScutumCore
import ScutumGuardrails
import ScutumProviders
import ScutumStore

/// Applies the caller's guardrail profiles on the request path: requests before they reach a
/// provider, answers before they reach the caller. Each profile that finds something leaves one
/// event (counts and rule names, never the text) with the recorder.
struct GuardrailGate: Sendable {
    let platform: PlatformState
    let events: GuardrailEventRecorder?
    let logger: Logger

    /// Who and what a request's events are about.
    struct Subject: Sendable {
        var requestID: String
        var keyID: String?
        var teamID: String?
        var model: String
    }

    /// The profiles a caller's requests go through; empty when guardrails are off or none apply.
    func profiles(for principal: Principal?) -> [GuardrailPolicy.Profile] {
        platform.current.guardrailProfiles(for: principal)
    }

    /// The request to send on: unchanged, or with masked texts. Throws the 400 of the first profile
    /// that blocks it.
    func checkInput(_ chat: ChatCompletionRequest, profiles: [GuardrailPolicy.Profile], subject: Subject)
        throws(GatewayError) -> ChatCompletionRequest
    {
        let masked = try apply(profiles, .input, to: .object(chat.body), subject: subject) { $0.scanChatRequest($1) }
        return try masked.map { body throws(GatewayError) in try ChatCompletionRequest(json: body) } ?? chat
    }

    /// The embedding request to send on: each `input` text scanned like a prompt.
    func checkInput(_ embedding: EmbeddingRequest, profiles: [GuardrailPolicy.Profile], subject: Subject)
        throws(GatewayError) -> EmbeddingRequest
    {
        var body = embedding.body
        var masked = false
        var recorded: [GuardrailEvent] = []
        defer { events?.record(recorded) }
        for profile in profiles where profile.scanner.applies(to: .input) {
            var texts: [String]
            switch body["input"] {
            case .string(let text)?: texts = [text]
            case .array(let items)?: texts = items.compactMap(\.stringValue)
            default: texts = []
            }
            guard texts.count == (body["input"]?.arrayValue?.count ?? 1) else {
                // Token ids cannot be scanned: refused rather than let past the profile unchecked.
                throw GatewayError.invalidRequest(
                    "Guardrail '\(profile.name)' checks embedding input, which must then be text, not token ids.",
                    param: "input")
            }
            var findings: [GuardrailFinding] = []
            var changed = false
            for index in texts.indices {
                let verdict = profile.scanner.scan(texts[index], direction: .input)
                findings += verdict.findings
                switch verdict.decision {
                case .allow: continue
                case .mask(let text):
                    texts[index] = text
                    changed = true
                case .block(let block):
                    if let event = profile.event(.input, findings: findings, block: block, subject: subject) {
                        recorded.append(event)
                    }
                    throw block.error
                }
            }
            if let event = profile.event(.input, findings: findings, block: nil, subject: subject) { recorded.append(event) }
            if changed {
                body["input"] = body["input"]?.stringValue != nil ? .string(texts[0]) : .array(texts.map(JSONValue.string))
                masked = true
            }
        }
        return masked ? try EmbeddingRequest(json: .object(body)) : embedding
    }

    /// The answer to send on: unchanged, or with masked texts. Throws the 400 of the first profile
    /// that blocks it.
    func checkOutput(_ result: ChatCompletionResult, profiles: [GuardrailPolicy.Profile], subject: Subject)
        throws(GatewayError) -> ChatCompletionResult
    {
        guard profiles.contains(where: { $0.scanner.applies(to: .output) }), let body = JSONValue.parse(result.body)
        else { return result }
        let masked = try apply(profiles, .output, to: body, subject: subject) { $0.scanChatResponse($1) }
        return masked.map { ChatCompletionResult(body: $0.jsonBytes, usage: result.usage) } ?? result
    }

    /// Runs each profile scanning `direction` over `body` in turn (a masked body goes on to the
    /// next profile); the masked body, or nil when nothing was masked. Throws the first block's error.
    private func apply(_ profiles: [GuardrailPolicy.Profile], _ direction: GuardrailDirection, to body: JSONValue,
        subject: Subject, scan: (GuardrailScanner, JSONValue) -> GuardrailBodyVerdict) throws(GatewayError) -> JSONValue?
    {
        var body = body
        var masked = false
        var recorded: [GuardrailEvent] = []
        defer { events?.record(recorded) }
        for profile in profiles where profile.scanner.applies(to: direction) {
            let verdict = scan(profile.scanner, body)
            guard !verdict.findings.isEmpty else { continue }
            if let event = profile.event(direction, findings: verdict.findings.map(\.finding), block: verdict.blocked,
                subject: subject)
            {
                recorded.append(event)
            }
            log(verdict, profile: profile, direction: direction, subject: subject)
            switch verdict.decision {
            case .allow: continue
            case .mask(let rewritten):
                body = rewritten
                masked = true
            case .block(let block): throw block.error
            }
        }
        // Not `masked ? body : nil`: JSONValue is nil-literal-expressible, which would make that `.null`.
        guard masked else { return Optional<JSONValue>.none }
        return body
    }

    /// Records a finished stream's events.
    func record(_ filter: GuardrailStreamFilter, subject: Subject) {
        events?.record(filter.events(subject: subject))
    }

    func log(_ report: some GuardrailReport, profile: GuardrailPolicy.Profile, direction: GuardrailDirection,
        subject: Subject)
    {
        logger.info("guardrail decision", metadata: [
            "request_id": "\(subject.requestID)", "guardrail": "\(profile.name)", "direction": "\(direction.rawValue)",
            "decision": "\(report.decisionName)", "findings": "\(report.findingsJSON.count)",
        ])
    }
}

extension GuardrailPolicy.Profile {
    /// The event for what this profile found in one direction of a request; nil when it found nothing.
    func event(_ direction: GuardrailDirection, findings: [GuardrailFinding], block: GuardrailBlock?,
        subject: GuardrailGate.Subject) -> GuardrailEvent?
    {
        guard !findings.isEmpty else { return nil }
        let counts = Dictionary(findings.map { ($0.rule, 1) }, uniquingKeysWith: +)
        let type: GuardrailEvent.EventType
        let action: GuardrailEvent.Action
        let decisive: GuardrailFinding
        let wouldBlock = findings.filter { scanner.action(for: $0) == .block }
        let masking = findings.filter { scanner.action(for: $0) == .mask }
        if let block {
            (type, action, decisive) = (direction == .input ? .inputBlocked : .outputBlocked, .block, block.finding)
        } else if let first = Self.riskiest(wouldBlock) {
            (type, action, decisive) = (.flagged, .log, first)
        } else if let first = Self.riskiest(masking) {
            (type, action, decisive) = (.piiMasked, .mask, first)
        } else {
            (type, action, decisive) = (.piiDetected, .log, Self.riskiest(findings)!)
        }
        return GuardrailEvent(requestID: subject.requestID, keyID: subject.keyID, teamID: subject.teamID, configID: id,
            configName: name, eventType: type, scanner: decisive.scanner.rawValue, rule: decisive.rule,
            model: subject.model, riskScore: decisive.riskScore, action: action, counts: counts)
    }

    /// The highest-risk finding, the earliest among equals.
    static func riskiest(_ findings: [GuardrailFinding]) -> GuardrailFinding? {
        findings.reduce(nil) { best, finding in
            guard let best else { return finding }
            return finding.riskScore > best.riskScore ? finding : best
        }
    }
}
