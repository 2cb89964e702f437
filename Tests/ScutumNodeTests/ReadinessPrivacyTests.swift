import ScutumStore
import Testing

import ScutumProxy

@Suite("Readiness names no internal address")
struct ReadinessPrivacyTests {
    @Test("PostgreSQL and Redis down: the checks say what is down, never where it lives")
    func noAddresses() async throws {
        let nowhere = DatabaseConfiguration(host: "127.0.0.1", port: 9, username: "nobody", password: "x", database: "none")
        try await Gateway.with(variables: ["SCUTUM_MIGRATE_ON_START": "false", "SCUTUM_BACKEND_TIMEOUT_SECONDS": "1"],
            redisURL: "redis://127.0.0.1:9/0", database: nowhere)
        { gateway in
            let ready = try await gateway.request("/health/readiness", method: .GET, key: nil)
            #expect(ready.status == 503)
            let checks = try #require(try ready.json["checks"] as? [String: String])
            #expect(checks["postgres"] != "ok" && checks["redis"] != "ok", "\(checks)")
            for text in ["127.0.0.1", ":9", "redis://", "postgres://", "nobody", "localhost"] {
                #expect(!ready.body.contains(text), "readiness shows '\(text)': \(ready.body)")
            }
        }
    }

    @Test("a failed check reports 'unavailable', a slow one its deadline")
    func messages() async throws {
        struct Down: Error, CustomStringConvertible { var description: String { "connect to 10.0.0.7:5432 refused" } }
        let probe = ReadinessProbe(checks: [
            .init(name: "postgres") { throw Down() },
            .init(name: "redis", required: false) { try await Task.sleep(for: .seconds(5)) },
        ], timeout: .milliseconds(200))
        let report = await probe.report()
        #expect(report.results.map(\.error) == ["unavailable", "no answer within 0.2 seconds"])
    }
}
