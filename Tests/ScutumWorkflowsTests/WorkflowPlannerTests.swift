import ScutumCore
import ScutumWorkflows
import Testing

@Suite("Workflow planner and built-in templates")
struct WorkflowPlannerTests {
    typealias F = GraphFixture

    /// a -> b (router) -> a again while the last output says "again" (a runs at most 3 times), else -> c.
    static let loop = F.graph(
        [F.llm("a", ["max_iterations": 3]), ["name": "b", "type": "router"], F.llm("c")],
        [F.edge("a", "b"), F.edge("b", "a", ["path": "steps.a.output", "contains": "again"]), F.edge("b", "c")])

    @Test("a linear graph runs start to end, then stops")
    func linear() throws {
        let planner = WorkflowPlanner(graph: try WorkflowGraph(parsing: F.linear))
        let context = WorkflowContext(input: [:])
        #expect(planner.entryPoint == "a")
        #expect(try planner.next(after: "a", context: context, visits: ["a": 1]) == "b")
        #expect(try planner.next(after: "b", context: context, visits: ["a": 1, "b": 1]) == "c")
        #expect(try planner.next(after: "c", context: context, visits: [:]) == nil)
        #expect(throws: WorkflowPlanningError.unknownNode("z")) { try planner.next(after: "z", context: context, visits: [:]) }
    }

    @Test("conditional edges first in order, then the default; a spent loop leaves by the default")
    func loop() throws {
        let planner = WorkflowPlanner(graph: try WorkflowGraph(parsing: Self.loop))
        var context = WorkflowContext(input: [:])
        context.record(node: "a", output: "do it again")
        #expect(try planner.next(after: "b", context: context, visits: ["a": 1, "b": 1]) == "a")
        #expect(try planner.next(after: "b", context: context, visits: ["a": 2, "b": 2]) == "a")
        #expect(try planner.next(after: "b", context: context, visits: ["a": 3, "b": 3]) == "c")
        context.record(node: "a", output: "done")
        #expect(try planner.next(after: "b", context: context, visits: ["a": 1, "b": 1]) == "c")
    }

    @Test("no matching edge, or only spent ones, is an error")
    func stuck() throws {
        let graph = try WorkflowGraph(parsing: F.graph(
            [F.llm("a", ["max_iterations": 2]), ["name": "b", "type": "router"], F.llm("c")],
            [F.edge("a", "b"), F.edge("b", "a", ["path": "last", "contains": "again"]),
                F.edge("b", "c", ["path": "last", "contains": "done"])]))
        let planner = WorkflowPlanner(graph: graph)
        var context = WorkflowContext(input: [:])
        context.record(node: "a", output: "neither")
        #expect(throws: WorkflowPlanningError.noMatchingEdge(node: "b")) {
            try planner.next(after: "b", context: context, visits: ["a": 1])
        }
        context.record(node: "a", output: "again")
        #expect(throws: WorkflowPlanningError.iterationLimit(node: "a", limit: 2)) {
            try planner.next(after: "b", context: context, visits: ["a": 2])
        }
    }

    @Test("step inputs: rendered prompts, tool arguments, transforms and routers")
    func inputs() throws {
        let graph = try WorkflowGraph(parsing: F.graph(
            [
                F.llm("a", ["system": "Be brief about {{input.q}}", "max_tokens": 50, "temperature": 0.2]),
                ["name": "t", "type": "tool", "config": ["server": "search", "tool": "web", "arguments": ["query": "{{steps.a.output}}", "n": 3]]],
                ["name": "r", "type": "router"],
                ["name": "c", "type": "transform", "config": ["template": ["answer": "{{steps.a.output}}", "hits": "{{steps.t.output}}"]]],
            ],
            [F.edge("a", "t"), F.edge("t", "r"), F.edge("r", "c")]))
        let planner = WorkflowPlanner(graph: graph)
        var context = WorkflowContext(input: ["q": "tides"])
        let llm = try planner.input(for: "a", context: context)
        #expect(llm == .llm(model: "gpt-test", system: "Be brief about tides", prompt: "Answer tides", maxTokens: 50, temperature: 0.2))
        #expect(llm.requestBody == [
            "model": "gpt-test", "max_tokens": 50, "temperature": 0.2,
            "messages": [["role": "system", "content": "Be brief about tides"], ["role": "user", "content": "Answer tides"]],
        ])
        #expect(llm.json == llm.requestBody)
        context.record(node: "a", output: "the moon")
        #expect(try planner.input(for: "t", context: context) == .tool(server: "search", tool: "web", arguments: ["query": "the moon", "n": 3]))
        context.record(node: "t", output: ["hits": [1, 2]])
        #expect(try planner.input(for: "r", context: context) == .router(passThrough: ["hits": [1, 2]]))
        #expect(try planner.input(for: "c", context: context) == .transform(output: ["answer": "the moon", "hits": ["hits": [1, 2]]]))
        #expect(throws: WorkflowPlanningError.unknownNode("nope")) { try planner.input(for: "nope", context: context) }
    }

    @Test("visits count nodes")
    func visits() {
        #expect(WorkflowPlanner.visits(["a", "b", "a"]) == ["a": 2, "b": 1])
    }

    @Test("the built-in templates validate and use gpt-5", arguments: WorkflowTemplates.all)
    func builtins(_ template: BuiltinWorkflow) throws {
        let graph = try WorkflowGraph(parsing: template.graph)
        for node in graph.nodes where node.type == .llm {
            #expect(node.config["model"] == "gpt-5")
        }
        #expect(WorkflowTemplates.named(template.templateType) == template)
        #expect(template.inputSchema["required"]?.arrayValue?.isEmpty == false)
    }

    @Test("the coding template revises at most three times, then finalizes")
    func codingLoop() throws {
        let planner = WorkflowPlanner(graph: try WorkflowGraph(parsing: WorkflowTemplates.coding.graph))
        var context = WorkflowContext(input: ["task": "fizzbuzz"])
        var ran: [String] = []
        var node: String? = planner.entryPoint
        while let current = node, ran.count < 50 {
            ran.append(current)
            let output: JSONValue = current == "review" ? "REVISE: needs tests" : .string("output of \(current)")
            context.record(node: current, output: output)
            node = try planner.next(after: current, context: context, visits: WorkflowPlanner.visits(ran))
        }
        #expect(ran == ["spec", "write_code", "review", "decide", "write_code", "review", "decide", "write_code", "review",
            "decide", "finalize"])
    }

    @Test("the input schema: required fields, types, defaults")
    func inputSchema() throws {
        let schema = WorkflowTemplates.coding.inputSchema
        #expect(try WorkflowInputSchema.apply(schema, to: ["task": "x"]) == ["task": "x", "language": "Python"])
        #expect(try WorkflowInputSchema.apply(schema, to: ["task": "x", "language": "Swift"]) == ["task": "x", "language": "Swift"])
        #expect(throws: WorkflowValidationError([FieldProblem(["task"], "Field required", type: "missing")])) {
            try WorkflowInputSchema.apply(schema, to: [:])
        }
        #expect(throws: WorkflowValidationError.self) { try WorkflowInputSchema.apply(schema, to: ["task": 3]) }
        #expect(throws: WorkflowValidationError.self) { try WorkflowInputSchema.apply(schema, to: "text") }
        #expect(try WorkflowInputSchema.apply(["type": "object"], to: ["any": 1]) == ["any": 1])
    }
}
