import ScutumCore
import ScutumWorkflows
import Testing

@Suite("Workflow templates and references")
struct WorkflowTemplateTests {
    static let context = WorkflowContext(
        input: ["question": "Why is the sky blue?", "items": [1, 2, 3], "meta": ["lang": "en"]],
        outputs: ["plan": "1. light\n2. air", "classify": .string(#"{"category": "code", "score": 0.9}"#),
            "parse": ["rows": [["a": 1]], "count": 2]],
        last: "previous answer")

    @Test("input, fields, indexes, step outputs and last resolve; unknown references render empty")
    func render() {
        let text = WorkflowTemplate.render(
            "Q: {{input.question}} | {{ input.meta.lang }} | {{input.items.1}} | {{steps.plan.output}} | {{last}} | [{{steps.nope.output}}] [{{input.missing}}] [{{bogus}}]",
            context: Self.context)
        #expect(text == "Q: Why is the sky blue? | en | 2 | 1. light\n2. air | previous answer | [] [] []")
    }

    @Test("structured values render as compact JSON; null as nothing; unclosed braces stay")
    func structured() {
        #expect(WorkflowTemplate.render("{{input.items}} {{steps.parse.output.count}} {{input.meta}}", context: Self.context)
            == #"[1,2,3] 2 {"lang":"en"}"#)
        #expect(WorkflowTemplate.render("a {{input.question", context: Self.context) == "a {{input.question")
        #expect(WorkflowTemplate.render("no refs", context: Self.context) == "no refs")
    }

    @Test("a step's output holding JSON text can be walked into")
    func jsonText() {
        #expect(Self.context.resolve("steps.classify.output.category") == "code")
        #expect(Self.context.resolve("steps.classify.output.score") == .double(0.9))
        #expect(Self.context.resolve("steps.plan.output.x") == nil)
    }

    @Test("a JSON template keeps a sole reference's value and renders other strings")
    func jsonTemplate() {
        let template: JSONValue = [
            "rows": "{{steps.parse.output.rows}}", "title": "About {{input.question}}", "n": 3,
            "nested": ["{{input.items}}", " {{missing.x}} "], "absent": "{{steps.nope.output}}",
        ]
        let rendered = WorkflowTemplate.render(json: template, context: Self.context)
        #expect(rendered == [
            "rows": [["a": 1]], "title": "About Why is the sky blue?", "n": 3,
            "nested": [[1, 2, 3], .null], "absent": .null,
        ])
    }

    @Test("references are listed as written")
    func references() {
        #expect(WorkflowTemplate.references(in: "{{input.a}} and {{ steps.x.output }}") == ["input.a", "steps.x.output"])
        #expect(WorkflowTemplate.references(in: ["k": ["{{last}}"], "j": "{{input}}"] as JSONValue) == ["input", "last"])
    }

    @Test("reference forms")
    func referenceForms() {
        #expect(WorkflowReference("steps.plan.output.a")?.node == "plan")
        #expect(WorkflowReference("steps.plan") == nil)
        #expect(WorkflowReference("steps.plan.input") == nil)
        #expect(WorkflowReference("input..a") == nil)
        #expect(WorkflowReference("outputs.x") == nil)
        #expect(WorkflowReference("last")?.root == .last)
    }

    @Test("recording a step sets its output and last")
    func record() {
        var context = WorkflowContext(input: [:])
        #expect(context.resolve("last") == nil)
        context.record(node: "a", output: "x")
        #expect(context.resolve("steps.a.output") == "x")
        #expect(context.resolve("last") == "x")
    }
}
