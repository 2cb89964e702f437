import ScutumCore

/// The small part of JSON Schema a workflow's `input_schema` is checked with when an execution is
/// queued: the top-level `type`, `required` properties, each property's `type` (a name or a list
/// of names: string, number, integer, boolean, array, object, null) and `default`. Anything else
/// in the schema is kept for documentation and not enforced.
public enum WorkflowInputSchema {
    /// `input` with the schema's defaults filled in, or the problems (paths relative to `input`).
    public static func apply(_ schema: JSONValue, to input: JSONValue) throws(WorkflowValidationError) -> JSONValue {
        var problems: [FieldProblem] = []
        if let expected = schema["type"], !matches(input, expected) {
            problems.append(FieldProblem([], "Input should be of type \(names(expected))", type: "type_error"))
            throw WorkflowValidationError(problems)
        }
        guard var fields = input.objectValue else { return input }
        let properties = schema["properties"]?.objectValue ?? [:]
        for (name, property) in properties {
            if fields[name] == nil, let value = property["default"] { fields[name] = value }
        }
        for name in (schema["required"]?.arrayValue ?? []).compactMap(\.stringValue) where fields[name] == nil {
            problems.append(FieldProblem([.string(name)], "Field required", type: "missing"))
        }
        for name in properties.keys.sorted() {
            guard let value = fields[name], let expected = properties[name]?["type"], !matches(value, expected) else { continue }
            problems.append(FieldProblem([.string(name)], "Input should be of type \(names(expected))", type: "type_error"))
        }
        if !problems.isEmpty { throw WorkflowValidationError(problems) }
        return .object(fields)
    }

    static func names(_ expected: JSONValue) -> String {
        (expected.arrayValue ?? [expected]).compactMap(\.stringValue).joined(separator: " or ")
    }

    static func matches(_ value: JSONValue, _ expected: JSONValue) -> Bool {
        let types = (expected.arrayValue ?? [expected]).compactMap(\.stringValue)
        if types.isEmpty { return true }
        return types.contains { type in
            switch (type, value) {
            case ("string", .string), ("boolean", .bool), ("array", .array), ("object", .object), ("null", .null),
                ("number", .int), ("number", .double):
                return true
            case ("integer", _): return value.intValue != nil
            default: return !["string", "boolean", "array", "object", "null", "number", "integer"].contains(type)
            }
        }
    }
}
