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

    @Test("the durable buffer's compact form leaves out what holds its default and reads back the same record")
    func compact() throws {
        let plain = Self.record
        let compact = plain.compactJSON.jsonString
        for name in ["cache_write_tokens", "reasoning_tokens", "cost_parts", "deployment_id", "cache_hit", "saved_cost"] {
            #expect(!compact.contains("\"\(name)\""), "\(name)")
        }
        #expect(compact.count < plain.json.jsonString.count)
        #expect(SpendRecord(json: try JSONParser.parse(Array(compact.utf8))) == plain)
        var full = Self.record
        full.cacheWriteTokens = 7
        full.reasoningTokens = 9
        full.costParts = SpendRecord.CostParts(input: 0.1, output: 0.125, cacheRead: 0.0125, cacheWrite: 0.0125)
        full.deploymentID = "gpt-test-2#eu"
        full.cacheHit = true
        full.savedCost = 0.5
        #expect(SpendRecord(json: try JSONParser.parse(Array(full.compactJSON.jsonString.utf8))) == full)
    }

    @Test("every front door's name is distinct, and the request paths are the routes' own")
    func frontDoors() {
        #expect(Set(FrontDoor.all).count == FrontDoor.all.count)
        #expect(FrontDoor.all == ["/v1/chat/completions", "/v1/embeddings", "/v1/messages", "/v1/responses", "workflow"])
    }

    enum SpendRecordJSONError: Error { case notAnObject }
}
