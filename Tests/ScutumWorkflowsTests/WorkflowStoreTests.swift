import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import ScutumWorkflows
import Testing

/// Stores over one migrated database, and a saved workflow to execute.
struct WorkflowFixture {
    let workflows: WorkflowStore
    let executions: WorkflowExecutionStore
    let lease: LeaderLease
    let workflow: WorkflowDefinition

    static func with(_ body: (WorkflowFixture) async throws -> Void) async throws {
        try await withMigratedDatabase { client, _ in
            let workflows = WorkflowStore(client: client, logger: TestEnvironment.logger)
            let workflow = try await workflows.create(WorkflowDefinition(name: "research", templateType: "research",
                graph: WorkflowTemplates.research.graph, inputSchema: WorkflowTemplates.research.inputSchema))
            try await body(WorkflowFixture(workflows: workflows,
                executions: WorkflowExecutionStore(client: client, logger: TestEnvironment.logger),
                lease: LeaderLease(client: client, logger: TestEnvironment.logger), workflow: workflow))
        }
    }

    func leader(_ node: String = "node-a") async throws -> LeaderFence {
        try #require(try await lease.acquireOrRenew(nodeID: node, lease: .seconds(600)))
    }

    func queue(_ question: String = "q") async throws -> WorkflowExecution {
        try await executions.create(workflow: workflow, input: ["question": .string(question)], keyID: "key-1",
            teamID: "team-1", createdBy: "master")
    }
}

@Suite("Workflow stores")
struct WorkflowStoreTests {
    @Test("workflows: create, find by id and name, update, list, delete; names are unique")
    func workflowCRUD() async throws {
        try await WorkflowFixture.with { fixture in
            var workflow = try #require(try await fixture.workflows.find(fixture.workflow.id))
            #expect(workflow == fixture.workflow)
            #expect(workflow.graph == WorkflowTemplates.research.graph)
            #expect(try await fixture.workflows.find(name: "research")?.id == workflow.id)
            workflow.isActive = false
            workflow.description = "changed"
            let updated = try #require(try await fixture.workflows.update(workflow))
            #expect(updated.isActive == false && updated.description == "changed")
            #expect(try await fixture.workflows.list().map(\.name) == ["research"])
            await #expect(throws: PSQLError.self) {
                _ = try await fixture.workflows.create(WorkflowDefinition(name: "research", graph: [:]))
            }
            #expect(try await fixture.workflows.delete(workflow.id))
            #expect(try await fixture.workflows.delete(workflow.id) == false)
            #expect(try await fixture.workflows.update(workflow) == nil)
        }
    }

    @Test("executions: queued pending with a snapshot; listed by filters; kept when the workflow goes")
    func executions() async throws {
        try await WorkflowFixture.with { fixture in
            let first = try await fixture.queue("one")
            #expect(first.status == .pending)
            #expect(first.workflowID == fixture.workflow.id && first.workflowName == "research")
            #expect(first.input == ["question": "one"])
            #expect(first.keyID == "key-1" && first.teamID == "team-1" && first.createdBy == "master")
            #expect(first.totalCost == 0 && first.startedAt == nil)
            let second = try await fixture.queue("two")
            _ = try await fixture.executions.cancel(second.id)
            #expect(try await fixture.executions.list().map(\.id) == [second.id, first.id])
            #expect(try await fixture.executions.list(status: .pending).map(\.id) == [first.id])
            #expect(try await fixture.executions.list(workflowID: fixture.workflow.id, limit: 1).map(\.id) == [second.id])
            #expect(try await fixture.executions.list(workflowID: UUID()).isEmpty)

            _ = try await fixture.workflows.delete(fixture.workflow.id)
            let kept = try #require(try await fixture.executions.find(first.id))
            #expect(kept.workflowID == nil && kept.workflowName == "research")
        }
    }

    @Test("cancel: pending or running become cancelled; finished ones refuse; unknown ones are not found")
    func cancel() async throws {
        try await WorkflowFixture.with { fixture in
            let execution = try await fixture.queue()
            #expect(try await fixture.executions.isCancelled(execution.id) == false)
            let cancelled = try await fixture.executions.cancel(execution.id, reason: "Cancelled by test")
            #expect(cancelled.status == .cancelled && cancelled.error == "Cancelled by test" && cancelled.completedAt != nil)
            #expect(try await fixture.executions.isCancelled(execution.id))
            await #expect(throws: WorkflowExecutionError.finished(execution.id, .cancelled)) {
                _ = try await fixture.executions.cancel(execution.id)
            }
            let missing = UUID()
            await #expect(throws: WorkflowExecutionError.notFound(missing)) { _ = try await fixture.executions.cancel(missing) }

            let done = try await fixture.queue()
            let fence = try await fixture.leader()
            _ = try await fixture.executions.claim(fence: fence, limit: 10)
            try await fixture.executions.finish(fence: fence, execution: done.id, status: .completed, output: "ok")
            await #expect(throws: WorkflowExecutionError.finished(done.id, .completed)) {
                _ = try await fixture.executions.cancel(done.id)
            }
        }
    }

    @Test("the leader claims, checkpoints every step with totals, and finishes")
    func run() async throws {
        try await WorkflowFixture.with { fixture in
            let queued = try await fixture.queue()
            let fence = try await fixture.leader()
            let claimed = try await fixture.executions.claim(fence: fence, limit: 5)
            #expect(claimed.map(\.execution.id) == [queued.id])
            let claim = try #require(claimed.first)
            #expect(claim.execution.status == .running && claim.execution.claimedBy == "node-a")
            #expect(claim.execution.fenceToken == fence.token && claim.execution.startedAt != nil)
            #expect(try claim.graph().entryPoint == "plan")
            #expect(claim.nextStepOrder == 0 && claim.lastCompletedNode == nil)
            // Claimed under this fence already: not claimed again.
            #expect(try await fixture.executions.claim(fence: fence, limit: 5).isEmpty)

            let step = try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "plan", order: 0,
                input: ["prompt": "p"])
            #expect(step.status == .running && step.nodeName == "plan" && step.stepOrder == 0)
            let status = try await fixture.executions.completeStep(fence: fence, execution: queued.id, order: 0,
                output: "the plan", inputTokens: 10, outputTokens: 20, cost: 0.5, durationMS: 42)
            #expect(status == .running)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "research", order: 1, input: [:])
            try await fixture.executions.failStep(fence: fence, execution: queued.id, order: 1, error: "timeout",
                inputTokens: 1, outputTokens: 0, cost: 0.25, durationMS: 5)
            await #expect(throws: WorkflowExecutionError.noRunningStep(queued.id, order: 1)) {
                try await fixture.executions.completeStep(fence: fence, execution: queued.id, order: 1, output: "x", durationMS: 1)
            }
            #expect(try await fixture.executions.finish(fence: fence, execution: queued.id, status: .failed, error: "research failed"))

            let execution = try #require(try await fixture.executions.find(queued.id))
            #expect(execution.status == .failed && execution.error == "research failed" && execution.completedAt != nil)
            #expect(execution.totalInputTokens == 11 && execution.totalOutputTokens == 20 && execution.totalCost == 0.75)
            #expect(execution.currentNode == "research")
            #expect(execution.steps.map(\.status) == [.completed, .failed])
            #expect(execution.steps[0].output == "the plan" && execution.steps[0].durationMS == 42)
            #expect(execution.steps[0].input == ["prompt": "p"] && execution.steps[0].completedAt != nil)
            #expect(execution.steps[1].error == "timeout")
            await #expect(throws: WorkflowExecutionError.notFinal(.running)) {
                try await fixture.executions.finish(fence: fence, execution: queued.id, status: .running)
            }
        }
    }

    @Test("a cancel mid-run: steps may still be recorded, new steps are refused, finish leaves it cancelled")
    func cancelMidRun() async throws {
        try await WorkflowFixture.with { fixture in
            let queued = try await fixture.queue()
            let fence = try await fixture.leader()
            _ = try await fixture.executions.claim(fence: fence, limit: 1)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "plan", order: 0, input: [:])
            _ = try await fixture.executions.cancel(queued.id)
            let status = try await fixture.executions.completeStep(fence: fence, execution: queued.id, order: 0, output: "p",
                inputTokens: 1, outputTokens: 1, cost: 0.1, durationMS: 1)
            #expect(status == .cancelled)
            await #expect(throws: WorkflowExecutionError.finished(queued.id, .cancelled)) {
                try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "research", order: 1, input: [:])
            }
            #expect(try await fixture.executions.finish(fence: fence, execution: queued.id, status: .completed) == false)
            let execution = try #require(try await fixture.executions.find(queued.id))
            #expect(execution.status == .cancelled && execution.totalCost == 0.1)
        }
    }

    @Test("a stale fence writes nothing; a new leader reclaims and resumes after the last completed step")
    func fencing() async throws {
        try await WorkflowFixture.with { fixture in
            let queued = try await fixture.queue()
            let old = try await fixture.leader("node-a")
            _ = try await fixture.executions.claim(fence: old, limit: 1)
            try await fixture.executions.startStep(fence: old, execution: queued.id, node: "plan", order: 0, input: [:])
            try await fixture.executions.completeStep(fence: old, execution: queued.id, order: 0, output: "the plan",
                inputTokens: 3, outputTokens: 4, cost: 1, durationMS: 1)
            try await fixture.executions.startStep(fence: old, execution: queued.id, node: "research", order: 1, input: [:])

            // Leadership moves: node-a's lease is released and node-b takes it with a new token.
            try await fixture.lease.release(old)
            let new = try await fixture.leader("node-b")
            #expect(new.token > old.token)

            let before = try #require(try await fixture.executions.find(queued.id))
            await #expect(throws: FencedOut.self) {
                try await fixture.executions.completeStep(fence: old, execution: queued.id, order: 1, output: "late",
                    inputTokens: 100, outputTokens: 100, cost: 100, durationMS: 1)
            }
            await #expect(throws: FencedOut.self) {
                try await fixture.executions.startStep(fence: old, execution: queued.id, node: "x", order: 2, input: [:])
            }
            await #expect(throws: FencedOut.self) {
                try await fixture.executions.finish(fence: old, execution: queued.id, status: .completed)
            }
            await #expect(throws: FencedOut.self) { _ = try await fixture.executions.claim(fence: old, limit: 1) }
            #expect(try await fixture.executions.find(queued.id) == before)

            let resumed = try #require(try await fixture.executions.claim(fence: new, limit: 1).first)
            #expect(resumed.execution.claimedBy == "node-b" && resumed.execution.fenceToken == new.token)
            #expect(resumed.execution.startedAt == before.startedAt)
            #expect(resumed.execution.steps.map(\.status) == [.completed, .failed])
            #expect(resumed.execution.steps[1].error?.contains("interrupted") == true)
            #expect(resumed.lastCompletedNode == "plan")
            #expect(resumed.nextStepOrder == 2)
            #expect(resumed.visits == ["plan": 1])
            #expect(resumed.context.resolve("steps.plan.output") == "the plan")
            #expect(resumed.context.resolve("last") == "the plan")
            #expect(resumed.context.resolve("input.question") == "q")

            // A live fence still writes only to executions claimed under it.
            let unclaimed = try await fixture.queue()
            await #expect(throws: WorkflowExecutionError.notClaimed(unclaimed.id)) {
                try await fixture.executions.startStep(fence: new, execution: unclaimed.id, node: "plan", order: 0, input: [:])
            }
            let missing = UUID()
            await #expect(throws: WorkflowExecutionError.notFound(missing)) {
                try await fixture.executions.finish(fence: new, execution: missing, status: .completed)
            }
        }
    }

    @Test("a released execution is claimed again, by the same leader too, and resumes")
    func release() async throws {
        try await WorkflowFixture.with { fixture in
            let queued = try await fixture.queue()
            let fence = try await fixture.leader()
            _ = try await fixture.executions.claim(fence: fence, limit: 1)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "plan", order: 0, input: [:])
            try await fixture.executions.completeStep(fence: fence, execution: queued.id, order: 0, output: "p", durationMS: 1)
            #expect(try await fixture.executions.release(fence: fence, execution: queued.id))
            #expect(try await fixture.executions.release(fence: fence, execution: queued.id) == false)
            let again = try #require(try await fixture.executions.claim(fence: fence, limit: 1).first)
            #expect(again.execution.id == queued.id && again.lastCompletedNode == "plan" && again.nextStepOrder == 1)
        }
    }

    @Test("concurrent claimers with SKIP LOCKED never claim the same execution")
    func concurrentClaims() async throws {
        try await WorkflowFixture.with { fixture in
            var queued: [UUID] = []
            for index in 0..<12 { queued.append(try await fixture.queue("q\(index)").id) }
            let fence = try await fixture.leader()
            let executions = fixture.executions
            let batches = try await withThrowingTaskGroup(of: [UUID].self) { group in
                for _ in 0..<4 {
                    group.addTask { try await executions.claim(fence: fence, limit: 5).map(\.execution.id) }
                }
                var all: [[UUID]] = []
                for try await batch in group { all.append(batch) }
                return all
            }
            let claimed = batches.flatMap { $0 }
            #expect(claimed.count == Set(claimed).count, "an execution was claimed twice: \(batches)")
            #expect(Set(claimed) == Set(queued))
        }
    }
}
