import ScutumCore

/// The response-cache settings a key or team carries in its `metadata` under `"cache"`:
/// `{"cache": {"enabled": true, "scope": "team", "ttl_seconds": 600}}`, every member optional.
enum CacheMetadata {
    /// The scopes an entry can be shared in.
    static let scopes = ["key", "team", "global"]
    /// The longest TTL a key or team may ask for: 30 days.
    static let maximumTTLSeconds: Int64 = 2_592_000
    /// One problem: where below `metadata` (`["cache", "scope"]`), pydantic's message and type.
    struct Problem {
        var path: [JSONValue]
        var message: String
        var type: String

        init(_ path: [JSONValue], _ message: String, _ type: String) {
            self.path = path
            self.message = message
            self.type = type
        }
    }

    /// The problems with `metadata.cache` (`null` means "not configured").
    static func problems(in cache: JSONValue) -> [Problem] {
        if cache.isNull { return [] }
        guard let object = cache.objectValue else {
            return [Problem(["cache"], "Input should be a valid dictionary", "dict_type")]
        }
        var problems: [Problem] = []
        for name in object.keys.sorted() {
            let path: [JSONValue] = ["cache", .string(name)]
            guard let value = object[name] else { continue }
            switch name {
            case "enabled":
                if value.boolValue == nil { problems.append(Problem(path, "Input should be a valid boolean", "bool_type")) }
            case "scope":
                if value.stringValue.map(scopes.contains) != true {
                    problems.append(Problem(path, "Input should be 'key', 'team' or 'global'", "literal_error"))
                }
            case "ttl_seconds":
                if let problem = ttlProblem(value) { problems.append(Problem(path, problem.0, problem.1)) }
            default:
                problems.append(Problem(path, "Extra inputs are not permitted (cache takes enabled, scope and ttl_seconds)",
                    "extra_forbidden"))
            }
        }
        return problems
    }

    /// What is wrong with a `ttl_seconds` value (message, type), or nil.
    private static func ttlProblem(_ value: JSONValue) -> (String, String)? {
        guard case .int(let seconds) = value else {
            return ("Input should be a valid integer", "int_type")
        }
        if seconds < 1 { return ("Input should be greater than or equal to 1", "greater_than_equal") }
        if seconds > maximumTTLSeconds {
            return ("Input should be less than or equal to \(maximumTTLSeconds)", "less_than_equal")
        }
        return nil
    }
}

extension BodyFields {
    /// `name` as a JSON object (like `object(_:)`) whose `cache` member, if any, is checked by
    /// `CacheMetadata`; each problem is reported at `body.<name>.cache.<member>`.
    mutating func metadata(_ name: String) -> Field<JSONValue> {
        let field = object(name)
        guard case .value(let metadata) = field, let cache = metadata["cache"] else { return field }
        let problems = CacheMetadata.problems(in: cache)
        for problem in problems {
            fail(name, "\(name).\(problem.path.compactMap(\.stringValue).joined(separator: ".")): \(problem.message)",
                type: problem.type, path: problem.path)
        }
        return problems.isEmpty ? field : .absent
    }
}
