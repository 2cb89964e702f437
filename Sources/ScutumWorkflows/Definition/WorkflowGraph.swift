import ScutumCore

/// What a workflow node does.
public enum WorkflowNodeType: String, Sendable, CaseIterable {
    /// A chat completion through the gateway's router: config `model`, `prompt` (a template),
    /// optional `system`, `max_tokens`, `temperature`. Its output is the answer's text.
    case llm
    /// A tool of a registered MCP server: config `server`, `tool`, optional `arguments` (a JSON template).
    case tool
    /// Chooses the next node by its outgoing edges' conditions; its output is its input (`last`).
    case router
    /// Reshapes data: config `template` (a JSON template) or `expression` (a string template).
    case transform
}

/// One node of a workflow graph.
public struct WorkflowNode: Sendable, Equatable {
    public var name: String
    public var type: WorkflowNodeType
    /// The type's settings, an object; plus, on any node, `max_iterations` (how many times a loop
    /// may run it) and `timeout_seconds` (the step's time limit).
    public var config: JSONValue

    public init(name: String, type: WorkflowNodeType, config: JSONValue = [:]) {
        self.name = name
        self.type = type
        self.config = config
    }

    /// `config.max_iterations`: how many times this node may run in one execution.
    public var maxIterations: Int? { config["max_iterations"]?.intValue.map { Int(clamping: $0) } }

    /// `config.timeout_seconds`: the step's time limit, if the node sets one.
    public var timeout: Duration? { config["timeout_seconds"]?.doubleValue.map { .milliseconds(Int64($0 * 1000)) } }

    var json: JSONValue { ["name": .string(name), "type": .string(type.rawValue), "config": config] }
}

/// A directed edge; with a `condition` it is taken only when the condition holds.
public struct WorkflowEdge: Sendable, Equatable {
    public var source: String
    public var target: String
    public var condition: WorkflowCondition?
    /// The condition as written, kept for saving the graph back.
    public var conditionJSON: JSONValue?

    public init(source: String, target: String, condition: JSONValue? = nil) throws(WorkflowValidationError) {
        self.source = source
        self.target = target
        self.conditionJSON = condition
        if let condition {
            self.condition = try WorkflowCondition(parsing: condition)
        } else {
            self.condition = nil
        }
    }

    var json: JSONValue {
        var fields: [String: JSONValue] = ["source": .string(source), "target": .string(target)]
        if let conditionJSON { fields["condition"] = conditionJSON }
        return .object(fields)
    }
}

/// A workflow's `graph_definition`: `{nodes: [{name, type, config}], edges: [{source, target,
/// condition?}], entry_point, end_nodes: [...]}`, checked when parsed (see `WorkflowGraphValidator`).
public struct WorkflowGraph: Sendable, Equatable {
    public var nodes: [WorkflowNode]
    public var edges: [WorkflowEdge]
    public var entryPoint: String
    public var endNodes: [String]

    /// Parses and validates `value`; throws every problem found, with paths relative to `value`.
    public init(parsing value: JSONValue) throws(WorkflowValidationError) {
        var validator = WorkflowGraphValidator()
        guard let graph = validator.parse(value) else { throw WorkflowValidationError(validator.problems) }
        self = graph
    }

    init(nodes: [WorkflowNode], edges: [WorkflowEdge], entryPoint: String, endNodes: [String]) {
        self.nodes = nodes
        self.edges = edges
        self.entryPoint = entryPoint
        self.endNodes = endNodes
    }

    /// Every problem with `value` as a graph definition; empty when it is valid.
    public static func problems(in value: JSONValue) -> [FieldProblem] {
        var validator = WorkflowGraphValidator()
        _ = validator.parse(value)
        return validator.problems
    }

    public func node(_ name: String) -> WorkflowNode? { nodes.first { $0.name == name } }

    /// The edges leaving `name`, in the order they were declared.
    public func outgoing(_ name: String) -> [WorkflowEdge] { edges.filter { $0.source == name } }

    public func isEnd(_ name: String) -> Bool { endNodes.contains(name) }

    /// The graph as `graph_definition` JSON.
    public var json: JSONValue {
        [
            "nodes": .array(nodes.map(\.json)), "edges": .array(edges.map(\.json)),
            "entry_point": .string(entryPoint), "end_nodes": .array(endNodes.map(JSONValue.string)),
        ]
    }
}
