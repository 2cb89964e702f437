import Foundation
import ScutumCore
import ScutumStore
import ScutumTestSupport
import ScutumWorkflows
import Testing

@Suite("Workflow storage: storable text")
struct WorkflowStorableTextTests {
    static let hostile = StorableTextFixtures.hostile
    static let cleaned = StorableTextFixtures.cleaned

    @Test("workflow executions: NUL in the input, identifiers, step input and output, errors is stored cleaned")
    func workflowExecutions() async throws {
        try await WorkflowFixture.with { fixture in
            let queued = try await fixture.executions.create(workflow: fixture.workflow, input: Self.hostile,
                keyID: "key\u{0}", teamID: "team\u{0}", createdBy: "me\u{0}")
            #expect(queued.input == Self.cleaned)
            #expect(queued.keyID == "key" && queued.teamID == "team" && queued.createdBy == "me")
            let fence = try await fixture.leader()
            _ = try await fixture.executions.claim(fence: fence, limit: 1)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "plan", order: 0,
                input: Self.hostile)
            try await fixture.executions.completeStep(fence: fence, execution: queued.id, order: 0,
                output: .string("answer\u{0}"), durationMS: 1)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "research", order: 1,
                input: [:])
            try await fixture.executions.failStep(fence: fence, execution: queued.id, order: 1, error: "bad\u{0}",
                durationMS: 1)
            #expect(try await fixture.executions.finish(fence: fence, execution: queued.id, status: .failed,
                output: Self.hostile, error: "failed\u{0}"))
            let stored = try #require(try await fixture.executions.find(queued.id))
            #expect(stored.output == Self.cleaned && stored.error == "failed")
            #expect(stored.steps.map(\.input) == [Self.cleaned, [:]])
            #expect(stored.steps.map(\.output) == [.string("answer"), nil])
            #expect(stored.steps.map(\.error) == [nil, "bad"])
        }
    }
}
