import Foundation
import Logging
import PostgresNIO
import ScutumCore
import ScutumStore

/// The leader's writes. Each runs in one transaction that first verifies the caller's fence
/// (`LeaderLease.withFencedTransaction`), so a node that lost leadership changes nothing and gets
/// `FencedOut`; writes to an execution also require that it was claimed under that fence
/// (`notClaimed` otherwise).
extension WorkflowExecutionStore {
    var lease: LeaderLease { LeaderLease(client: client, logger: logger) }

    /// Claims up to `limit` executions, oldest first: pending ones, running ones a previous
    /// leader (another token) claimed, and running ones given back by `release`. Rows another transaction holds are skipped (`FOR UPDATE
    /// SKIP LOCKED`), so concurrent claimers never get the same execution. Each comes back
    /// `running`, with its steps; steps the previous leader left `running` are marked `failed`
    /// ("interrupted"), and the executor resumes after the last completed step.
    public func claim(fence: LeaderFence, limit: Int) async throws -> [ClaimedExecution] {
        try await lease.withFencedTransaction(fence) { connection in
            let rows = try await connection.query(
                """
                UPDATE workflow_executions SET status = 'running', claimed_by = \(fence.nodeID), fence_token = \(fence.token),
                    started_at = COALESCE(started_at, now()), updated_at = now()
                WHERE id IN (
                    SELECT id FROM workflow_executions
                    WHERE status IN ('pending', 'running')
                        AND (claimed_by IS NULL OR fence_token IS DISTINCT FROM \(fence.token))
                    ORDER BY created_at
                    FOR UPDATE SKIP LOCKED
                    LIMIT \(limit))
                RETURNING \(unescaped: WorkflowExecution.columns), graph_definition::text
                """, logger: logger)
            var claimed: [ClaimedExecution] = []
            for try await row in rows {
                let graph = try row.makeRandomAccess()["graph_definition"].decode(String.self)
                claimed.append(ClaimedExecution(execution: try WorkflowExecution(row: row),
                    graphDefinition: JSONValue.parsed(graph) ?? [:]))
            }
            guard !claimed.isEmpty else { return [] }
            let ids = claimed.map(\.execution.id)
            try await connection.query(
                """
                UPDATE workflow_steps SET status = 'failed', error = 'interrupted: leadership moved to another node',
                    completed_at = now()
                WHERE execution_id = ANY(\(ids)) AND status = 'running'
                """, logger: logger)
            let steps = try await Self.steps(connection.query(
                """
                SELECT \(unescaped: WorkflowStep.columns) FROM workflow_steps WHERE execution_id = ANY(\(ids))
                ORDER BY step_order
                """, logger: logger))
            for index in claimed.indices {
                claimed[index].execution.steps = steps.filter { $0.executionID == claimed[index].execution.id }
            }
            return claimed.sorted { ($0.execution.createdAt ?? .distantPast) < ($1.execution.createdAt ?? .distantPast) }
        }
    }

    /// Records that the step `order` of `execution` started running `node` with `input`, and makes
    /// `node` the execution's current node. Throws `finished` when the execution was cancelled.
    @discardableResult
    public func startStep(fence: LeaderFence, execution: UUID, node: String, order: Int, input: JSONValue) async throws
        -> WorkflowStep
    {
        try await lease.withFencedTransaction(fence) { connection in
            let updated = try await connection.query(
                """
                UPDATE workflow_executions SET current_node = \(node.storable()), updated_at = now()
                WHERE id = \(execution) AND fence_token = \(fence.token) AND status = 'running' RETURNING id
                """, logger: logger)
            guard try await Self.any(updated) else { throw try await refusal(execution, fence: fence, connection) }
            let rows = try await connection.query(
                """
                INSERT INTO workflow_steps (execution_id, node_name, step_order, status, input_data)
                VALUES (\(execution), \(node.storable()), \(order), 'running', \(input.storable.jsonString)::jsonb)
                RETURNING \(unescaped: WorkflowStep.columns)
                """, logger: logger)
            guard let step = try await Self.steps(rows).first else { throw StoreError.noRowReturned("INSERT INTO workflow_steps") }
            return step
        }
    }

    /// Completes a running step with its output and usage, and adds the usage to the execution's
    /// totals, in one transaction (the checkpoint). Returns the execution's status, so the caller
    /// sees a cancel that came in meanwhile (the step is recorded either way: its cost was spent).
    @discardableResult
    public func completeStep(fence: LeaderFence, execution: UUID, order: Int, output: JSONValue, inputTokens: Int = 0,
        outputTokens: Int = 0, cost: Double = 0, durationMS: Int) async throws -> WorkflowExecutionStatus
    {
        try await endStep(fence: fence, execution: execution, order: order, status: .completed, output: output,
            error: nil, inputTokens: inputTokens, outputTokens: outputTokens, cost: cost, durationMS: durationMS)
    }

    /// Marks a running step failed with `error`; usage so far still counts in the totals.
    @discardableResult
    public func failStep(fence: LeaderFence, execution: UUID, order: Int, error: String, inputTokens: Int = 0,
        outputTokens: Int = 0, cost: Double = 0, durationMS: Int) async throws -> WorkflowExecutionStatus
    {
        try await endStep(fence: fence, execution: execution, order: order, status: .failed, output: nil, error: error,
            inputTokens: inputTokens, outputTokens: outputTokens, cost: cost, durationMS: durationMS)
    }

    func endStep(fence: LeaderFence, execution: UUID, order: Int, status: WorkflowStepStatus, output: JSONValue?,
        error: String?, inputTokens: Int, outputTokens: Int, cost: Double, durationMS: Int) async throws
        -> WorkflowExecutionStatus
    {
        try await lease.withFencedTransaction(fence) { connection in
            let totals = try await connection.query(
                """
                UPDATE workflow_executions SET total_input_tokens = total_input_tokens + \(inputTokens),
                    total_output_tokens = total_output_tokens + \(outputTokens), total_cost = total_cost + \(cost),
                    updated_at = now()
                WHERE id = \(execution) AND fence_token = \(fence.token) RETURNING status
                """, logger: logger)
            var current: WorkflowExecutionStatus?
            for try await text in totals.decode(String.self) { current = WorkflowExecutionStatus(rawValue: text) }
            guard let current else { throw try await refusal(execution, fence: fence, connection) }
            let step = try await connection.query(
                """
                UPDATE workflow_steps SET status = \(status.rawValue), output_data = \(output?.storable.jsonString)::jsonb,
                    error = \(error?.storable()), input_tokens = \(inputTokens), output_tokens = \(outputTokens), cost = \(cost),
                    duration_ms = \(durationMS), completed_at = now()
                WHERE execution_id = \(execution) AND step_order = \(order) AND status = 'running' RETURNING id
                """, logger: logger)
            guard try await Self.any(step) else { throw WorkflowExecutionError.noRunningStep(execution, order: order) }
            return current
        }
    }

    /// Ends a running execution as `completed` (with `output`) or `failed` (with `error`). False
    /// when it was no longer running (cancelled meanwhile): the cancel stands.
    @discardableResult
    public func finish(fence: LeaderFence, execution: UUID, status: WorkflowExecutionStatus, output: JSONValue? = nil,
        error: String? = nil) async throws -> Bool
    {
        guard status.isFinal else { throw WorkflowExecutionError.notFinal(status) }
        return try await lease.withFencedTransaction(fence) { connection in
            let rows = try await connection.query(
                """
                UPDATE workflow_executions SET status = \(status.rawValue), output_data = \(output?.storable.jsonString)::jsonb,
                    error = \(error?.storable()), completed_at = now(), updated_at = now()
                WHERE id = \(execution) AND fence_token = \(fence.token) AND status = 'running' RETURNING id
                """, logger: logger)
            if try await Self.any(rows) { return true }
            let refusal = try await refusal(execution, fence: fence, connection)
            if case .finished = refusal { return false }
            throw refusal
        }
    }

    /// Gives a running execution back unfinished (on shutdown, or after an error that should not fail
    /// it): it stays `running` and the next `claim`, by this leader or the next, resumes it after its
    /// last completed step. False when it was not running under this fence.
    @discardableResult
    public func release(fence: LeaderFence, execution: UUID) async throws -> Bool {
        try await lease.withFencedTransaction(fence) { connection in
            try await Self.any(connection.query(
                """
                UPDATE workflow_executions SET claimed_by = NULL, fence_token = NULL, updated_at = now()
                WHERE id = \(execution) AND fence_token = \(fence.token) AND status = 'running' RETURNING id
                """, logger: logger))
        }
    }

    static func any(_ rows: PostgresRowSequence) async throws -> Bool {
        var found = false
        for try await _ in rows { found = true }
        return found
    }

    /// Why a write to `execution` under `fence` matched no row.
    func refusal(_ execution: UUID, fence: LeaderFence, _ connection: FencedConnection) async throws
        -> WorkflowExecutionError
    {
        let rows = try await connection.query(
            "SELECT status, fence_token FROM workflow_executions WHERE id = \(execution)", logger: logger)
        for try await (text, token) in rows.decode((String, Int64?).self) {
            if token != fence.token { return .notClaimed(execution) }
            return .finished(execution, WorkflowExecutionStatus(rawValue: text) ?? .failed)
        }
        return .notFound(execution)
    }
}
