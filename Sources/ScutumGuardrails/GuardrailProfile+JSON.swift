import ScutumCore

/// A profile body that does not validate: every problem, each at its field path relative to the body
/// (`["pii_entities", 2]`), so the Admin API prefixes `["body"]` and answers 422.
public struct GuardrailProfileError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [FieldProblem]

    public init(_ problems: [FieldProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}

extension GuardrailProfile {
    /// Field limits enforced by `init(json:)`.
    public static let maximumNameLength = 64
    public static let maximumBannedTopics = 200
    public static let maximumKeywordLength = 200
    public static let maximumBlockedHosts = 10_000

    /// Parses and validates a profile body. Every field but `name` is optional and defaults as the
    /// memberwise initializer does; unknown fields are ignored (room for `id`, timestamps...).
    /// `null` means the default, except for `max_input_tokens` where it means no limit.
    public init(json: JSONValue) throws(GuardrailProfileError) {
        guard let fields = json.objectValue else {
            throw GuardrailProfileError([FieldProblem([], "Input should be a valid dictionary", type: "dict_type")])
        }
        var reader = FieldReader(fields: fields)
        var profile = GuardrailProfile(name: "")
        profile.name = reader.name()
        profile.description = reader.string("description", maximumLength: 1000)
        profile.isActive = reader.bool("is_active") ?? profile.isActive
        profile.mode = reader.choice("mode", GuardrailMode.self) ?? profile.mode
        profile.onFail = reader.choice("on_fail", GuardrailOnFail.self) ?? profile.onFail
        profile.enablePIIDetection = reader.bool("enable_pii_detection") ?? profile.enablePIIDetection
        profile.piiAction = reader.choice("pii_action", GuardrailAction.self) ?? profile.piiAction
        profile.piiEntities = reader.entities() ?? profile.piiEntities
        profile.enableSecretsDetection = reader.bool("enable_secrets_detection") ?? profile.enableSecretsDetection
        profile.secretsAction = reader.choice("secrets_action", GuardrailAction.self) ?? profile.secretsAction
        profile.enablePromptInjection = reader.bool("enable_prompt_injection") ?? profile.enablePromptInjection
        profile.promptInjectionThreshold = reader.threshold() ?? profile.promptInjectionThreshold
        profile.enableInvisibleText = reader.bool("enable_invisible_text") ?? profile.enableInvisibleText
        profile.bannedTopics = reader.bannedTopics() ?? []
        profile.enableMaliciousURLs = reader.bool("enable_malicious_urls") ?? profile.enableMaliciousURLs
        profile.blockedHosts = reader.blockedHosts() ?? []
        profile.maxInputTokens = reader.maxInputTokens()
        if !reader.problems.isEmpty { throw GuardrailProfileError(reader.problems) }
        self = profile
    }

    /// The profile as the Admin API shows it; `GuardrailProfile(json:)` reads it back unchanged.
    public var json: JSONValue {
        [
            "name": .string(name), "description": description.map(JSONValue.string) ?? .null,
            "is_active": .bool(isActive), "mode": .string(mode.rawValue), "on_fail": .string(onFail.rawValue),
            "enable_pii_detection": .bool(enablePIIDetection), "pii_action": .string(piiAction.rawValue),
            "pii_entities": .array(piiEntities.map { .string($0.rawValue) }),
            "enable_secrets_detection": .bool(enableSecretsDetection),
            "secrets_action": .string(secretsAction.rawValue),
            "enable_prompt_injection": .bool(enablePromptInjection),
            "prompt_injection_threshold": .double(promptInjectionThreshold),
            "enable_invisible_text": .bool(enableInvisibleText),
            "banned_topics": .array(bannedTopics.map(\.json)),
            "enable_malicious_urls": .bool(enableMaliciousURLs),
            "blocked_hosts": .array(blockedHosts.map(JSONValue.string)),
            "max_input_tokens": maxInputTokens.map { .int(Int64($0)) } ?? .null,
        ]
    }
}

extension BannedTopic {
    /// `{"name","keywords","patterns"}`.
    public var json: JSONValue {
        [
            "name": .string(name), "keywords": .array(keywords.map(JSONValue.string)),
            "patterns": .array(patterns.map { .string($0.source) }),
        ]
    }
}

/// Reads a profile body's fields one by one, collecting problems instead of stopping at the first.
private struct FieldReader {
    let fields: [String: JSONValue]
    var problems: [FieldProblem] = []

    init(fields: [String: JSONValue]) {
        self.fields = fields
    }

    /// The field's value; nil when absent or null.
    func value(_ key: String) -> JSONValue? {
        guard let value = fields[key], !value.isNull else { return nil }
        return value
    }

    mutating func problem(_ path: [JSONValue], _ message: String, type: String = "value_error") {
        problems.append(FieldProblem(path, message, type: type))
    }

    mutating func name() -> String {
        guard let value = value("name") else {
            problem(["name"], "Field required", type: "missing")
            return ""
        }
        guard let name = value.stringValue else {
            problem(["name"], "Input should be a valid string", type: "string_type")
            return ""
        }
        let allowed = name.utf8.allSatisfy { ASCII.isAlnum($0) || $0 == 0x2D || $0 == 0x5F || $0 == 0x2E }
        if name.isEmpty || name.utf8.count > GuardrailProfile.maximumNameLength || !allowed {
            problem(
                ["name"],
                "Name must be 1 to \(GuardrailProfile.maximumNameLength) letters, digits, '-', '_' or '.'")
        }
        return name
    }

    mutating func string(_ key: String, maximumLength: Int) -> String? {
        guard let value = value(key) else { return nil }
        guard let text = value.stringValue else {
            problem([.string(key)], "Input should be a valid string", type: "string_type")
            return nil
        }
        if text.utf8.count > maximumLength {
            problem([.string(key)], "String should have at most \(maximumLength) characters", type: "string_too_long")
        }
        return text
    }

    mutating func bool(_ key: String) -> Bool? {
        guard let value = value(key) else { return nil }
        guard let flag = value.boolValue else {
            problem([.string(key)], "Input should be a valid boolean", type: "bool_type")
            return nil
        }
        return flag
    }

    mutating func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, _: Choice.Type) -> Choice?
    where Choice.RawValue == String {
        guard let value = value(key) else { return nil }
        return parseChoice(value, at: [.string(key)])
    }

    mutating func parseChoice<Choice: RawRepresentable & CaseIterable>(_ value: JSONValue, at path: [JSONValue])
        -> Choice?
    where Choice.RawValue == String {
        if let text = value.stringValue, let choice = Choice(rawValue: text) { return choice }
        let names = Choice.allCases.map { "'\($0.rawValue)'" }
        let list = names.dropLast().joined(separator: ", ") + " or " + names.last!
        problem(path, "Input should be \(list)", type: "enum")
        return nil
    }

    mutating func entities() -> [PIIEntity]? {
        guard let value = value("pii_entities") else { return nil }
        guard let items = value.arrayValue else {
            problem(["pii_entities"], "Input should be a valid list", type: "list_type")
            return nil
        }
        var entities: Set<PIIEntity> = []
        for (index, item) in items.enumerated() {
            if let entity: PIIEntity = parseChoice(item, at: ["pii_entities", .int(Int64(index))]) {
                entities.insert(entity)
            }
        }
        return entities.sorted()
    }

    mutating func threshold() -> Double? {
        guard let value = value("prompt_injection_threshold") else { return nil }
        guard let number = value.doubleValue else {
            problem(["prompt_injection_threshold"], "Input should be a valid number", type: "float_type")
            return nil
        }
        guard number > 0, number <= 1 else {
            problem(["prompt_injection_threshold"], "Input should be greater than 0 and at most 1")
            return nil
        }
        return number
    }

    mutating func maxInputTokens() -> Int? {
        guard let value = value("max_input_tokens") else { return nil }
        guard let number = value.intValue else {
            problem(["max_input_tokens"], "Input should be a valid integer", type: "int_type")
            return nil
        }
        guard number > 0, number <= 100_000_000 else {
            problem(["max_input_tokens"], "Input should be greater than 0", type: "greater_than")
            return nil
        }
        return Int(number)
    }

    /// A list of strings under `path`, each checked by `check` (nil: fine; else the problem's message).
    mutating func strings(_ value: JSONValue, at path: [JSONValue], limit: Int, check: (String) -> String?)
        -> [String]
    {
        guard let items = value.arrayValue else {
            problem(path, "Input should be a valid list", type: "list_type")
            return []
        }
        if items.count > limit { problem(path, "List should have at most \(limit) items", type: "too_long") }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            let itemPath = path + [.int(Int64(index))]
            guard let text = item.stringValue else {
                problem(itemPath, "Input should be a valid string", type: "string_type")
                continue
            }
            if let message = check(text) { problem(itemPath, message) } else { result.append(text) }
        }
        return result
    }

    static func checkKeyword(_ keyword: String) -> String? {
        let trimmed = keyword.trimmingSpaces
        if trimmed.isEmpty { return "Keyword must not be empty" }
        if trimmed.utf8.count > GuardrailProfile.maximumKeywordLength {
            return "Keyword must be at most \(GuardrailProfile.maximumKeywordLength) bytes"
        }
        return nil
    }

    mutating func bannedTopics() -> [BannedTopic]? {
        guard let value = value("banned_topics") else { return nil }
        guard let items = value.arrayValue else {
            problem(["banned_topics"], "Input should be a valid list", type: "list_type")
            return nil
        }
        if items.count > GuardrailProfile.maximumBannedTopics {
            problem(
                ["banned_topics"], "List should have at most \(GuardrailProfile.maximumBannedTopics) items",
                type: "too_long")
        }
        var topics: [BannedTopic] = []
        for (index, item) in items.enumerated() {
            let path: [JSONValue] = ["banned_topics", .int(Int64(index))]
            if let keyword = item.stringValue {
                if let message = Self.checkKeyword(keyword) { problem(path, message); continue }
                topics.append(BannedTopic(name: keyword.trimmingSpaces, keywords: [keyword.trimmingSpaces]))
            } else if let topic = item.objectValue, topic["type"] != nil || topic["value"] != nil {
                if let parsed = typedTopic(topic, at: path) { topics.append(parsed) }
            } else if let topic = item.objectValue {
                if let parsed = bannedTopic(topic, at: path) { topics.append(parsed) }
            } else {
                problem(path, "Input should be a string, {type, value}, or an object with name, keywords and patterns")
            }
        }
        return topics
    }

    /// The Admin API's short form: `{"type": "keyword" | "regex", "value": ...}`, a topic named by its value.
    mutating func typedTopic(_ fields: [String: JSONValue], at path: [JSONValue]) -> BannedTopic? {
        let type = fields["type"]?.stringValue ?? (fields["type"] == nil ? "keyword" : "")
        guard type == "keyword" || type == "regex" else {
            problem(path + ["type"], "Input should be 'keyword' or 'regex'", type: "literal_error")
            return nil
        }
        guard let value = fields["value"]?.stringValue else {
            problem(path + ["value"], fields["value"] == nil ? "Field required" : "Input should be a valid string",
                type: fields["value"] == nil ? "missing" : "string_type")
            return nil
        }
        if type == "keyword" {
            if let message = Self.checkKeyword(value) { problem(path + ["value"], message); return nil }
            return BannedTopic(name: value.trimmingSpaces, keywords: [value.trimmingSpaces])
        }
        do {
            return BannedTopic(name: value, patterns: [try SafeRegex(value)])
        } catch {
            problem(path + ["value"], error.description)
            return nil
        }
    }

    mutating func bannedTopic(_ fields: [String: JSONValue], at path: [JSONValue]) -> BannedTopic? {
        let before = problems.count
        let name = fields["name"]?.stringValue?.trimmingSpaces ?? ""
        if name.isEmpty || name.utf8.count > GuardrailProfile.maximumKeywordLength {
            problem(path + ["name"], fields["name"] == nil ? "Field required" : "Name must be 1 to 200 bytes",
                type: fields["name"] == nil ? "missing" : "value_error")
        }
        let keywords = fields["keywords"].map {
            strings($0, at: path + ["keywords"], limit: 1000, check: Self.checkKeyword).map(\.trimmingSpaces)
        } ?? []
        var patterns: [SafeRegex] = []
        if let list = fields["patterns"] {
            var compileProblems: [(Int, String)] = []
            let sources = strings(list, at: path + ["patterns"], limit: 100) { _ in nil }
            for (index, source) in sources.enumerated() {
                do { patterns.append(try SafeRegex(source)) } catch { compileProblems.append((index, error.description)) }
            }
            for (index, message) in compileProblems {
                problem(path + ["patterns", .int(Int64(index))], message)
            }
        }
        if keywords.isEmpty && patterns.isEmpty && problems.count == before {
            problem(path, "A banned topic needs at least one keyword or pattern")
        }
        return problems.count == before ? BannedTopic(name: name, keywords: keywords, patterns: patterns) : nil
    }

    mutating func blockedHosts() -> [String]? {
        guard let value = value("blocked_hosts") else { return nil }
        let hosts = strings(value, at: ["blocked_hosts"], limit: GuardrailProfile.maximumBlockedHosts) { host in
            let bare = host.hasPrefix("*.") ? String(host.dropFirst(2)) : host
            let valid = !bare.isEmpty && bare.utf8.count <= 253 && !bare.hasPrefix(".") && !bare.hasSuffix(".")
                && bare.utf8.allSatisfy { ASCII.isAlnum($0) || $0 == 0x2D || $0 == 0x2E }
            return valid ? nil : "Host must be a DNS name (letters, digits, '-' and '.'), optionally '*.'-prefixed"
        }
        return hosts.map { ($0.hasPrefix("*.") ? String($0.dropFirst(2)) : $0).lowercased() }
    }
}

extension String {
    /// Without leading and trailing ASCII whitespace.
    var trimmingSpaces: String {
        let bytes = Array(utf8)
        guard let first = bytes.firstIndex(where: { !ASCII.isSpace($0) }),
            let last = bytes.lastIndex(where: { !ASCII.isSpace($0) })
        else { return "" }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
