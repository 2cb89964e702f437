import Foundation
import Hummingbird
import Logging
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumWorkflows

/// Everything the route handlers share: the stores over the node's PostgreSQL client, the node's
/// dependencies, the configuration, and the audit trail.
struct AdminServices: Sendable {
    let configuration: AdminConfiguration
    let dependencies: AdminDependencies
    let logger: Logger
    let keys: KeyStore
    let teams: TeamStore
    let users: UserStore
    let budgets: BudgetStore
    let modelOverrides: ModelOverrideStore
    let settings: SettingsStore
    let auditLog: AuditLog
    let spendLogs: SpendLogStore
    let spendDeadLetters: SpendDeadLetterStore
    let guardrailConfigs: GuardrailConfigStore
    let guardrailAssignments: GuardrailAssignmentStore
    let guardrailEvents: GuardrailEventStore
    let mcpServers: MCPServerStore
    let workflows: WorkflowStore
    let workflowExecutions: WorkflowExecutionStore

    init(configuration: AdminConfiguration, dependencies: AdminDependencies, logger: Logger) {
        let client = dependencies.postgres
        self.configuration = configuration
        self.dependencies = dependencies
        self.logger = logger
        keys = KeyStore(client: client, logger: logger)
        teams = TeamStore(client: client, logger: logger)
        users = UserStore(client: client, logger: logger)
        budgets = BudgetStore(client: client, logger: logger)
        modelOverrides = ModelOverrideStore(client: client, logger: logger)
        settings = SettingsStore(client: client, logger: logger)
        auditLog = AuditLog(client: client, logger: logger)
        spendLogs = SpendLogStore(client: client, logger: logger)
        spendDeadLetters = SpendDeadLetterStore(client: client, logger: logger)
        guardrailConfigs = GuardrailConfigStore(client: client, logger: logger)
        guardrailAssignments = GuardrailAssignmentStore(client: client, logger: logger)
        guardrailEvents = GuardrailEventStore(client: client, logger: logger)
        mcpServers = MCPServerStore(client: client, logger: logger, secrets: dependencies.secrets)
        workflows = WorkflowStore(client: client, logger: logger)
        workflowExecutions = WorkflowExecutionStore(client: client, logger: logger)
    }

    /// Records a write in the audit log; `details` must never hold a secret.
    func audit(_ principal: AdminPrincipal, _ action: String, targetType: String, targetID: String?,
        details: JSONValue = [:]) async throws
    {
        try await auditLog.record(actor: principal.actor, action: action, targetType: targetType,
            targetID: targetID, details: details)
    }

    /// The request body as validated fields (413 over the limit, 422 if not a JSON object).
    func body(_ request: Request) async throws -> BodyFields {
        try await BodyFields.read(request, limit: configuration.maximumBodyBytes)
    }

    /// Budgets by subject, for listing keys and teams with their limits and spend.
    func budgetsBySubject() async throws -> [BudgetSubject: BudgetRecord] {
        var bySubject: [BudgetSubject: BudgetRecord] = [:]
        for budget in try await budgets.list() { bySubject[budget.subject] = budget }
        return bySubject
    }

    /// Whether a team with this id exists.
    func teamExists(_ teamID: String) async throws -> Bool {
        try await teams.find(teamID) != nil
    }
}
