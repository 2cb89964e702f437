import Foundation
import Logging
import PostgresNIO
import ScutumCore
import ScutumStore

/// The `workflow_executions` and `workflow_steps` tables: what the Admin API queues, lists and
/// cancels here, and (in `WorkflowExecutionStore+Leader.swift`) the fenced writes of the leader
/// that runs them.
public struct WorkflowExecutionStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static func executions(_ rows: PostgresRowSequence) async throws -> [WorkflowExecution] {
        var executions: [WorkflowExecution] = []
        for try await row in rows { executions.append(try WorkflowExecution(row: row)) }
        return executions
    }

    static func steps(_ rows: PostgresRowSequence) async throws -> [WorkflowStep] {
        var steps: [WorkflowStep] = []
        for try await row in rows { steps.append(try WorkflowStep(row: row)) }
        return steps
    }

    /// Queues an execution of `workflow` (`pending`), with a snapshot of its name and graph. The
    /// input and the identifiers come from a request: they are made storable first (NUL removed,
    /// identifiers at most `String.storableIdentifierLimit` characters).
    public func create(workflow: WorkflowDefinition, input: JSONValue, keyID: String? = nil, teamID: String? = nil,
        createdBy: String? = nil) async throws -> WorkflowExecution
    {
        let input = input.storable
        let (keyID, teamID, createdBy) = (keyID?.storableIdentifier, teamID?.storableIdentifier,
            createdBy?.storableIdentifier)
        let rows = try await client.query(
            """
            INSERT INTO workflow_executions (workflow_id, workflow_name, graph_definition, input_data, key_id, team_id,
                created_by)
            VALUES (\(workflow.id), \(workflow.name), \(workflow.graph.jsonString)::jsonb, \(input.jsonString)::jsonb,
                \(keyID), \(teamID), \(createdBy))
            RETURNING \(unescaped: WorkflowExecution.columns)
            """, logger: logger)
        guard let created = try await Self.executions(rows).first else {
            throw StoreError.noRowReturned("INSERT INTO workflow_executions")
        }
        return created
    }

    /// The newest executions first, without their steps.
    public func list(status: WorkflowExecutionStatus? = nil, workflowID: UUID? = nil, limit: Int = 100) async throws
        -> [WorkflowExecution]
    {
        try await Self.executions(client.query(
            """
            SELECT \(unescaped: WorkflowExecution.columns) FROM workflow_executions
            WHERE (\(status?.rawValue)::text IS NULL OR status = \(status?.rawValue))
                AND (\(workflowID)::uuid IS NULL OR workflow_id = \(workflowID))
            ORDER BY created_at DESC, id LIMIT \(limit)
            """, logger: logger))
    }

    /// An execution with its steps.
    public func find(_ id: UUID) async throws -> WorkflowExecution? {
        guard var execution = try await Self.executions(client.query(
            "SELECT \(unescaped: WorkflowExecution.columns) FROM workflow_executions WHERE id = \(id)", logger: logger)).first
        else { return nil }
        execution.steps = try await steps(of: id)
        return execution
    }

    /// An execution's steps in order.
    public func steps(of id: UUID) async throws -> [WorkflowStep] {
        try await Self.steps(client.query(
            "SELECT \(unescaped: WorkflowStep.columns) FROM workflow_steps WHERE execution_id = \(id) ORDER BY step_order",
            logger: logger))
    }

    /// Cancels a pending or running execution (the leader stops it before its next step); throws
    /// `notFound`, or `finished` when it already completed, failed or was cancelled.
    public func cancel(_ id: UUID, reason: String = "Cancelled") async throws -> WorkflowExecution {
        let rows = try await client.query(
            """
            UPDATE workflow_executions SET status = 'cancelled', error = \(reason.storable()), completed_at = now(), updated_at = now()
            WHERE id = \(id) AND status IN ('pending', 'running')
            RETURNING id
            """, logger: logger)
        var cancelled = false
        for try await _ in rows { cancelled = true }
        guard let execution = try await find(id) else { throw WorkflowExecutionError.notFound(id) }
        if !cancelled { throw WorkflowExecutionError.finished(id, execution.status) }
        return execution
    }

    /// Whether the execution was cancelled (the leader asks between steps).
    public func isCancelled(_ id: UUID) async throws -> Bool {
        let rows = try await client.query("SELECT status FROM workflow_executions WHERE id = \(id)", logger: logger)
        for try await status in rows.decode(String.self) { return status == WorkflowExecutionStatus.cancelled.rawValue }
        throw WorkflowExecutionError.notFound(id)
    }
}
