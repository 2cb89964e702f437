import Foundation
import Logging
import PostgresNIO
import ScutumCore
import ScutumProxy
import ScutumStore
import ScutumWorkflows

extension GatewayNode {
    /// The leader's workflow runner: `llm` steps go through the proxy's completion pipeline as the
    /// key that queued the execution (its limits, budgets and allow-lists), `tool` steps to the
    /// registered MCP servers.
    static func workflowRunner(postgres: PostgresClient, keys: KeyStore, completions: InternalCompletions,
        configuration: NodeConfiguration, wakeUps: WakeUps, logger: Logger) -> WorkflowRunner<Principal>
    {
        let tools = MCPToolCaller(postgres: postgres, secrets: configuration.secrets, logger: logger)
        return WorkflowRunner<Principal>(executions: WorkflowExecutionStore(client: postgres, logger: logger),
            caller: { keyID in try await principal(keyID: keyID, keys: keys) },
            complete: { body, principal in
                let answer = try await completions.complete(body, as: principal)
                return .init(text: answer.text, usage: answer.usage, cost: answer.cost)
            },
            callTool: { server, tool, arguments in try await tools.call(server: server, tool: tool, arguments: arguments) },
            concurrency: configuration.workflowConcurrency, stepTimeout: configuration.workflowStepTimeout,
            wakeUps: wakeUps, logger: logger)
    }

    /// The caller an execution's `llm` steps run as: its virtual key (limits, budgets, allow-lists),
    /// or the master key when an operator queued it without one.
    static func principal(keyID: String?, keys: KeyStore) async throws -> Principal {
        guard let keyID else { return .master }
        guard let uuid = UUID(uuidString: keyID), let record = try await keys.find(id: uuid) else {
            throw WorkflowRunError("the API key that queued this execution no longer exists")
        }
        guard !record.blocked else { throw WorkflowRunError("the API key that queued this execution is blocked") }
        return .key(authenticatedKey(record))
    }
}
