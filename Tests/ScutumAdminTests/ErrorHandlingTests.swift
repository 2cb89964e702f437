import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

@Suite("Admin API: errors")
struct ErrorHandlingTests {
    @Test("413 for a 2 MB body, 422 for malformed JSON or a non-object body, 404 for unknown routes")
    func requestErrors() async throws {
        try await AdminFixture.withAPI { api, _ in
            let big = ByteBuffer(string: #"{"key_alias": ""# + String(repeating: "x", count: 2 * 1024 * 1024) + #""}"#)
            expectError(try await api.call(.post, "/api/v1/keys/generate", raw: big), .contentTooLarge,
                "Request body too large")
            expectError(try await api.call(.post, "/auth/login", raw: big, as: .some(nil)), .contentTooLarge,
                "Request body too large")
            #expect(try await api.ok(.get, "/api/v1/keys")["keys"] == [])

            let malformed = try await api.call(.post, "/api/v1/teams", raw: ByteBuffer(string: #"{"team_alias": "#))
            expectValidationError(malformed, at: "body.15")
            #expect(malformed.json["detail"]?.arrayValue?.first?["msg"] == "JSON decode error")
            #expect(malformed.json["detail"]?.arrayValue?.first?["type"] == "json_invalid")
            expectValidationError(try await api.call(.post, "/api/v1/teams", ["a", "b"]), at: "body")
            expectValidationError(try await api.call(.post, "/auth/login", raw: ByteBuffer(string: "nope"), as: .some(nil)),
                at: "body.0")

            expectError(try await api.call(.get, "/api/v1/nothing-here"), .notFound, "Not Found")
            expectError(try await api.call(.get, "/nothing", as: .some(nil)), .notFound, "Not Found")
            expectError(try await api.call(.get, "/api/v1/unknown", as: .some(nil)), .notFound, "Not Found")
            #expect(try await api.call(.get, "/health", as: .some(nil)).json == ["status": "ok"])
        }
    }

    @Test("PostgreSQL unreachable: 503 with a clear detail; login with the master key still works")
    func databaseDown() async throws {
        let configuration = try DatabaseConfiguration(url: TestEnvironment.databaseURL)
        let client = PostgresClient(configuration: configuration.clientConfiguration,
            backgroundLogger: TestEnvironment.poolLogger)
        // A client whose pool has shut down fails every query, as one cut off from the database does.
        let running = Task { await client.run() }
        try await client.query("SELECT 1", logger: TestEnvironment.logger)
        running.cancel()
        _ = await running.result

        try await AdminFixture.application(client).test(.router) { testClient in
            var api = AdminAPI(client: testClient, token: nil)
            let login = try await api.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey)])
            #expect(login.status == .ok)
            api.token = login.json["access_token"]?.stringValue
            for (method, path, body) in [(HTTPRequest.Method.get, "/api/v1/keys", JSONValue?.none),
                (.post, "/api/v1/teams", ["team_alias": "x"]), (.get, "/api/v1/settings", nil)]
            {
                expectError(try await api.call(method, path, body), .serviceUnavailable,
                    "The database is unavailable; retry shortly.")
            }
            // An admin key's login needs the database (a token that cannot be a key does not).
            expectError(try await api.call(.post, "/auth/login", ["api_key": .string(APIKey.generate())], as: .some(nil)),
                .serviceUnavailable, "The database is unavailable; retry shortly.")
        }
    }

    @Test("ISO-8601 parsing: Z, offsets, fractional seconds, plain dates")
    func isoTimes() throws {
        let base = try #require(ISOTime.parse("2025-01-31T12:00:00Z"))
        #expect(!base.dateOnly)
        #expect(ISOTime.parse("2025-01-31T14:00:00+02:00")?.date == base.date)
        #expect(ISOTime.parse("2025-01-31T12:00:00.000Z")?.date == base.date)
        let day = try #require(ISOTime.parse("2025-01-31"))
        #expect(day.dateOnly && day.date.addingTimeInterval(12 * 3600) == base.date)
        #expect(ISOTime.parse("31/01/2025") == nil)
        #expect(ISOTime.format(base.date) == "2025-01-31T12:00:00.000Z")
    }
}
