import ScutumCore

/// A built-in workflow an operator can create by `template_type` alone.
public struct BuiltinWorkflow: Sendable, Equatable {
    /// The `template_type`: `research`, `coding` or `data_analysis`.
    public var templateType: String
    public var description: String
    public var graph: JSONValue
    public var inputSchema: JSONValue

    /// As the Admin API lists it.
    public var json: JSONValue {
        ["template_type": .string(templateType), "name": .string(templateType), "description": .string(description),
            "graph_definition": graph, "input_schema": inputSchema]
    }
}

/// The built-in workflows. Their model nodes use `defaultModel`; each graph passes `WorkflowGraph`'s checks.
public enum WorkflowTemplates {
    public static let defaultModel = "gpt-5"

    public static let all: [BuiltinWorkflow] = [research, coding, dataAnalysis]

    public static func named(_ templateType: String) -> BuiltinWorkflow? {
        all.first { $0.templateType == templateType }
    }

    static func llm(_ name: String, _ prompt: String, system: String? = nil, extra: [String: JSONValue] = [:]) -> JSONValue {
        var config: [String: JSONValue] = ["model": .string(defaultModel), "prompt": .string(prompt)]
        if let system { config["system"] = .string(system) }
        config.merge(extra) { _, new in new }
        return ["name": .string(name), "type": "llm", "config": .object(config)]
    }

    static func edge(_ source: String, _ target: String, condition: JSONValue? = nil) -> JSONValue {
        var fields: [String: JSONValue] = ["source": .string(source), "target": .string(target)]
        if let condition { fields["condition"] = condition }
        return .object(fields)
    }

    static func schema(required: [String], properties: [String: JSONValue]) -> JSONValue {
        ["type": "object", "required": .array(required.map(JSONValue.string)), "properties": .object(properties)]
    }

    /// plan -> research -> summarize -> critique -> final.
    public static let research = BuiltinWorkflow(
        templateType: "research",
        description: "Plans sub-questions, researches them, summarizes, critiques the summary and writes a final report.",
        graph: [
            "nodes": [
                llm("plan", "Break this research question into 3 to 5 focused sub-questions, one per line.\n\nQuestion: {{input.question}}",
                    system: "You are a meticulous research planner."),
                llm("research", "Answer each sub-question with facts, figures and their sources.\n\nQuestion: {{input.question}}\n\nSub-questions:\n{{steps.plan.output}}",
                    system: "You are a careful researcher. Say so when you are unsure."),
                llm("summarize", "Summarize these findings into a coherent answer to: {{input.question}}\n\nFindings:\n{{steps.research.output}}"),
                llm("critique", "Critique this summary: list gaps, unsupported claims and contradictions.\n\nSummary:\n{{steps.summarize.output}}",
                    system: "You are a skeptical reviewer."),
                llm("final", "Write the final report on: {{input.question}}\n\nDraft:\n{{steps.summarize.output}}\n\nAddress this critique:\n{{steps.critique.output}}"),
            ],
            "edges": [edge("plan", "research"), edge("research", "summarize"), edge("summarize", "critique"), edge("critique", "final")],
            "entry_point": "plan",
            "end_nodes": ["final"],
        ],
        inputSchema: schema(required: ["question"], properties: ["question": ["type": "string"]]))

    /// spec -> write_code -> review -> decide (router) -> write_code again (at most 3 times) or finalize.
    public static let coding = BuiltinWorkflow(
        templateType: "coding",
        description: "Writes a spec, writes code, reviews it and revises (up to 3 drafts) until the review approves.",
        graph: [
            "nodes": [
                llm("spec", "Write a short technical specification for this task in {{input.language}}: inputs, outputs, edge cases.\n\nTask: {{input.task}}",
                    system: "You are a senior software engineer."),
                llm("write_code", "Implement the specification in {{input.language}}. Answer with the code only.\n\nSpecification:\n{{steps.spec.output}}\n\nPrevious draft (may be empty):\n{{steps.write_code.output}}\n\nReview to address (may be empty):\n{{steps.review.output}}",
                    system: "You are a senior software engineer who writes clear, tested code.",
                    extra: ["max_iterations": 3]),
                llm("review", "Review this code against the specification. Start your answer with APPROVE or REVISE, then explain.\n\nSpecification:\n{{steps.spec.output}}\n\nCode:\n{{steps.write_code.output}}",
                    system: "You are a demanding code reviewer."),
                ["name": "decide", "type": "router", "config": [:]],
                ["name": "finalize", "type": "transform", "config": ["template": [
                    "code": "{{steps.write_code.output}}", "review": "{{steps.review.output}}", "specification": "{{steps.spec.output}}",
                ]]],
            ],
            "edges": [
                edge("spec", "write_code"), edge("write_code", "review"), edge("review", "decide"),
                edge("decide", "write_code", condition: ["path": "steps.review.output", "matches": "^\\s*REVISE"]),
                edge("decide", "finalize"),
            ],
            "entry_point": "spec",
            "end_nodes": ["finalize"],
        ],
        inputSchema: schema(required: ["task"], properties: [
            "task": ["type": "string"], "language": ["type": "string", "default": "Python"],
        ]))

    /// parse (transform) -> analyze -> chart -> report.
    public static let dataAnalysis = BuiltinWorkflow(
        templateType: "data_analysis",
        description: "Prepares the data, analyzes it, proposes a chart and writes a report.",
        graph: [
            "nodes": [
                ["name": "parse", "type": "transform", "config": ["template": [
                    "data": "{{input.data}}", "question": "{{input.question}}",
                ]]],
                llm("analyze", "Analyze this data to answer: {{steps.parse.output.question}}\nGive key statistics, trends and outliers.\n\nData:\n{{steps.parse.output.data}}",
                    system: "You are a careful data analyst. Show your numbers."),
                llm("chart", "Propose one chart that best shows this analysis, as a Vega-Lite JSON specification only.\n\nAnalysis:\n{{steps.analyze.output}}\n\nData:\n{{steps.parse.output.data}}"),
                llm("report", "Write a concise report answering: {{input.question}}\n\nAnalysis:\n{{steps.analyze.output}}\n\nSuggested chart:\n{{steps.chart.output}}"),
            ],
            "edges": [edge("parse", "analyze"), edge("analyze", "chart"), edge("chart", "report")],
            "entry_point": "parse",
            "end_nodes": ["report"],
        ],
        inputSchema: schema(required: ["data", "question"], properties: [
            "data": ["type": ["array", "object", "string"]], "question": ["type": "string"],
        ]))
}
