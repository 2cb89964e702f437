import Foundation
import PostgresNIO
import ScutumStore
import ScutumTestSupport
import Synchronization
import Testing

/// Chat requests through a gateway from a few workers, plain and streamed, while something happens
/// beside them (a Redis failover, a slot migration), then the books: every request answered 200 and
/// each with exactly one spend row.
struct SteadyLoad {
    /// Set once by the disruption, read by the workers.
    final class Flag: Sendable {
        private let state = Mutex(false)
        var isSet: Bool { state.withLock { $0 } }
        func set() { state.withLock { $0 = true } }
    }

    let gateway: Gateway
    let key: String
    let label: String

    /// A key whose limits the load never reaches, on a gateway whose global limit is off: the load is
    /// about the books, and a disruption that lasts longer must not turn into 429s.
    static func prepare(_ gateway: Gateway, label: String) async throws -> (load: SteadyLoad, keyID: String) {
        let (key, record) = try await gateway.keys.create(alias: label,
            settings: KeySettings(rpmLimit: 10_000_000, tpmLimit: 2_000_000_000))
        let settings = SettingsStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
        var value = try await settings.load()
        if case .object(var fields) = value { fields["global_rate_limit"] = 0; value = .object(fields) }
        try await settings.save(value)
        _ = try await eventually { gateway.node.platform.current.globalRateLimit == 0 ? true : nil }
        return (SteadyLoad(gateway: gateway, key: key, label: label), record.keyID)
    }

    /// Runs `workers` request loops while `disruption` runs, and `tail` more requests each after it
    /// ended; the request ids answered 200 (nothing else is expected).
    func run(workers: Int = 4, tail: Int = 20, during disruption: @escaping @Sendable () async throws -> Void)
        async throws -> [String]
    {
        let served = HotPathTests.Served()
        let over = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<workers {
                group.addTask { [gateway, key, label] in
                    var index = 0
                    var after = 0
                    while after < tail {
                        index += 1
                        if over.isSet { after += 1 }
                        let result = try await gateway.request("/v1/chat/completions", key: key,
                            body: Gateway.chat("\(label) \(worker)-\(index)", stream: (worker + index) % 3 == 0))
                        if result.status == 200, let id = result.header("x-request-id") {
                            served.ids.withLock { $0.append(id) }
                        } else {
                            served.failures.withLock { $0.append(result.status) }
                        }
                    }
                }
            }
            group.addTask {
                defer { over.set() }
                try await disruption()
            }
            try await group.waitForAll()
        }
        let failures = served.failures.withLock { $0 }
        #expect(failures.isEmpty, "\(failures.count) failed, statuses \(Set(failures))")
        return served.ids.withLock { $0 }
    }

    /// Every id in `ids` has exactly one spend row of key `keyID`, and there is no other.
    func expectOneSpendRowEach(_ ids: [String], keyID: String) async throws {
        let client = gateway.node.postgres
        let rows = try await eventually(timeout: .seconds(30)) { () async throws -> Int? in
            let (count, _) = try await PlatformTests.count(client,
                "SELECT count(*)::int8, 0::float8 FROM spend_logs WHERE key_id = \(keyID) AND status = 200")
            return count >= ids.count ? count : nil
        }
        #expect(rows == ids.count, "every request served has its spend row")
        let stored = try await client.query(
            "SELECT request_id FROM spend_logs WHERE key_id = \(keyID)", logger: TestEnvironment.logger)
        var found: [String] = []
        for try await id in stored.decode(String.self) { found.append(id) }
        #expect(found.count == Set(found).count, "no request has two rows")
        let missing = Set(ids).subtracting(found), extra = Set(found).subtracting(ids)
        #expect(missing.isEmpty && extra.isEmpty,
            "\(found.count) rows for \(ids.count) requests: \(missing.count) missing, \(extra.count) unexpected")
    }
}
