import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Testing

@Suite("Workflow execution notifications")
struct ExecutionNotifyTests {
    @Test("a claim that changes no execution notifies nobody; queueing or a status change does, once per statement")
    func quietClaims() async throws {
        try await withMigratedDatabase { client, _ in
            let logger = TestEnvironment.logger
            let payloads: [String] = try await client.withConnection { listener in
                try await listener.listen(on: "scutum_invalidate") { notifications in
                    // What an idle leader's claim does: an UPDATE of status that matches nothing.
                    try await client.query("UPDATE workflow_executions SET status = 'running' WHERE status = 'pending'",
                        logger: logger)
                    try await client.query(
                        "INSERT INTO workflow_executions (workflow_name, graph_definition) VALUES ('a', '{}'), ('b', '{}')",
                        logger: logger)
                    try await client.query("UPDATE workflow_executions SET status = 'running' WHERE status = 'pending'",
                        logger: logger)
                    // A checkpoint that leaves status alone stays quiet.
                    try await client.query("UPDATE workflow_executions SET current_node = 'x'", logger: logger)
                    try await client.query("SELECT pg_notify('scutum_invalidate', 'END')", logger: logger)
                    var payloads: [String] = []
                    for try await notification in notifications {
                        if notification.payload == "END" { break }
                        payloads.append(notification.payload)
                    }
                    return payloads
                }
            }
            // The insert and the status change; the empty claim and the checkpoint sent nothing.
            #expect(payloads == [#"{"kind" : "workflow_execution"}"#, #"{"kind" : "workflow_execution"}"#], "\(payloads)")
        }
    }
}
