/// One thing wrong with a submitted value (a workflow graph, a guardrail profile), where it is and
/// what kind of problem it is, in the shape of a FastAPI validation error: `path` is relative to the
/// value checked (for a graph, `["nodes", 2, "type"]`), so the Admin API prefixes it with
/// `["body", "graph_definition"]`.
public struct FieldProblem: Sendable, Equatable, CustomStringConvertible {
    /// Object keys (`.string`) and array indexes (`.int`).
    public var path: [JSONValue]
    public var message: String
    /// `missing`, `value_error`, `string_type`...
    public var type: String

    public init(_ path: [JSONValue], _ message: String, type: String = "value_error") {
        self.path = path
        self.message = message
        self.type = type
    }

    /// The same problem under `prefix`.
    public func under(_ prefix: [JSONValue]) -> FieldProblem {
        FieldProblem(prefix + path, message, type: type)
    }

    public var description: String {
        let location = path.map { $0.stringValue ?? $0.intValue.map(String.init) ?? "?" }.joined(separator: ".")
        return "\(location): \(message)"
    }
}
