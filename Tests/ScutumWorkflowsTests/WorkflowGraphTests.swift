import ScutumCore
import ScutumWorkflows
import Testing

/// Graph definitions for the tests.
enum GraphFixture {
    static func llm(_ name: String, _ extra: [String: JSONValue] = [:]) -> JSONValue {
        var config: [String: JSONValue] = ["model": "gpt-test", "prompt": "Answer {{input.q}}"]
        config.merge(extra) { _, new in new }
        return ["name": .string(name), "type": "llm", "config": .object(config)]
    }

    static func edge(_ source: String, _ target: String, _ condition: JSONValue? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["source": .string(source), "target": .string(target)]
        if let condition { fields["condition"] = condition }
        return .object(fields)
    }

    static func graph(_ nodes: [JSONValue], _ edges: [JSONValue], entry: String = "a", ends: [String] = ["c"]) -> JSONValue {
        ["nodes": .array(nodes), "edges": .array(edges), "entry_point": .string(entry), "end_nodes": .array(ends.map(JSONValue.string))]
    }

    static let linear = graph([llm("a"), llm("b"), llm("c")], [edge("a", "b"), edge("b", "c")])
}

@Suite("Workflow graph validation")
struct WorkflowGraphTests {
    typealias F = GraphFixture

    func problems(_ value: JSONValue) -> [FieldProblem] { WorkflowGraph.problems(in: value) }

    func paths(_ value: JSONValue) -> [String] { problems(value).map { $0.description.components(separatedBy: ":")[0] } }

    @Test("a valid graph parses and writes back the same JSON")
    func valid() throws {
        let graph = try WorkflowGraph(parsing: F.linear)
        #expect(graph.nodes.map(\.name) == ["a", "b", "c"])
        #expect(graph.entryPoint == "a")
        #expect(graph.endNodes == ["c"])
        #expect(graph.outgoing("a").map(\.target) == ["b"])
        #expect(graph.json == F.linear)
    }

    @Test("unknown node type points at the node's type")
    func unknownType() {
        let value = F.graph([F.llm("a"), ["name": "b", "type": "teleport"], F.llm("c")], [F.edge("a", "b"), F.edge("b", "c")])
        let found = problems(value)
        #expect(found.map(\.path) == [["nodes", 1, "type"]])
        #expect(found.first?.message.contains("Unknown node type 'teleport'") == true)
    }

    @Test("dangling edges, missing entry point and unknown end nodes")
    func dangling() {
        #expect(paths(F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "ghost"), F.edge("a", "c")])) == ["edges.0.target"])
        #expect(paths(F.graph([F.llm("a"), F.llm("c")], [F.edge("x", "c")])) == ["edges.0.source"])
        let noEntry: JSONValue = ["nodes": [F.llm("a")], "end_nodes": ["a"]]
        #expect(problems(noEntry).map(\.type) == ["missing"])
        #expect(paths(noEntry) == ["entry_point"])
        #expect(paths(F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "c")], entry: "z")) == ["entry_point"])
        #expect(paths(F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "c")], ends: ["q"])) == ["end_nodes.0"])
        #expect(paths(F.graph([F.llm("a")], [], ends: [])) == ["end_nodes"])
    }

    @Test("the shape: nodes required, names unique and plain, config an object")
    func shape() {
        #expect(paths(["edges": [], "entry_point": "a", "end_nodes": ["a"]]).contains("nodes"))
        #expect(paths(F.graph([F.llm("a"), F.llm("a")], [], ends: ["a"])).contains("nodes.1.name"))
        #expect(paths(F.graph([F.llm("a b")], [], entry: "a b", ends: ["a b"])).contains("nodes.0.name"))
        #expect(paths(F.graph([["name": "a", "type": "router", "config": [1]]], [], ends: ["a"])) == ["nodes.0.config"])
        #expect(problems("not a graph").map(\.type) == ["dict_type"])
        #expect(paths(F.graph([F.llm("a")], [], ends: ["a"])) == [])
    }

    @Test("config per node type")
    func config() {
        func configPaths(_ node: JSONValue) -> [String] { paths(F.graph([node], [], ends: ["a"])) }
        #expect(configPaths(["name": "a", "type": "llm", "config": ["prompt": "x"]]) == ["nodes.0.config.model"])
        #expect(configPaths(["name": "a", "type": "llm", "config": ["model": "m"]]) == ["nodes.0.config.prompt"])
        #expect(configPaths(F.llm("a", ["temperature": 3, "max_tokens": 0]))             == ["nodes.0.config.max_tokens", "nodes.0.config.temperature"])
        #expect(configPaths(["name": "a", "type": "tool", "config": ["server": "s"]]) == ["nodes.0.config.tool"])
        #expect(configPaths(["name": "a", "type": "tool", "config": ["server": "s", "tool": "t", "arguments": "x"]])
            == ["nodes.0.config.arguments"])
        #expect(configPaths(["name": "a", "type": "transform", "config": [:]]) == ["nodes.0.config.template"])
        #expect(configPaths(["name": "a", "type": "transform", "config": ["template": 1, "expression": "x"]])
            == ["nodes.0.config.expression"])
        #expect(configPaths(["name": "a", "type": "transform", "config": ["expression": "{{input}}"]]) == [])
        #expect(configPaths(["name": "a", "type": "router"]) == [])
        #expect(configPaths(F.llm("a", ["max_iterations": -1])) == ["nodes.0.config.max_iterations"])
    }

    @Test("template references must name existing nodes")
    func templateReferences() {
        let value = F.graph([F.llm("a", ["prompt": "{{steps.ghost.output}}"]), F.llm("c", ["system": "{{outputs.a}}"])],
            [F.edge("a", "c")])
        #expect(paths(value) == ["nodes.0.config.prompt", "nodes.1.config.system"])
        let condition = F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "c", ["path": "steps.ghost.output", "exists": true]), F.edge("a", "c")])
        #expect(paths(condition) == ["edges.0.condition"])
    }

    @Test("unreachable nodes and nodes that reach no end")
    func reachability() {
        let orphan = F.graph([F.llm("a"), F.llm("b"), F.llm("c")], [F.edge("a", "c"), F.edge("b", "c")])
        #expect(paths(orphan) == ["nodes.1"])
        #expect(problems(orphan).first?.message.contains("cannot be reached") == true)
        let deadEnd = F.graph([F.llm("a"), F.llm("b"), F.llm("c")],
            [F.edge("a", "b", ["path": "input.x", "exists": true]), F.edge("a", "c")])
        #expect(paths(deadEnd) == ["nodes.1"])
        #expect(problems(deadEnd).first?.message.contains("No end node") == true)
    }

    @Test("edges: one default per node, none out of an end node, conditions checked")
    func edges() {
        let twoDefaults = F.graph([F.llm("a"), F.llm("b"), F.llm("c")], [F.edge("a", "b"), F.edge("a", "c"), F.edge("b", "c")])
        #expect(paths(twoDefaults) == ["edges.1.condition"])
        let outOfEnd = F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "c"), F.edge("c", "a", ["always": true])])
        #expect(paths(outOfEnd).contains("edges.1.source"))
        let badCondition = F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "c", ["path": "input.x", "gt": "many"])])
        #expect(paths(badCondition) == ["edges.0.condition.gt"])
    }

    @Test("a cycle needs a conditional edge and a node with max_iterations")
    func cycles() {
        let nodes = [F.llm("a"), F.llm("b"), F.llm("c")]
        let unbounded = F.graph(nodes, [F.edge("a", "b"), F.edge("b", "a", ["path": "last", "contains": "again"]), F.edge("b", "c")])
        let found = problems(unbounded)
        #expect(found.map(\.type) == ["cycle_unbounded"])
        #expect(found.first?.message.contains("Cycle without a bound through a -> b") == true)
        #expect(found.first?.message.contains("max_iterations") == true)

        let unconditional = F.graph([F.llm("a", ["max_iterations": 3]), F.llm("b"), F.llm("c")],
            [F.edge("a", "b"), F.edge("b", "a"), F.edge("b", "c", ["always": true])])
        #expect(problems(unconditional).first?.message.contains("an edge with a condition") == true)

        let bounded = F.graph([F.llm("a", ["max_iterations": 3]), F.llm("b"), F.llm("c")],
            [F.edge("a", "b"), F.edge("b", "a", ["path": "last", "contains": "again"]), F.edge("b", "c")])
        #expect(problems(bounded).isEmpty)

        let selfLoop = F.graph([F.llm("a"), F.llm("c")], [F.edge("a", "a", ["always": true]), F.edge("a", "c")])
        #expect(problems(selfLoop).map(\.type) == ["cycle_unbounded"])
    }

    @Test("node accessors")
    func accessors() throws {
        let graph = try WorkflowGraph(parsing: F.graph([F.llm("a", ["max_iterations": 2, "timeout_seconds": 1.5]), F.llm("c")],
            [F.edge("a", "c")]))
        #expect(graph.node("a")?.maxIterations == 2)
        #expect(graph.node("a")?.timeout == .milliseconds(1500))
        #expect(graph.node("c")?.maxIterations == nil)
        #expect(graph.isEnd("c"))
    }
}
