import Foundation
import Logging
import PostgresNIO
import ScutumCore
import ScutumStore

/// A saved workflow: a graph of nodes (`WorkflowGraph` checks it before it is saved) and the
/// schema of the input its executions take.
public struct WorkflowDefinition: Sendable, Equatable {
    public var id: UUID
    public var name: String
    public var description: String?
    /// The built-in it came from (`research`, `coding`, `data_analysis`), or a label of the operator's.
    public var templateType: String?
    /// `graph_definition`, as `WorkflowGraph(parsing:)` reads it.
    public var graph: JSONValue
    public var inputSchema: JSONValue?
    /// Inactive workflows keep their history but cannot be executed.
    public var isActive: Bool
    public var createdBy: String?
    public var createdAt: Date?
    public var updatedAt: Date?

    public init(id: UUID = UUID(), name: String, description: String? = nil, templateType: String? = nil,
        graph: JSONValue, inputSchema: JSONValue? = nil, isActive: Bool = true, createdBy: String? = nil,
        createdAt: Date? = nil, updatedAt: Date? = nil)
    {
        self.id = id
        self.name = name
        self.description = description
        self.templateType = templateType
        self.graph = graph
        self.inputSchema = inputSchema
        self.isActive = isActive
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// The `workflows` table.
public struct WorkflowStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    static let columns = """
        id, name, description, template_type, graph_definition::text, input_schema::text, is_active, created_by,
        created_at, updated_at
        """

    static func records(_ rows: PostgresRowSequence) async throws -> [WorkflowDefinition] {
        var workflows: [WorkflowDefinition] = []
        for try await (id, name, description, template, graph, schema, active, creator, created, updated) in rows.decode(
            (UUID, String, String?, String?, String, String?, Bool, String?, Date, Date).self)
        {
            workflows.append(WorkflowDefinition(id: id, name: name, description: description, templateType: template,
                graph: JSONValue.parsed(graph) ?? [:], inputSchema: schema.flatMap(JSONValue.parsed), isActive: active,
                createdBy: creator, createdAt: created, updatedAt: updated))
        }
        return workflows
    }

    /// Every workflow, by name.
    public func list() async throws -> [WorkflowDefinition] {
        try await Self.records(client.query("SELECT \(unescaped: Self.columns) FROM workflows ORDER BY name", logger: logger))
    }

    public func find(_ id: UUID) async throws -> WorkflowDefinition? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM workflows WHERE id = \(id)", logger: logger)).first
    }

    public func find(name: String) async throws -> WorkflowDefinition? {
        try await Self.records(client.query(
            "SELECT \(unescaped: Self.columns) FROM workflows WHERE name = \(name)", logger: logger)).first
    }

    /// Saves a new workflow; a taken name fails with PostgreSQL's unique violation (23505).
    public func create(_ workflow: WorkflowDefinition) async throws -> WorkflowDefinition {
        let rows = try await client.query(
            """
            INSERT INTO workflows (id, name, description, template_type, graph_definition, input_schema, is_active, created_by)
            VALUES (\(workflow.id), \(workflow.name), \(workflow.description), \(workflow.templateType),
                \(workflow.graph.jsonString)::jsonb, \(workflow.inputSchema?.jsonString)::jsonb, \(workflow.isActive),
                \(workflow.createdBy))
            RETURNING \(unescaped: Self.columns)
            """, logger: logger)
        guard let created = try await Self.records(rows).first else { throw StoreError.noRowReturned("INSERT INTO workflows") }
        return created
    }

    /// Replaces a workflow's fields; nil when there is no such workflow.
    public func update(_ workflow: WorkflowDefinition) async throws -> WorkflowDefinition? {
        try await Self.records(client.query(
            """
            UPDATE workflows SET name = \(workflow.name), description = \(workflow.description),
                template_type = \(workflow.templateType), graph_definition = \(workflow.graph.jsonString)::jsonb,
                input_schema = \(workflow.inputSchema?.jsonString)::jsonb, is_active = \(workflow.isActive), updated_at = now()
            WHERE id = \(workflow.id) RETURNING \(unescaped: Self.columns)
            """, logger: logger)).first
    }

    /// Deletes a workflow; its executions stay (their `workflow_id` becomes null).
    public func delete(_ id: UUID) async throws -> Bool {
        let rows = try await client.query("DELETE FROM workflows WHERE id = \(id) RETURNING id", logger: logger)
        for try await _ in rows { return true }
        return false
    }
}

extension JSONValue {
    /// JSON text from a column, parsed; nil if it does not parse.
    static func parsed(_ text: String) -> JSONValue? {
        try? JSONParser.parse(Array(text.utf8))
    }
}
