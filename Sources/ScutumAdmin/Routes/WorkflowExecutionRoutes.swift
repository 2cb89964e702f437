import Foundation
import Hummingbird
import ScutumCore
import ScutumStore
import ScutumWorkflows

/// `/api/v1/workflow-executions`: queue a workflow run (the leader node runs it), follow it, cancel it.
///
/// `POST` answers at once with the `pending` execution; with `?wait=true` it waits (up to
/// `timeout` seconds, default 60, at most 120) until the execution completes, fails or is
/// cancelled, and answers with the execution as it is then. The execution counts against the
/// caller's virtual key and team when the caller logged in with an admin key.
struct WorkflowExecutionRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.post("/workflow-executions") { request, context in try await create(request, context) }
        group.get("/workflow-executions") { request, _ in try await list(request) }
        group.get("/workflow-executions/{id}") { _, context in
            AdminResponse.json(Self.json(try await find(context), steps: true))
        }
        group.post("/workflow-executions/{id}/cancel") { _, context in
            let principal = try context.requirePrincipal()
            let id = try PathParameter.uuid(context, "id")
            let cancelled: WorkflowExecution
            do {
                cancelled = try await services.workflowExecutions.cancel(id, reason: "Cancelled by \(principal.subject)")
            } catch WorkflowExecutionError.notFound {
                throw Self.executionNotFound
            } catch WorkflowExecutionError.finished(_, let status) {
                throw AdminError.conflict("Workflow execution already \(status.rawValue)")
            }
            try await services.audit(principal, "workflow_execution.cancel", targetType: "workflow_execution",
                targetID: id.wire)
            return AdminResponse.json(Self.json(cancelled, steps: true))
        }
    }

    static let executionNotFound = AdminError.notFound("Workflow execution not found")
    static let defaultWait: Double = 60
    static let maximumWait: Double = 120
    static let pollInterval: Duration = .milliseconds(150)

    func create(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let wait = try Self.waitTime(request)
        var fields = try await services.body(request)
        let reference = fields.string("workflow_id", nullable: false, nonEmpty: true, maxLength: 200).value
            ?? fields.string("workflow_name", nullable: false, nonEmpty: true, maxLength: 200).value
        if reference == nil, fields.errors.isEmpty { fields.fail("workflow_id", "Field required", type: "missing") }
        let input = fields.object["input_data"].flatMap { $0.isNull ? nil : $0 } ?? [:]
        try fields.finish()
        guard let reference, let workflow = try await services.workflow(named: reference) else {
            throw WorkflowRoutes.workflowNotFound
        }
        guard workflow.isActive else {
            throw AdminError.conflict("Workflow '\(workflow.name)' is inactive; set is_active to true to execute it")
        }
        let prepared = try Self.prepare(input, schema: workflow.inputSchema)
        let caller = try await callerKey(principal)
        var execution = try await services.workflowExecutions.create(workflow: workflow, input: prepared,
            keyID: caller.keyID, teamID: caller.teamID, createdBy: principal.subject)
        try await services.audit(principal, "workflow_execution.create", targetType: "workflow_execution",
            targetID: execution.id.wire, details: ["workflow": .string(workflow.name)])
        if let wait {
            execution = try await waitForEnd(of: execution, seconds: wait)
            return AdminResponse.json(Self.json(execution, steps: true))
        }
        return AdminResponse.json(Self.json(execution, steps: false))
    }

    /// `input` checked against the workflow's input schema, defaults filled in (422s at `body.input_data...`).
    static func prepare(_ input: JSONValue, schema: JSONValue?) throws(AdminError) -> JSONValue {
        guard let schema else { return input }
        do {
            return try WorkflowInputSchema.apply(schema, to: input)
        } catch {
            throw AdminError.validation(error.problems.map {
                FieldError(location: ["body", "input_data"] + $0.path, message: $0.message, type: $0.type)
            })
        }
    }

    /// `?wait=true[&timeout=seconds]`: how long to wait, or nil to answer at once.
    static func waitTime(_ request: Request) throws(AdminError) -> Double? {
        let query = request.uri.queryParameters
        guard let wait = query["wait"].map(String.init), ["true", "1", "yes"].contains(wait.lowercased()) else { return nil }
        guard let text = query["timeout"].map(String.init), !text.isEmpty else { return defaultWait }
        guard let seconds = Double(text), seconds > 0, seconds <= maximumWait else {
            throw AdminError.invalid(["query", "timeout"], "Input should be a number of seconds greater than 0 and at most 120",
                type: "value_error")
        }
        return seconds
    }

    /// Polls the execution until it reaches a final status or `seconds` pass.
    func waitForEnd(of execution: WorkflowExecution, seconds: Double) async throws -> WorkflowExecution {
        let clock = ContinuousClock()
        let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
        var current = execution
        repeat {
            try await Task.sleep(for: Self.pollInterval)
            guard let fresh = try await services.workflowExecutions.find(execution.id) else { throw Self.executionNotFound }
            current = fresh
        } while !current.status.isFinal && clock.now < deadline
        return current
    }

    /// The caller's virtual key and its team: known when the token came from an admin key, not for the master key.
    func callerKey(_ principal: AdminPrincipal) async throws -> (keyID: String?, teamID: String?) {
        guard let id = UUID(uuidString: principal.subject), let record = try await services.keys.find(id: id) else {
            return (nil, nil)
        }
        return (record.keyID, record.settings.teamID)
    }

    func list(_ request: Request) async throws -> Response {
        var query = QueryFields(request)
        let limit = query.limit(default: 50, maximum: 500)
        var status: WorkflowExecutionStatus?
        if let text = query.string("status") {
            status = WorkflowExecutionStatus(rawValue: text)
            if status == nil {
                let choices = WorkflowExecutionStatus.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
                throw AdminError.invalid(["query", "status"], "Input should be one of \(choices)", type: "literal_error")
            }
        }
        try query.finish()
        var workflowID: UUID?
        if let text = query.string("workflow_id") {
            if let id = UUID(uuidString: text) {
                workflowID = id
            } else if let workflow = try await services.workflows.find(name: text) {
                workflowID = workflow.id
            } else {
                return AdminResponse.json(["executions": []])
            }
        }
        let executions = try await services.workflowExecutions.list(status: status, workflowID: workflowID, limit: limit)
        return AdminResponse.json(["executions": .array(executions.map { Self.json($0, steps: false) })])
    }

    func find(_ context: AdminRequestContext) async throws -> WorkflowExecution {
        guard let execution = try await services.workflowExecutions.find(try PathParameter.uuid(context, "id")) else {
            throw Self.executionNotFound
        }
        return execution
    }

    static func json(_ execution: WorkflowExecution, steps: Bool) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(execution.id.wire),
            "workflow_id": .optional(execution.workflowID?.wire),
            "workflow_name": .string(execution.workflowName), "status": .string(execution.status.rawValue),
            "input_data": execution.input, "output_data": execution.output ?? .null, "error": .optional(execution.error),
            "key_id": .optional(execution.keyID), "team_id": .optional(execution.teamID),
            "created_by": .optional(execution.createdBy), "current_node": .optional(execution.currentNode),
            "total_input_tokens": .int(Int64(execution.totalInputTokens)),
            "total_output_tokens": .int(Int64(execution.totalOutputTokens)),
            "total_tokens": .int(Int64(execution.totalInputTokens + execution.totalOutputTokens)),
            "total_cost": .double(execution.totalCost), "created_at": .optional(execution.createdAt),
            "started_at": .optional(execution.startedAt), "completed_at": .optional(execution.completedAt),
            "updated_at": .optional(execution.updatedAt),
        ]
        if steps { fields["steps"] = .array(execution.steps.map(json)) }
        return .object(fields)
    }

    static func json(_ step: WorkflowStep) -> JSONValue {
        [
            "node_name": .string(step.nodeName), "step_order": .int(Int64(step.stepOrder)),
            "status": .string(step.status.rawValue), "input_data": step.input ?? .null, "output_data": step.output ?? .null,
            "input_tokens": .int(Int64(step.inputTokens)), "output_tokens": .int(Int64(step.outputTokens)),
            "cost": .double(step.cost), "duration_ms": .optional(step.durationMS), "error": .optional(step.error),
            "started_at": .optional(step.startedAt), "completed_at": .optional(step.completedAt),
        ]
    }
}
