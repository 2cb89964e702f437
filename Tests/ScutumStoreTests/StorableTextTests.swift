import Foundation
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// Client text with NUL (which PostgreSQL's `text` refuses, and `jsonb` as `\u0000`) reaches every
/// writer as storable text: the row is written, NUL removed, identifiers bounded.
@Suite("Storable text")
struct StorableTextTests {
    static let hostile = StorableTextFixtures.hostile
    static let cleaned = StorableTextFixtures.cleaned

    @Test("the helper: NUL removed, cut by Unicode scalars, clean text untouched; JSON keys and values cleaned")
    func helper() {
        #expect("a\u{0}b".storable() == "ab")
        #expect("clean".storable(limit: 10) == "clean")
        // 300 flags are 600 scalars: cut at 256 scalars, as PostgreSQL counts characters.
        let flags = String(repeating: "\u{1F1EB}\u{1F1F7}", count: 300)
        #expect(flags.storableIdentifier.unicodeScalars.count == String.storableIdentifierLimit)
        #expect(Self.hostile.storable == Self.cleaned)
        #expect(Self.cleaned.storable == Self.cleaned)
    }

    @Test("audit log: NUL in actor, target and details (keys and values) is stored cleaned")
    func auditLog() async throws {
        try await withMigratedDatabase { client, _ in
            let log = AuditLog(client: client, logger: TestEnvironment.logger)
            try await log.record(actor: "ad\u{0}min", action: "create", targetType: "team",
                targetID: "team\u{0}" + String(repeating: "t", count: 1_000), details: Self.hostile)
            let entry = try #require(try await log.recent().first)
            #expect(entry["actor"] == .string("admin"))
            #expect(entry["target_id"]?.stringValue?.count == String.storableIdentifierLimit)
            #expect(entry["details"] == Self.cleaned)
        }
    }

    @Test("guardrail events: NUL in request id, model, scanner and rule is stored cleaned; long rules fit their check")
    func guardrailEvents() async throws {
        try await withMigratedDatabase { client, _ in
            let events = GuardrailEventStore(client: client, logger: TestEnvironment.logger)
            // 200 flags are 400 scalars: over the column's 200-character check unless cut by scalars.
            let rule = String(repeating: "\u{1F1EB}\u{1F1F7}", count: 200)
            try await events.record([GuardrailEvent(requestID: "req\u{0}-1", keyID: "key\u{0}", teamID: "team\u{0}",
                configName: "cfg\u{0}", eventType: .flagged, scanner: "pii\u{0}", rule: rule, model: "gpt\u{0}",
                action: .log, counts: ["EMAIL\u{0}": 1])])
            let event = try #require(try await events.list().first)
            #expect(event.requestID == "req-1")
            #expect(event.keyID == "key" && event.teamID == "team" && event.configName == "cfg")
            #expect(event.scanner == "pii" && event.model == "gpt")
            #expect(event.rule?.unicodeScalars.count == 200)
            #expect(event.counts == ["EMAIL": 1])
        }
    }

    @Test("spend dead letters: kept once per request id, with PostgreSQL's error and the record's JSON, NUL removed")
    func deadLetters() async throws {
        try await withMigratedDatabase { client, _ in
            let store = SpendDeadLetterStore(client: client, logger: TestEnvironment.logger)
            let record = SpendRecord(requestID: "req\u{0}", at: Date(), keyID: nil, keyAlias: "a\u{0}", teamID: nil,
                userID: nil, modelRequested: "m\u{0}", modelServed: nil, provider: nil, promptTokens: 1,
                completionTokens: 1, cachedTokens: 0, cost: 0.1, latencyMilliseconds: 1, status: 200, stream: false,
                endpoint: FrontDoor.messages)
            struct Refusal: Error {}
            #expect(try await store.keep(record, refusedWith: Refusal()))
            #expect(try await store.keep(record, refusedWith: Refusal()) == false)
            let letters = try await store.list()
            #expect(letters.map(\.requestID) == ["req"])
            let json = try #require(letters.first.flatMap { try? JSONParser.parse(Array($0.record.utf8)) })
            #expect(json["model_requested"] == .string("m") && json["key_alias"] == .string("a"))
            #expect(json["endpoint"] == .string("/v1/messages"))
            #expect(letters.first?.error.contains("Refusal") == true)
        }
    }
}
