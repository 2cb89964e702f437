import Foundation
import ScutumCore
import ScutumWorkflows
import Synchronization
import Testing

/// `matches` runs the linear-time engine: a step's output cannot stall the runner.
@Suite("Workflow conditions: matches in linear time")
struct WorkflowConditionRegexTests {
    /// Whether `work` finishes within `limit`. It runs on a thread of its own, so a runaway (a backtracking
    /// regex cannot be cancelled) fails this test instead of hanging the run.
    static func finishes(within limit: Duration, _ work: @escaping @Sendable () -> Void) async -> Bool {
        let done = Mutex(false)
        let thread = Thread {
            work()
            done.withLock { $0 = true }
        }
        thread.stackSize = 8 << 20
        thread.start()
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if done.withLock({ $0 }) { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return done.withLock { $0 }
    }

    static func context(output: String) -> WorkflowContext {
        WorkflowContext(input: [:], outputs: ["review": .string(output)])
    }

    @Test("catastrophic-backtracking patterns on a long 'aaaa…b' output finish at once",
        arguments: ["(a+)+$", "(a|a)+$", "(a|aa)+$", "^(a|a)+c"])
    func catastrophicPatterns(pattern: String) async {
        // A backtracking engine needs about 2^n steps here (n = 30 is already hours); the linear one
        // takes milliseconds in release. The limit leaves room for a debug build on a loaded machine.
        let context = Self.context(output: String(repeating: "a", count: 20_000) + "b")
        let finished = await Self.finishes(within: .seconds(10)) {
            _ = WorkflowCondition.evaluate(["path": "steps.review.output", "matches": .string(pattern)], context: context)
            _ = WorkflowCondition.evaluate(.string("steps.review.output matches '\(pattern)'"), context: context)
        }
        #expect(finished, "'\(pattern)' took more than 10 s on a 20 KB output")
    }

    @Test("the linear engine still finds what it should, case-sensitive unless (?i)")
    func semantics() {
        let context = Self.context(output: String(repeating: "a", count: 50_000) + "b\nREVISE: add tests")
        func holds(_ pattern: String) -> Bool {
            WorkflowCondition.evaluate(["path": "steps.review.output", "matches": .string(pattern)], context: context)
        }
        #expect(holds("(a|aa)+b"))
        #expect(holds("^a{3}"))
        #expect(holds("REVISE"))
        #expect(!holds("revise"))
        #expect(holds("(?i)revise"))
        #expect(holds("a+b\\nREV"))
        #expect(holds("tests$"))
        #expect(!holds("^REVISE"))
        // A match longer than the guardrails' 1 KB cap is still found in a condition.
        #expect(holds("^a+b"))
    }

    @Test("patterns the linear engine does not take are refused when the workflow is parsed, with why")
    func refusedPatterns() {
        for (pattern, reason) in [("(a+)+$", "Nested quantifiers"), ("(\\w)\\1", "Backreferences"),
            ("foo(?=bar)", "Lookahead"), ("a*", "empty string"), ("(", "Missing ')'")]
        {
            do {
                _ = try WorkflowCondition(parsing: ["path": "steps.review.output", "matches": .string(pattern)])
                Issue.record("'\(pattern)' was accepted")
            } catch {
                let problem = error.problems.first
                #expect(problem?.path == ["matches"])
                #expect(problem?.message.contains(reason) == true, "\(pattern): \(String(describing: problem))")
                #expect(problem?.message.contains("linear-time") == true)
            }
        }
    }
}
