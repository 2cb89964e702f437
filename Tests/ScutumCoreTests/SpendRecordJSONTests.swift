import Foundation
import ScutumCore
import Testing

@Suite("Spend record JSON")
struct SpendRecordJSONTests {
    static let record = SpendRecord(requestID: "req-1", at: Date(timeIntervalSince1970: 1_700_000_000.5), keyID: "k",
        keyAlias: nil, teamID: "t", userID: nil, modelRequested: "gpt-test", modelServed: "gpt-test-2",
        provider: "openai", promptTokens: 12, completionTokens: 34, cachedTokens: 5, cost: 0.25,
        latencyMilliseconds: 80, status: 200, stream: true, endpoint: FrontDoor.messages)

    @Test("the endpoint goes into the JSON and reads back, through the text form the durable buffer keeps")
    func roundTrip() throws {
        #expect(Self.record.json["endpoint"] == .string("/v1/messages"))
        let text = Self.record.json.jsonString
        #expect(SpendRecord(json: try JSONParser.parse(Array(text.utf8))) == Self.record)
        var unknown = Self.record
        unknown.endpoint = nil
        #expect(unknown.json["endpoint"] == .null)
        #expect(SpendRecord(json: unknown.json) == unknown)
    }

    @Test("a record written before the endpoint existed (no \"endpoint\" member) reads with a nil endpoint")
    func olderRecord() throws {
        guard case .object(var fields) = Self.record.json else { throw SpendRecordJSONError.notAnObject }
        fields["endpoint"] = nil
        let older = try #require(SpendRecord(json: .object(fields)))
        #expect(older.endpoint == nil)
        var expected = Self.record
        expected.endpoint = nil
        #expect(older == expected)
        // A value of another type is not taken for a door either.
        fields["endpoint"] = .int(3)
        #expect(SpendRecord(json: .object(fields))?.endpoint == nil)
    }

    @Test("cache writes, reasoning tokens, cost parts and the deployment id read back; older JSON reads as unknown parts")
    func costParts() throws {
        var record = Self.record
        record.cacheWriteTokens = 7
        record.reasoningTokens = 9
        record.costParts = SpendRecord.CostParts(input: 0.1, output: 0.125, cacheRead: 0.0125, cacheWrite: 0.0125)
        record.deploymentID = "gpt-test-2#eu"
        let text = record.json.jsonString
        #expect(text.contains(#""cost_parts":{"cache_read":0.0125,"cache_write":0.0125,"input":0.1,"output":0.125}"#))
        #expect(SpendRecord(json: try JSONParser.parse(Array(text.utf8))) == record)
        guard case .object(var fields) = record.json else { throw SpendRecordJSONError.notAnObject }
        for name in ["cache_write_tokens", "reasoning_tokens", "cost_parts", "deployment_id"] { fields[name] = nil }
        let older = try #require(SpendRecord(json: .object(fields)))
        #expect(older.cacheWriteTokens == 0 && older.reasoningTokens == 0)
        #expect(older.costParts == nil && older.deploymentID == nil)
        #expect(older.cost == record.cost)
    }

    /// `record` as older nodes put it in the durable buffer: members at their defaults left out.
    static let compactText = #"{"at":1700000000.5,"cached_tokens":5,"completion_tokens":34,"cost":0.25,"#
        + #""endpoint":"/v1/messages","key_alias":null,"key_id":"k","latency_ms":80,"model_requested":"gpt-test","#
        + #""model_served":"gpt-test-2","prompt_tokens":12,"provider":"openai","request_id":"req-1","status":200,"#
        + #""stream":true,"team_id":"t","user_id":null}"#

    @Test("the compact JSON older nodes buffered reads back the same record, with or without the members they left out")
    func compact() throws {
        #expect(SpendRecord(json: try JSONParser.parse(Array(Self.compactText.utf8))) == Self.record)
        var full = Self.record
        full.cacheWriteTokens = 7
        full.reasoningTokens = 9
        full.costParts = SpendRecord.CostParts(input: 0.1, output: 0.125, cacheRead: 0.0125, cacheWrite: 0.0125)
        full.deploymentID = "gpt-test-2#eu"
        full.cacheHit = true
        full.savedCost = 0.5
        let text = String(Self.compactText.dropLast()) + #","cache_hit":true,"cache_write_tokens":7,"#
            + #""cost_parts":{"cache_read":0.0125,"cache_write":0.0125,"input":0.1,"output":0.125},"#
            + #""deployment_id":"gpt-test-2#eu","reasoning_tokens":9,"saved_cost":0.5}"#
        #expect(SpendRecord(json: try JSONParser.parse(Array(text.utf8))) == full)
    }

    @Test("every front door's name is distinct, and the request paths are the routes' own")
    func frontDoors() {
        #expect(Set(FrontDoor.all).count == FrontDoor.all.count)
        #expect(FrontDoor.all == ["/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/responses", "workflow"])
    }

    enum SpendRecordJSONError: Error { case notAnObject }
}
