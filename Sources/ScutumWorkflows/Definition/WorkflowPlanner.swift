import ScutumCore

/// Why the planner cannot go on; the execution fails with this message.
public enum WorkflowPlanningError: Error, Sendable, Equatable, CustomStringConvertible {
    case unknownNode(String)
    /// No outgoing edge's condition holds and the node has no default edge.
    case noMatchingEdge(node: String)
    /// The edge that matched leads to a node that already ran `limit` times (`max_iterations`),
    /// and no other edge could be taken instead.
    case iterationLimit(node: String, limit: Int)

    public var description: String {
        switch self {
        case .unknownNode(let node): "the workflow has no node '\(node)'"
        case .noMatchingEdge(let node): "no edge out of '\(node)' matches and it has no default edge"
        case .iterationLimit(let node, let limit): "node '\(node)' reached its max_iterations (\(limit))"
        }
    }
}

/// What a step does, resolved from its node's config and the context: the executor carries it
/// out and stores `json` as the step's `input_data`.
public enum WorkflowStepInput: Sendable, Equatable {
    /// A chat completion; `requestBody` is the OpenAI request to send through the router.
    case llm(model: String, system: String?, prompt: String, maxTokens: Int?, temperature: Double?)
    /// An MCP tool call with rendered arguments.
    case tool(server: String, tool: String, arguments: JSONValue)
    /// A router passes its input (the previous output) on; only its edges matter.
    case router(passThrough: JSONValue)
    /// A transform's output, already computed (a transform is pure).
    case transform(output: JSONValue)

    /// The OpenAI chat completion body of an `llm` step (non-streaming), else nil.
    public var requestBody: JSONValue? {
        guard case .llm(let model, let system, let prompt, let maxTokens, let temperature) = self else { return nil }
        var messages: [JSONValue] = []
        if let system { messages.append(["role": "system", "content": .string(system)]) }
        messages.append(["role": "user", "content": .string(prompt)])
        var body: [String: JSONValue] = ["model": .string(model), "messages": .array(messages)]
        if let maxTokens { body["max_tokens"] = .int(Int64(maxTokens)) }
        if let temperature { body["temperature"] = .double(temperature) }
        return .object(body)
    }

    /// The step's `input_data`.
    public var json: JSONValue {
        switch self {
        case .llm: requestBody ?? .null
        case .tool(let server, let tool, let arguments):
            ["server": .string(server), "tool": .string(tool), "arguments": arguments]
        case .router(let value): value
        case .transform(let output): output
        }
    }
}

/// Walks a workflow graph: which node runs first, what each step gets, and where to go next.
///
/// Choosing the next node after `node` finished: nothing after an end node; otherwise the first
/// outgoing edge (in declared order) whose condition holds, else the edge without a condition
/// (the default). An edge into a node that already ran `max_iterations` times is passed over, so
/// a bounded loop leaves by its default edge once it is spent; if only spent edges matched, the
/// planner throws `iterationLimit`.
public struct WorkflowPlanner: Sendable {
    public let graph: WorkflowGraph

    /// A guard for executors: no execution runs more steps than this.
    public static let maximumSteps = 500

    public init(graph: WorkflowGraph) {
        self.graph = graph
    }

    /// The node the execution starts with.
    public var entryPoint: String { graph.entryPoint }

    /// The node to run after `finished` (its output already recorded in `context`), or nil when
    /// `finished` is an end node. `visits` counts how many times each node has run so far.
    public func next(after finished: String, context: WorkflowContext, visits: [String: Int])
        throws(WorkflowPlanningError) -> String?
    {
        guard graph.node(finished) != nil else { throw .unknownNode(finished) }
        if graph.isEnd(finished) { return nil }
        let edges = graph.outgoing(finished)
        var spent: (node: String, limit: Int)?
        func available(_ edge: WorkflowEdge) -> Bool {
            guard let limit = graph.node(edge.target)?.maxIterations, visits[edge.target, default: 0] >= limit else {
                return true
            }
            if spent == nil { spent = (edge.target, limit) }
            return false
        }
        for edge in edges {
            guard let condition = edge.condition, condition.evaluate(context) else { continue }
            if available(edge) { return edge.target }
        }
        if let fallback = edges.first(where: { $0.condition == nil }), available(fallback) { return fallback.target }
        if let spent { throw .iterationLimit(node: spent.node, limit: spent.limit) }
        throw .noMatchingEdge(node: finished)
    }

    /// What `node` does given `context`, its templates rendered.
    public func input(for node: String, context: WorkflowContext) throws(WorkflowPlanningError) -> WorkflowStepInput {
        guard let node = graph.node(node) else { throw .unknownNode(node) }
        let config = node.config
        func text(_ key: String) -> String? {
            config[key]?.stringValue.map { WorkflowTemplate.render($0, context: context) }
        }
        switch node.type {
        case .llm:
            return .llm(model: config["model"]?.stringValue ?? "", system: text("system"), prompt: text("prompt") ?? "",
                maxTokens: config["max_tokens"]?.intValue.map { Int(clamping: $0) },
                temperature: config["temperature"]?.doubleValue)
        case .tool:
            return .tool(server: config["server"]?.stringValue ?? "", tool: config["tool"]?.stringValue ?? "",
                arguments: WorkflowTemplate.render(json: config["arguments"] ?? [:], context: context))
        case .router:
            return .router(passThrough: context.last ?? context.input)
        case .transform:
            let template = config["template"] ?? config["expression"] ?? .null
            return .transform(output: WorkflowTemplate.render(json: template, context: context))
        }
    }

    /// How many times each node ran, from the node names of finished steps.
    public static func visits(_ nodes: some Sequence<String>) -> [String: Int] {
        nodes.reduce(into: [:]) { counts, node in counts[node, default: 0] += 1 }
    }
}
