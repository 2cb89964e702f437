import ScutumCore

/// Checks a `graph_definition` and builds the graph, collecting every problem with its path:
///
/// - the shape: `nodes` (a non-empty list of `{name, type, config}`), `edges` (`{source, target,
///   condition?}`), `entry_point`, `end_nodes`; node names unique, made of letters, digits, `_` and `-`;
/// - node types and each type's config (`WorkflowNodeType`), templates' references (`steps.<node>`
///   must name a node);
/// - edges: both ends exist, conditions parse, at most one edge without a condition (the
///   default) leaves a node, end nodes have no outgoing edges;
/// - every node is reachable from the entry point and can reach an end node;
/// - every cycle is bounded: it has an edge with a condition (a way out) and a node with a
///   positive `config.max_iterations`.
///
/// The graph checks (reachability, cycles) run only once the shape is right.
struct WorkflowGraphValidator {
    private(set) var problems: [FieldProblem] = []

    static let maximumNodes = 200

    mutating func fail(_ path: [JSONValue], _ message: String, type: String = "value_error") {
        problems.append(FieldProblem(path, message, type: type))
    }

    mutating func parse(_ value: JSONValue) -> WorkflowGraph? {
        guard let fields = value.objectValue else {
            fail([], "Input should be a valid dictionary", type: "dict_type")
            return nil
        }
        let (nodes, names) = parseNodes(fields["nodes"])
        let edges = parseEdges(fields["edges"], names: names)
        let entry = name(fields["entry_point"], at: ["entry_point"], names: names)
        var ends: [String] = []
        if let list = fields["end_nodes"]?.arrayValue, !list.isEmpty {
            for (index, item) in list.enumerated() {
                if let end = name(item, at: ["end_nodes", .int(Int64(index))], names: names), !ends.contains(end) {
                    ends.append(end)
                }
            }
        } else {
            fail(["end_nodes"], fields["end_nodes"] == nil ? "Field required" : "Should be a non-empty list of node names",
                type: fields["end_nodes"] == nil ? "missing" : "list_type")
        }
        for (index, node) in nodes {
            checkReferences(in: node.config, at: ["nodes", .int(Int64(index)), "config"], names: names)
        }
        for (index, edge) in edges {
            for path in edge.condition?.paths ?? [] {
                checkReference(path, at: ["edges", .int(Int64(index)), "condition"], names: names)
            }
        }
        guard problems.isEmpty, let entry else { return nil }
        let graph = WorkflowGraph(nodes: nodes.map(\.node), edges: edges.map(\.edge), entryPoint: entry, endNodes: ends)
        checkEdges(graph)
        checkReachability(graph)
        checkCycles(graph)
        return problems.isEmpty ? graph : nil
    }

    // MARK: - Shape

    /// A node name that exists, or nil (recording why).
    mutating func name(_ value: JSONValue?, at path: [JSONValue], names: Set<String>) -> String? {
        guard let value else {
            fail(path, "Field required", type: "missing")
            return nil
        }
        guard let text = value.stringValue else {
            fail(path, "Input should be a valid string", type: "string_type")
            return nil
        }
        guard names.contains(text) else {
            fail(path, "Unknown node '\(text)'")
            return nil
        }
        return text
    }

    /// The valid nodes, and every name declared (also of nodes with other problems, so that edges
    /// to them do not add errors of their own).
    mutating func parseNodes(_ value: JSONValue?) -> (nodes: [(index: Int, node: WorkflowNode)], names: Set<String>) {
        guard let list = value?.arrayValue, !list.isEmpty else {
            fail(["nodes"], value == nil ? "Field required" : "Should be a non-empty list of nodes",
                type: value == nil ? "missing" : "list_type")
            return ([], [])
        }
        if list.count > Self.maximumNodes {
            fail(["nodes"], "A workflow has at most \(Self.maximumNodes) nodes", type: "too_long")
            return ([], [])
        }
        var nodes: [(index: Int, node: WorkflowNode)] = []
        var seen: Set<String> = []
        for (index, item) in list.enumerated() {
            let path: [JSONValue] = ["nodes", .int(Int64(index))]
            guard let fields = item.objectValue else {
                fail(path, "Input should be a valid dictionary", type: "dict_type")
                continue
            }
            let name = fields["name"]?.stringValue
            if let name {
                if !Self.isValidName(name) {
                    fail(path + ["name"], "A node name is 1 to 100 letters, digits, '_' or '-'", type: "string_pattern_mismatch")
                } else if !seen.insert(name).inserted {
                    fail(path + ["name"], "Duplicate node name '\(name)'")
                }
            } else {
                fail(path + ["name"], fields["name"] == nil ? "Field required" : "Input should be a valid string",
                    type: fields["name"] == nil ? "missing" : "string_type")
            }
            let choices = WorkflowNodeType.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
            var type: WorkflowNodeType?
            if let text = fields["type"]?.stringValue {
                type = WorkflowNodeType(rawValue: text)
                if type == nil { fail(path + ["type"], "Unknown node type '\(text)'; expected one of \(choices)", type: "literal_error") }
            } else {
                fail(path + ["type"], fields["type"] == nil ? "Field required" : "Input should be one of \(choices)",
                    type: fields["type"] == nil ? "missing" : "literal_error")
            }
            let config = fields["config"] ?? [:]
            guard config.objectValue != nil else {
                fail(path + ["config"], "Input should be a valid dictionary", type: "dict_type")
                continue
            }
            if let type { checkConfig(config, of: type, at: path + ["config"]) }
            if let name, let type { nodes.append((index, WorkflowNode(name: name, type: type, config: config))) }
        }
        return (nodes, seen)
    }

    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 100
            && name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_" || $0 == "-" }
    }

    mutating func parseEdges(_ value: JSONValue?, names: Set<String>) -> [(index: Int, edge: WorkflowEdge)] {
        guard let value else { return [] }
        guard let list = value.arrayValue else {
            fail(["edges"], "Input should be a valid list", type: "list_type")
            return []
        }
        var edges: [(index: Int, edge: WorkflowEdge)] = []
        for (index, item) in list.enumerated() {
            let path: [JSONValue] = ["edges", .int(Int64(index))]
            guard let fields = item.objectValue else {
                fail(path, "Input should be a valid dictionary", type: "dict_type")
                continue
            }
            let source = name(fields["source"], at: path + ["source"], names: names)
            let target = name(fields["target"], at: path + ["target"], names: names)
            let condition = fields["condition"].flatMap { $0.isNull ? nil : $0 }
            do throws(WorkflowValidationError) {
                let edge = try WorkflowEdge(source: source ?? "", target: target ?? "", condition: condition)
                if source != nil, target != nil { edges.append((index, edge)) }
            } catch {
                problems += error.problems.map { $0.under(path + ["condition"]) }
            }
        }
        return edges
    }

    // MARK: - Config

    mutating func checkConfig(_ config: JSONValue, of type: WorkflowNodeType, at path: [JSONValue]) {
        func string(_ key: String, required: Bool) {
            guard let value = config[key] else {
                if required { fail(path + [.string(key)], "Field required", type: "missing") }
                return
            }
            if (value.stringValue ?? "").trimmingCharacters(in: .whitespaces).isEmpty {
                fail(path + [.string(key)], "Input should be a non-empty string", type: "string_type")
            }
        }
        func number(_ key: String, in range: ClosedRange<Double>, integer: Bool) {
            guard let value = config[key] else { return }
            let number = integer ? value.intValue.map(Double.init) : value.doubleValue
            guard let number, range.contains(number) else {
                let kind = integer ? "an integer" : "a number"
                fail(path + [.string(key)], "Input should be \(kind) from \(Self.format(range.lowerBound)) to \(Self.format(range.upperBound))",
                    type: integer ? "int_type" : "float_type")
                return
            }
        }
        number("max_iterations", in: 1...1000, integer: true)
        number("timeout_seconds", in: 0.001...3600, integer: false)
        switch type {
        case .llm:
            string("model", required: true)
            string("prompt", required: true)
            string("system", required: false)
            number("max_tokens", in: 1...1_000_000, integer: true)
            number("temperature", in: 0...2, integer: false)
        case .tool:
            string("server", required: true)
            string("tool", required: true)
            if let arguments = config["arguments"], arguments.objectValue == nil {
                fail(path + ["arguments"], "Input should be a valid dictionary", type: "dict_type")
            }
        case .router:
            break
        case .transform:
            let template = config["template"]
            let expression = config["expression"]
            if template == nil && expression == nil {
                fail(path + ["template"], "Field required: a transform needs 'template' (any JSON) or 'expression' (a string)",
                    type: "missing")
            } else if template != nil && expression != nil {
                fail(path + ["expression"], "Give either 'template' or 'expression', not both")
            } else if let expression, expression.stringValue == nil {
                fail(path + ["expression"], "Input should be a valid string", type: "string_type")
            }
        }
    }

    static func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int64(number)) : String(number)
    }

    /// Every `{{reference}}` in the config's strings must have a valid form and name an existing node.
    mutating func checkReferences(in config: JSONValue, at path: [JSONValue], names: Set<String>) {
        for key in (config.objectValue ?? [:]).keys.sorted() {
            for reference in WorkflowTemplate.references(in: config[key] ?? .null) {
                checkReference(reference, at: path + [.string(key)], names: names)
            }
        }
    }

    mutating func checkReference(_ reference: String, at path: [JSONValue], names: Set<String>) {
        guard let parsed = WorkflowReference(reference) else {
            fail(path, "Invalid reference '{{\(reference)}}'; expected \(WorkflowReference.forms)")
            return
        }
        if let node = parsed.node, !names.contains(node) {
            fail(path, "Reference '{{\(reference)}}' names an unknown node '\(node)'")
        }
    }

    // MARK: - Graph

    mutating func checkEdges(_ graph: WorkflowGraph) {
        var defaults: Set<String> = []
        for (index, edge) in graph.edges.enumerated() {
            if graph.isEnd(edge.source) {
                fail(["edges", .int(Int64(index)), "source"], "'\(edge.source)' is an end node; end nodes have no outgoing edges")
            }
            if edge.condition == nil, !defaults.insert(edge.source).inserted {
                fail(["edges", .int(Int64(index)), "condition"],
                    "Node '\(edge.source)' already has an edge without a condition (its default); give this edge a condition",
                    type: "missing")
            }
        }
    }

    mutating func checkReachability(_ graph: WorkflowGraph) {
        let forward = Self.closure(from: [graph.entryPoint]) { name in graph.outgoing(name).map(\.target) }
        let backward = Self.closure(from: graph.endNodes) { name in graph.edges.filter { $0.target == name }.map(\.source) }
        for (index, node) in graph.nodes.enumerated() {
            if !forward.contains(node.name) {
                fail(["nodes", .int(Int64(index))], "Node '\(node.name)' cannot be reached from the entry point '\(graph.entryPoint)'")
            } else if !backward.contains(node.name) {
                fail(["nodes", .int(Int64(index))], "No end node can be reached from node '\(node.name)'")
            }
        }
    }

    static func closure(from start: [String], next: (String) -> [String]) -> Set<String> {
        var seen = Set(start)
        var queue = start
        while let name = queue.popLast() {
            for following in next(name) where seen.insert(following).inserted { queue.append(following) }
        }
        return seen
    }

    /// Each strongly connected component with a cycle must hold a conditional edge and a node with
    /// `max_iterations`; the problem points at the component's first edge.
    mutating func checkCycles(_ graph: WorkflowGraph) {
        for component in Self.cycles(graph) {
            let inner = graph.edges.enumerated().filter { component.contains($0.element.source) && component.contains($0.element.target) }
            let conditional = inner.contains { $0.element.condition != nil }
            let bounded = graph.nodes.contains { component.contains($0.name) && $0.maxIterations != nil }
            if conditional && bounded { continue }
            let names = graph.nodes.map(\.name).filter(component.contains)
            var missing: [String] = []
            if !conditional { missing.append("an edge with a condition") }
            if !bounded { missing.append("a node with config.max_iterations") }
            fail(["edges", .int(Int64(inner.first?.offset ?? 0))],
                "Cycle without a bound through \(names.joined(separator: " -> ")): a cycle needs \(missing.joined(separator: " and "))",
                type: "cycle_unbounded")
        }
    }

    /// The node sets of the graph's cycles: strongly connected components with more than one node
    /// or a self-loop (Tarjan's algorithm).
    static func cycles(_ graph: WorkflowGraph) -> [Set<String>] {
        var index: [String: Int] = [:]
        var lowLink: [String: Int] = [:]
        var stack: [String] = []
        var onStack: Set<String> = []
        var components: [Set<String>] = []
        var counter = 0

        func connect(_ name: String) {
            index[name] = counter
            lowLink[name] = counter
            counter += 1
            stack.append(name)
            onStack.insert(name)
            for next in graph.outgoing(name).map(\.target) {
                if index[next] == nil {
                    connect(next)
                    lowLink[name] = min(lowLink[name] ?? 0, lowLink[next] ?? 0)
                } else if onStack.contains(next) {
                    lowLink[name] = min(lowLink[name] ?? 0, index[next] ?? 0)
                }
            }
            guard lowLink[name] == index[name] else { return }
            var component: Set<String> = []
            while let top = stack.popLast() {
                onStack.remove(top)
                component.insert(top)
                if top == name { break }
            }
            let selfLoop = graph.outgoing(name).contains { $0.target == name }
            if component.count > 1 || selfLoop { components.append(component) }
        }
        for node in graph.nodes where index[node.name] == nil { connect(node.name) }
        return components
    }
}
