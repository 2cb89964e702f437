import ScutumCore
import ScutumWorkflows
import Testing

@Suite("Workflow edge conditions")
struct WorkflowConditionTests {
    static let context = WorkflowContext(
        input: ["count": 5, "tags": ["a", "b"], "flag": true, "name": "  Ada "],
        outputs: ["classify": "This is about CODE.", "score": "0.75", "review": "REVISE: add tests", "empty": .null])

    func holds(_ condition: JSONValue) -> Bool { WorkflowCondition.evaluate(condition, context: Self.context) }

    @Test("the JSON operators")
    func operators() {
        #expect(holds(["path": "steps.classify.output", "contains": "code"]))
        #expect(!holds(["path": "steps.classify.output", "not_contains": "code"]))
        #expect(holds(["path": "input.name", "equals": "Ada"]))
        #expect(holds(["path": "input.count", "equals": 5.0]))
        #expect(holds(["path": "input.count", "not_equals": 4]))
        #expect(holds(["path": "steps.review.output", "matches": "^REVISE"]))
        #expect(!holds(["path": "steps.review.output", "matches": "^APPROVE"]))
        #expect(holds(["path": "input.count", "gt": 4]))
        #expect(!holds(["path": "input.count", "lt": 5]))
        #expect(holds(["path": "input.count", "lte": 5]))
        #expect(holds(["path": "steps.score.output", "gte": 0.5]))
        #expect(holds(["path": "input.tags", "contains": "b"]))
        #expect(holds(["path": "input.count", "in": [1, 5]]))
        #expect(holds(["path": "input.flag", "equals": true]))
        #expect(holds(["path": "input.count", "exists": true]))
        #expect(holds(["path": "steps.empty.output", "exists": false]))
        #expect(holds(["path": "steps.never.output", "exists": false]))
    }

    @Test("missing values satisfy only negative tests")
    func missing() {
        #expect(!holds(["path": "input.nope", "equals": "x"]))
        #expect(holds(["path": "input.nope", "not_equals": "x"]))
        #expect(holds(["path": "input.nope", "not_contains": "x"]))
        #expect(!holds(["path": "input.nope", "gt": 0]))
    }

    @Test("combinations and always")
    func combinations() {
        #expect(holds(["always": true]))
        #expect(!holds(["always": false]))
        #expect(holds(["all": [["path": "input.count", "gt": 1], ["path": "input.flag", "equals": true]]]))
        #expect(!holds(["all": [["path": "input.count", "gt": 1], ["path": "input.flag", "equals": false]]]))
        #expect(holds(["any": [["path": "input.count", "gt": 10], ["always": true]]]))
        #expect(holds(["not": ["path": "input.count", "gt": 10]]))
    }

    @Test("the string form")
    func stringForm() {
        #expect(holds("steps.classify.output contains 'code'"))
        #expect(holds("input.count >= 5"))
        #expect(!holds("input.count > 5"))
        #expect(holds("input.name == \"Ada\""))
        #expect(holds("input.name != Bob"))
        #expect(holds("steps.review.output matches '^REVISE'"))
        #expect(holds("input.count exists"))
        #expect(holds("input.nope missing"))
        #expect(holds("input.count in [4, 5]"))
        #expect(WorkflowCondition.evaluate("steps.classify.output contains 'two words'", context: Self.context) == false)
    }

    @Test("invalid conditions are refused with where and why; they never hold")
    func invalid() {
        func problems(_ value: JSONValue) -> [FieldProblem] {
            do {
                _ = try WorkflowCondition(parsing: value)
                return []
            } catch {
                return error.problems
            }
        }
        #expect(problems(["path": "input.a"]).first?.message.contains("exactly one operator") == true)
        #expect(problems(["path": "input.a", "gt": "x"]).first?.path == ["gt"])
        #expect(problems(["path": "input.a", "matches": "("]).first?.path == ["matches"])
        #expect(problems(["path": "nowhere.a", "equals": 1]).first?.path == ["path"])
        #expect(problems(["path": "input.a", "between": 1]).first?.path == ["between"])
        #expect(problems(["any": [["always": true], ["path": "input.a"]]]).first?.path == ["any", 1])
        #expect(problems(["contains": "x"]).first?.type == "missing")
        #expect(!problems("input.a").isEmpty)
        #expect(!problems("input.a frobs 'x'").isEmpty)
        #expect(!problems(3).isEmpty)
        #expect(!holds(["path": "input.count"]))
    }

    @Test("paths lists every reference read")
    func paths() throws {
        let condition = try WorkflowCondition(parsing: ["any": [["path": "input.a", "equals": 1], ["not": "last exists"]]])
        #expect(condition.paths == ["input.a", "last"])
    }
}
