import Foundation
import ScutumCore
import ScutumGuardrails

/// The detector fields of a guardrail profile, which the Admin API validates and stores as the
/// profile's `config` object, with the Admin API's error paths. What is stored must also parse with
/// `GuardrailProfile(json:)`, the parser every proxy node compiles profiles with: `GuardrailRoutes`
/// runs it over the result and reports whatever it refuses.
enum GuardrailProfileFields {
    static let piiEntities = PIIEntity.allCases.map(\.rawValue)
    static let piiActions = GuardrailAction.allCases.map(\.rawValue)
    static let topicTypes = ["keyword", "regex"]
    static let flags = ["enable_pii_detection", "enable_secrets_detection", "enable_prompt_injection",
        "enable_invisible_text", "enable_malicious_urls"]
    static let maximumTopics = 200
    static let maximumKeywordLength = 200
    static let maximumRegexLength = SafeRegex.maximumPatternLength

    /// What a profile that never mentions a detector has: every detector off, and the detectors'
    /// own defaults for the rest.
    static let defaults: [String: JSONValue] = {
        let profile = GuardrailProfile(name: "defaults")
        return [
            "enable_pii_detection": false, "pii_action": .string(profile.piiAction.rawValue),
            "pii_entities": .array(profile.piiEntities.map { .string($0.rawValue) }),
            "enable_secrets_detection": false, "secrets_action": .string(profile.secretsAction.rawValue),
            "enable_prompt_injection": false, "prompt_injection_threshold": .double(profile.promptInjectionThreshold),
            "enable_invisible_text": false, "banned_topics": [], "enable_malicious_urls": false, "blocked_hosts": [],
            "max_input_tokens": .null,
        ]
    }()

    /// Every detector field name.
    static var names: Set<String> { Set(defaults.keys) }

    /// The detector fields the body has, validated and normalised, over `config` (an invalid field
    /// is left as it was and recorded as an error).
    static func apply(_ fields: inout BodyFields, to config: inout [String: JSONValue]) {
        for name in flags {
            if let flag = fields.bool(name, nullable: false).value { config[name] = .bool(flag) }
        }
        if let action = fields.literal("pii_action", piiActions, nullable: false).value { config["pii_action"] = .string(action) }
        if let action = fields.literal("secrets_action", piiActions, nullable: false).value {
            config["secrets_action"] = .string(action)
        }
        switch fields.stringList("blocked_hosts") {
        case .value(let hosts): config["blocked_hosts"] = .array(hosts.map(JSONValue.string))
        case .null: config["blocked_hosts"] = []
        case .absent: break
        }
        if let entities = entities(&fields) { config["pii_entities"] = .array(entities.map(JSONValue.string)) }
        if let threshold = threshold(&fields) { config["prompt_injection_threshold"] = .double(threshold) }
        switch fields.positiveInt("max_input_tokens") {
        case .value(let tokens): config["max_input_tokens"] = .int(Int64(tokens))
        case .null: config["max_input_tokens"] = .null
        case .absent: break
        }
        if let topics = topics(&fields) { config["banned_topics"] = .array(topics) }
    }

    /// `pii_entities`: a non-empty list of known entity types, duplicates dropped.
    static func entities(_ fields: inout BodyFields) -> [String]? {
        guard let value = fields.object["pii_entities"] else { return nil }
        guard let items = value.arrayValue else {
            fields.fail("pii_entities", "Input should be a valid list", type: "list_type")
            return nil
        }
        if items.isEmpty {
            fields.fail("pii_entities", "List should have at least 1 item after validation, not 0", type: "too_short")
            return nil
        }
        var entities: [String] = []
        var valid = true
        let choices = piiEntities.map { "'\($0)'" }.joined(separator: ", ")
        for (index, item) in items.enumerated() {
            guard let name = item.stringValue, piiEntities.contains(name) else {
                fields.fail("pii_entities", "Input should be one of \(choices)", type: "literal_error",
                    path: [.int(Int64(index))])
                valid = false
                continue
            }
            if !entities.contains(name) { entities.append(name) }
        }
        return valid ? entities : nil
    }

    /// `prompt_injection_threshold`: a number from 0 to 1.
    static func threshold(_ fields: inout BodyFields) -> Double? {
        guard let value = fields.object["prompt_injection_threshold"] else { return nil }
        guard let number = value.doubleValue, number.isFinite else {
            fields.fail("prompt_injection_threshold", "Input should be a valid number", type: "float_type")
            return nil
        }
        if number < 0 {
            fields.fail("prompt_injection_threshold", "Input should be greater than or equal to 0", type: "greater_than_equal")
            return nil
        }
        if number > 1 {
            fields.fail("prompt_injection_threshold", "Input should be less than or equal to 1", type: "less_than_equal")
            return nil
        }
        return number
    }

    /// `banned_topics`: keywords as plain strings or `{"type": "keyword", "value": ...}`, and
    /// `{"type": "regex", "value": ...}` patterns that compile and cannot backtrack catastrophically.
    /// Stored as `{"type", "value"}` objects; null clears the list.
    static func topics(_ fields: inout BodyFields) -> [JSONValue]? {
        guard let value = fields.object["banned_topics"] else { return nil }
        if value.isNull { return [] }
        guard let items = value.arrayValue else {
            fields.fail("banned_topics", "Input should be a valid list", type: "list_type")
            return nil
        }
        if items.count > maximumTopics {
            fields.fail("banned_topics", "List should have at most \(maximumTopics) items after validation, not \(items.count)",
                type: "too_long")
            return nil
        }
        var topics: [JSONValue] = []
        var valid = true
        for (index, item) in items.enumerated() {
            let path: [JSONValue] = [.int(Int64(index))]
            if let problem = topicProblem(item) {
                fields.fail("banned_topics", problem.message, type: problem.type, path: path + problem.path)
                valid = false
                continue
            }
            let entry: JSONValue = item.stringValue.map { ["type": "keyword", "value": .string($0)] }
                ?? ["type": item["type"] ?? "keyword", "value": item["value"] ?? ""]
            if !topics.contains(entry) { topics.append(entry) }
        }
        return valid ? topics : nil
    }

    /// What is wrong with one banned topic: a message, an error type and the path below its index.
    static func topicProblem(_ item: JSONValue) -> (message: String, type: String, path: [JSONValue])? {
        if let keyword = item.stringValue { return keywordProblem(keyword) }
        guard let object = item.objectValue else {
            return ("Input should be a string or an object with 'type' and 'value'", "model_type", [])
        }
        if let extra = object.keys.sorted().first(where: { $0 != "type" && $0 != "value" }) {
            return ("Extra inputs are not permitted", "extra_forbidden", [.string(extra)])
        }
        let type = object["type"] ?? "keyword"
        guard let kind = type.stringValue, topicTypes.contains(kind) else {
            return ("Input should be 'keyword' or 'regex'", "literal_error", ["type"])
        }
        guard let text = object["value"] else { return ("Field required", "missing", ["value"]) }
        guard let value = text.stringValue else { return ("Input should be a valid string", "string_type", ["value"]) }
        let problem = kind == "regex" ? regexProblem(value) : keywordProblem(value)
        return problem.map { ($0.message, $0.type, ["value"]) }
    }

    static func keywordProblem(_ keyword: String) -> (message: String, type: String, path: [JSONValue])? {
        if keyword.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            return ("String should have at least 1 character", "string_too_short", [])
        }
        if keyword.count > maximumKeywordLength {
            return ("String should have at most \(maximumKeywordLength) characters", "string_too_long", [])
        }
        return nil
    }

    static func regexProblem(_ pattern: String) -> (message: String, type: String, path: [JSONValue])? {
        if pattern.isEmpty { return ("String should have at least 1 character", "string_too_short", []) }
        if pattern.count > maximumRegexLength {
            return ("String should have at most \(maximumRegexLength) characters", "string_too_long", [])
        }
        do {
            _ = try SafeRegex(pattern)
        } catch {
            return ("Value error, \(error.description)", "value_error", [])
        }
        return nil
    }
}
