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
    /// A NUL in a key, in a value, and deep inside.
    static let hostile: JSONValue = [
        "question\u{0}": .string("what\u{0}is"), "list": .array([.string("\u{0}"), ["deep\u{0}": .string("x\u{0}")]]),
        "n": .int(1),
    ]
    static let cleaned: JSONValue = [
        "question": .string("whatis"), "list": .array([.string(""), ["deep": .string("x")]]), "n": .int(1),
    ]

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

    @Test("workflow executions: NUL in the input, identifiers, step input and output, errors is stored cleaned")
    func workflowExecutions() async throws {
        try await WorkflowFixture.with { fixture in
            let queued = try await fixture.executions.create(workflow: fixture.workflow, input: Self.hostile,
                keyID: "key\u{0}", teamID: "team\u{0}", createdBy: "me\u{0}")
            #expect(queued.input == Self.cleaned)
            #expect(queued.keyID == "key" && queued.teamID == "team" && queued.createdBy == "me")
            let fence = try await fixture.leader()
            _ = try await fixture.executions.claim(fence: fence, limit: 1)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "plan", order: 0,
                input: Self.hostile)
            try await fixture.executions.completeStep(fence: fence, execution: queued.id, order: 0,
                output: .string("answer\u{0}"), durationMS: 1)
            try await fixture.executions.startStep(fence: fence, execution: queued.id, node: "research", order: 1,
                input: [:])
            try await fixture.executions.failStep(fence: fence, execution: queued.id, order: 1, error: "bad\u{0}",
                durationMS: 1)
            #expect(try await fixture.executions.finish(fence: fence, execution: queued.id, status: .failed,
                output: Self.hostile, error: "failed\u{0}"))
            let stored = try #require(try await fixture.executions.find(queued.id))
            #expect(stored.output == Self.cleaned && stored.error == "failed")
            #expect(stored.steps.map(\.input) == [Self.cleaned, [:]])
            #expect(stored.steps.map(\.output) == [.string("answer"), nil])
            #expect(stored.steps.map(\.error) == [nil, "bad"])
        }
    }

    @Test("spend dead letters: kept once per request id, with PostgreSQL's error and the record's JSON, NUL removed")
    func deadLetters() async throws {
        try await withMigratedDatabase { client, _ in
            let store = SpendDeadLetterStore(client: client, logger: TestEnvironment.logger)
            let record = SpendRecord(requestID: "req\u{0}", at: Date(), keyID: nil, keyAlias: "a\u{0}", teamID: nil,
                userID: nil, modelRequested: "m\u{0}", modelServed: nil, provider: nil, promptTokens: 1,
                completionTokens: 1, cachedTokens: 0, cost: 0.1, latencyMilliseconds: 1, status: 200, stream: false)
            struct Refusal: Error {}
            #expect(try await store.keep(record, refusedWith: Refusal()))
            #expect(try await store.keep(record, refusedWith: Refusal()) == false)
            let letters = try await store.list()
            #expect(letters.map(\.requestID) == ["req"])
            let json = try #require(letters.first.flatMap { try? JSONParser.parse(Array($0.record.utf8)) })
            #expect(json["model_requested"] == .string("m") && json["key_alias"] == .string("a"))
            #expect(letters.first?.error.contains("Refusal") == true)
        }
    }
}
