import Foundation
import Hummingbird
import ScutumCore
import ScutumStore
import ScutumWorkflows

/// `/api/v1/workflows`: workflow definitions. A graph is checked before it is saved (unknown node
/// types, dangling edges, unbounded cycles... each a 422 at its place under
/// `body.graph_definition`); `template_type` alone creates a built-in (`GET /workflows/templates`).
/// `{id}` is a workflow's id or its name.
struct WorkflowRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/workflows") { _, _ in
            AdminResponse.json(["workflows": .array(try await services.workflows.list().map(Self.json))])
        }
        group.get("/workflows/templates") { _, _ in
            AdminResponse.json(["templates": .array(WorkflowTemplates.all.map(\.json))])
        }
        group.post("/workflows") { request, context in try await create(request, context) }
        group.get("/workflows/{id}") { _, context in AdminResponse.json(Self.json(try await find(context))) }
        group.put("/workflows/{id}") { request, context in try await update(request, context) }
        group.delete("/workflows/{id}") { _, context in
            let principal = try context.requirePrincipal()
            let workflow = try await find(context)
            _ = try await services.workflows.delete(workflow.id)
            try await services.audit(principal, "workflow.delete", targetType: "workflow",
                targetID: workflow.id.wire, details: ["name": .string(workflow.name)])
            return AdminResponse.json(["deleted": .string(workflow.id.wire)])
        }
    }

    static let workflowNotFound = AdminError.notFound("Workflow not found")

    func create(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let name = fields.required("name", fields.string("name", nullable: false, nonEmpty: true, maxLength: 200))
        let description = fields.string("description", maxLength: 10_000).value
        let templateType = fields.string("template_type", nonEmpty: true, maxLength: 100).value
        let builtin = templateType.flatMap(WorkflowTemplates.named)
        var graph = fields.object("graph_definition").value
        var inputSchema = fields.object("input_schema").value
        if (fields.object["graph_definition"] ?? .null).isNull {
            if let builtin {
                graph = builtin.graph
                inputSchema = inputSchema ?? builtin.inputSchema
            } else if let templateType {
                let choices = WorkflowTemplates.all.map { "'\($0.templateType)'" }.joined(separator: ", ")
                fields.fail("template_type", "Unknown template '\(templateType)'; expected one of \(choices), or give a graph_definition",
                    type: "literal_error")
            } else {
                fields.fail("graph_definition", "Field required (or give a template_type to start from a built-in)",
                    type: "missing")
            }
        }
        let isActive = fields.bool("is_active", nullable: false).value ?? true
        if let graph { Self.validate(graph: graph, into: &fields) }
        try fields.finish()
        guard let name, let graph else { throw AdminError.invalid(["body"], "Invalid workflow") }
        if try await services.workflows.find(name: name) != nil {
            throw AdminError.conflict("A workflow named '\(name)' already exists")
        }
        let created = try await services.workflows.create(WorkflowDefinition(name: name, description: description,
            templateType: templateType, graph: graph, inputSchema: inputSchema, isActive: isActive,
            createdBy: principal.subject))
        try await services.audit(principal, "workflow.create", targetType: "workflow",
            targetID: created.id.wire, details: ["name": .string(name), "template_type": .optional(templateType)])
        return AdminResponse.json(Self.json(created))
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var workflow = try await find(context)
        var fields = try await services.body(request)
        if let name = fields.string("name", nullable: false, nonEmpty: true, maxLength: 200).value { workflow.name = name }
        workflow.description = fields.string("description", maxLength: 10_000).applied(to: workflow.description)
        workflow.templateType = fields.string("template_type", nonEmpty: true, maxLength: 100).applied(to: workflow.templateType)
        if let graph = fields.object("graph_definition").value {
            workflow.graph = graph
            Self.validate(graph: graph, into: &fields)
        }
        workflow.inputSchema = fields.object("input_schema").applied(to: workflow.inputSchema)
        if let active = fields.bool("is_active", nullable: false).value { workflow.isActive = active }
        try fields.finish()
        if let other = try await services.workflows.find(name: workflow.name), other.id != workflow.id {
            throw AdminError.conflict("A workflow named '\(workflow.name)' already exists")
        }
        guard let updated = try await services.workflows.update(workflow) else { throw Self.workflowNotFound }
        try await services.audit(principal, "workflow.update", targetType: "workflow",
            targetID: workflow.id.wire, details: ["fields": .strings(fields.object.keys.sorted())])
        return AdminResponse.json(Self.json(updated))
    }

    /// Records the graph's problems at `body.graph_definition...`.
    static func validate(graph: JSONValue, into fields: inout BodyFields) {
        for problem in WorkflowGraph.problems(in: graph) {
            fields.fail("graph_definition", problem.message, type: problem.type, path: problem.path)
        }
    }

    /// The workflow `{id}` names, by id or by name.
    func find(_ context: AdminRequestContext) async throws -> WorkflowDefinition {
        guard let workflow = try await services.workflow(named: try PathParameter.string(context, "id")) else {
            throw Self.workflowNotFound
        }
        return workflow
    }

    static func json(_ workflow: WorkflowDefinition) -> JSONValue {
        [
            "id": .string(workflow.id.wire), "name": .string(workflow.name),
            "description": .optional(workflow.description), "template_type": .optional(workflow.templateType),
            "graph_definition": workflow.graph, "input_schema": workflow.inputSchema ?? .null,
            "is_active": .bool(workflow.isActive), "created_by": .optional(workflow.createdBy),
            "created_at": .optional(workflow.createdAt), "updated_at": .optional(workflow.updatedAt),
        ]
    }
}

extension AdminServices {
    /// A workflow by id (a UUID) or else by name.
    func workflow(named text: String) async throws -> WorkflowDefinition? {
        if let id = UUID(uuidString: text), let workflow = try await workflows.find(id) { return workflow }
        return try await workflows.find(name: text)
    }
}
