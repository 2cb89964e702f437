import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore

/// Where an execution is: `pending` until the leader claims it, `running`, then `completed`,
/// `failed` or `cancelled`.
public enum WorkflowExecutionStatus: String, Sendable, CaseIterable {
    case pending, running, completed, failed, cancelled

    /// Completed, failed or cancelled: nothing changes any more.
    public var isFinal: Bool { self != .pending && self != .running }
}

/// Where a step is.
public enum WorkflowStepStatus: String, Sendable, CaseIterable {
    case running, completed, failed, skipped
}

/// One run of a node within an execution, a checkpoint once completed.
public struct WorkflowStep: Sendable, Equatable {
    public var id: UUID
    public var executionID: UUID
    public var nodeName: String
    /// 0, 1, 2... in the order the steps started.
    public var stepOrder: Int
    public var status: WorkflowStepStatus
    public var input: JSONValue?
    public var output: JSONValue?
    public var inputTokens: Int
    public var outputTokens: Int
    public var cost: Double
    public var durationMS: Int?
    public var error: String?
    public var startedAt: Date?
    public var completedAt: Date?

    static let columns = """
        id, execution_id, node_name, step_order, status, input_data::text, output_data::text, input_tokens,
        output_tokens, cost, duration_ms, error, started_at, completed_at
        """

    init(row: PostgresRow) throws {
        let columns = row.makeRandomAccess()
        id = try columns["id"].decode(UUID.self)
        executionID = try columns["execution_id"].decode(UUID.self)
        nodeName = try columns["node_name"].decode(String.self)
        stepOrder = try columns["step_order"].decode(Int.self)
        status = WorkflowStepStatus(rawValue: try columns["status"].decode(String.self)) ?? .failed
        input = try columns["input_data"].decode(String?.self).flatMap(JSONValue.parsed)
        output = try columns["output_data"].decode(String?.self).flatMap(JSONValue.parsed)
        inputTokens = try columns["input_tokens"].decode(Int.self)
        outputTokens = try columns["output_tokens"].decode(Int.self)
        cost = try columns["cost"].decode(Double.self)
        durationMS = try columns["duration_ms"].decode(Int?.self)
        error = try columns["error"].decode(String?.self)
        startedAt = try columns["started_at"].decode(Date?.self)
        completedAt = try columns["completed_at"].decode(Date?.self)
    }
}

/// One run of a workflow, with its totals over all steps.
public struct WorkflowExecution: Sendable, Equatable {
    public var id: UUID
    /// Nil once the workflow was deleted; `workflowName` stays.
    public var workflowID: UUID?
    public var workflowName: String
    public var status: WorkflowExecutionStatus
    public var input: JSONValue
    public var output: JSONValue?
    public var error: String?
    /// The virtual key whose budget and limits the execution's model calls count against, if known.
    public var keyID: String?
    public var teamID: String?
    /// The admin principal that queued it.
    public var createdBy: String?
    /// The leader node running it and the fencing token it claimed it under.
    public var claimedBy: String?
    public var fenceToken: Int64?
    /// The node of the latest step.
    public var currentNode: String?
    public var totalInputTokens: Int
    public var totalOutputTokens: Int
    public var totalCost: Double
    public var createdAt: Date?
    public var startedAt: Date?
    public var completedAt: Date?
    public var updatedAt: Date?
    /// Every step in order; empty unless loaded (`find`, `claim`).
    public var steps: [WorkflowStep] = []

    static let columns = """
        id, workflow_id, workflow_name, status, input_data::text, output_data::text, error, key_id, team_id,
        created_by, claimed_by, fence_token, current_node, total_input_tokens, total_output_tokens, total_cost,
        created_at, started_at, completed_at, updated_at
        """

    init(row: PostgresRow) throws {
        let columns = row.makeRandomAccess()
        id = try columns["id"].decode(UUID.self)
        workflowID = try columns["workflow_id"].decode(UUID?.self)
        workflowName = try columns["workflow_name"].decode(String.self)
        status = WorkflowExecutionStatus(rawValue: try columns["status"].decode(String.self)) ?? .failed
        input = JSONValue.parsed(try columns["input_data"].decode(String.self)) ?? [:]
        output = try columns["output_data"].decode(String?.self).flatMap(JSONValue.parsed)
        error = try columns["error"].decode(String?.self)
        keyID = try columns["key_id"].decode(String?.self)
        teamID = try columns["team_id"].decode(String?.self)
        createdBy = try columns["created_by"].decode(String?.self)
        claimedBy = try columns["claimed_by"].decode(String?.self)
        fenceToken = try columns["fence_token"].decode(Int64?.self)
        currentNode = try columns["current_node"].decode(String?.self)
        totalInputTokens = try columns["total_input_tokens"].decode(Int.self)
        totalOutputTokens = try columns["total_output_tokens"].decode(Int.self)
        totalCost = try columns["total_cost"].decode(Double.self)
        createdAt = try columns["created_at"].decode(Date?.self)
        startedAt = try columns["started_at"].decode(Date?.self)
        completedAt = try columns["completed_at"].decode(Date?.self)
        updatedAt = try columns["updated_at"].decode(Date?.self)
    }
}

/// An execution the leader claimed, with what it needs to run or resume it.
public struct ClaimedExecution: Sendable {
    /// The execution, `running`, with every step so far (a step the previous leader left
    /// `running` is marked `failed`, "interrupted").
    public var execution: WorkflowExecution
    /// The graph snapshot taken when the execution was queued.
    public var graphDefinition: JSONValue

    /// The graph to run; the snapshot was validated when it was saved.
    public func graph() throws(WorkflowValidationError) -> WorkflowGraph {
        try WorkflowGraph(parsing: graphDefinition)
    }

    /// The completed steps, in order: the checkpoints to resume from.
    public var completedSteps: [WorkflowStep] { execution.steps.filter { $0.status == .completed } }

    /// The node whose step completed last; nil when the execution starts from the entry point.
    public var lastCompletedNode: String? { completedSteps.last?.nodeName }

    /// The context rebuilt from the input and the completed steps' outputs.
    public var context: WorkflowContext {
        var context = WorkflowContext(input: execution.input)
        for step in completedSteps { context.record(node: step.nodeName, output: step.output ?? .null) }
        return context
    }

    /// How many times each node completed, for `WorkflowPlanner.next`.
    public var visits: [String: Int] { WorkflowPlanner.visits(completedSteps.map(\.nodeName)) }

    /// The `step_order` of the next step.
    public var nextStepOrder: Int { (execution.steps.map(\.stepOrder).max() ?? -1) + 1 }
}

/// Why an execution or step write was refused.
public enum WorkflowExecutionError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(UUID)
    /// The execution already reached a final status (a cancel, a step after a cancel).
    case finished(UUID, WorkflowExecutionStatus)
    /// The execution is not claimed under the caller's fencing token.
    case notClaimed(UUID)
    /// No running step with this order.
    case noRunningStep(UUID, order: Int)
    /// `finish` takes a final status only.
    case notFinal(WorkflowExecutionStatus)

    public var description: String {
        switch self {
        case .notFound(let id): "workflow execution \(id) not found"
        case .finished(let id, let status): "workflow execution \(id) is already \(status.rawValue)"
        case .notClaimed(let id): "workflow execution \(id) is not claimed under this fence"
        case .noRunningStep(let id, let order): "workflow execution \(id) has no running step \(order)"
        case .notFinal(let status): "'\(status.rawValue)' is not a final status"
        }
    }
}
