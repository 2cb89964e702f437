import Foundation
import NIOHTTP1
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// `/v1/responses` to OpenAI and Azure deployments passes through to their own Responses API: the
/// caller's body with the whole conversation as `input` (the gateway keeps it; the provider is asked
/// to keep nothing), hosted tools included; the provider's response and events come back with the
/// gateway's ids.
@Suite("OpenAI Responses API passed through to OpenAI and Azure")
struct ResponsesNativeTests {
    static let search = #","tools":[{"type":"web_search_preview"}]"#

    static func sentBody(_ gateway: Gateway) throws -> [String: Any] {
        let sent = try #require(gateway.mockLog.last)
        return try #require(try JSONSerialization.jsonObject(with: Data(sent.bodyString().utf8)) as? [String: Any])
    }

    @Test("JSON: the caller's body to /v1/responses with store false and the deployment's model; a hosted tool runs; the response is the gateway's (its id, the caller's model), stored and billed")
    func passThrough() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "agents")
            let result = try await gateway.request("/v1/responses", key: key,
                body: ResponsesTests.body(model: "gpt-test", "Find the latest news", extra: Self.search
                    + #","instructions":"Be brief.","include":["web_search_call.action.sources"]"#))
            #expect(result.status == 200, "\(result.body)")
            let sent = try #require(gateway.mockLog.last)
            #expect(sent.uri.hasSuffix("/v1/responses"), "\(sent.uri)")
            let body = try Self.sentBody(gateway)
            #expect(body["model"] as? String == "gpt-upstream-id" && body["store"] as? Bool == false)
            #expect(body["instructions"] as? String == "Be brief." && body["include"] is [Any])
            #expect((body["tools"] as? [[String: Any]])?.first?["type"] as? String == "web_search_preview")
            let input = try #require(body["input"] as? [[String: Any]])
            #expect(input.count == 1 && input[0]["role"] as? String == "user" && input[0]["id"] == nil, "\(input)")

            let response = try result.json
            let id = try #require(response["id"] as? String)
            #expect(id.hasPrefix("resp_") && response["model"] as? String == "gpt-test" && response["store"] as? Bool == true)
            let output = try #require(response["output"] as? [[String: Any]])
            #expect(output.map { $0["type"] as? String } == ["web_search_call", "message"])
            #expect(!ResponsesTests.text(response).isEmpty)

            let read = try await gateway.request("/v1/responses/\(id)", method: .GET, key: key)
            let readText = ResponsesTests.text(try read.json)
            #expect(read.status == 200 && readText == ResponsesTests.text(response))
            let logs = try await gateway.spendLogs(keyID: record.keyID, count: 1)
            let row = try #require(logs?.first)
            #expect(row.endpoint == FrontDoor.responses && row.promptTokens > 0 && row.completionTokens > 0 && row.cost > 0)
        }
    }

    @Test("previous_response_id: the provider gets the whole conversation in input (earlier items with their ids, no previous_response_id); a translated model can continue it")
    func continuation() async throws {
        try await Gateway.with { gateway in
            let first = try await gateway.request("/v1/responses", body: ResponsesTests.body(model: "gpt-test", "My name is Ada."))
            #expect(first.status == 200, "\(first.body)")
            let id = try #require(try first.json["id"] as? String)
            let answerItem = try #require((try first.json["output"] as? [[String: Any]])?.first)
            let second = try await gateway.request("/v1/responses", body: ResponsesTests.body(model: "gpt-test",
                "What is my name?", extra: #","previous_response_id":"\#(id)""#))
            #expect(second.status == 200, "\(second.body)")
            let body = try Self.sentBody(gateway)
            #expect(body["previous_response_id"] == nil)
            let input = try #require(body["input"] as? [[String: Any]])
            #expect(input.count == 3, "\(input)")
            #expect(input[1]["id"] as? String == answerItem["id"] as? String && input[1]["role"] as? String == "assistant")
            #expect((input[2]["content"] as? [[String: Any]])?.first?["text"] as? String == "What is my name?")

            // Claude continues it, translated (the earlier turns as chat messages).
            let secondID = try #require(try second.json["id"] as? String)
            let third = try await gateway.request("/v1/responses", body: ResponsesTests.body(model: "claude-test",
                "And again?", extra: #","previous_response_id":"\#(secondID)""#))
            #expect(third.status == 200, "\(third.body)")
            let claude = try #require(gateway.mockLog.last).bodyString()
            #expect(claude.contains("My name is Ada.") && claude.contains("What is my name?") && claude.contains("And again?"))
        }
    }

    @Test("a stream: the provider's events with the gateway's response id and the caller's model; stored once completed")
    func stream() async throws {
        try await Gateway.with { gateway in
            let result = try await gateway.request("/v1/responses",
                body: ResponsesTests.body(model: "gpt-test", "Tell me about streams", stream: true, extra: Self.search))
            #expect(result.status == 200, "\(result.body)")
            let events = try ResponsesTests.events(result.body)
            let names = events.map(\.0)
            #expect(names.first == "response.created" && names.last == "response.completed", "\(names)")
            #expect(names.contains("response.web_search_call.completed") && names.contains("response.output_text.delta"))
            #expect(events.enumerated().allSatisfy { $0.element.1["sequence_number"] as? Int == $0.offset })
            let created = try #require(events.first?.1["response"] as? [String: Any])
            let completed = try #require(events.last?.1["response"] as? [String: Any])
            let id = try #require(created["id"] as? String)
            #expect(completed["id"] as? String == id && completed["model"] as? String == "gpt-test")
            let deltas = events.filter { $0.0 == "response.output_text.delta" }.compactMap { $0.1["delta"] as? String }.joined()
            #expect(deltas == ResponsesTests.text(completed) && !deltas.isEmpty)
            let read = try await gateway.request("/v1/responses/\(id)", method: .GET)
            let readText = ResponsesTests.text(try read.json)
            #expect(read.status == 200 && readText == deltas, "\(read.body)")
            #expect(gateway.mockLog.last?.bodyString().contains(#""stream":true"#) == true)
        }
    }

    @Test("Azure OpenAI: its v1 Responses API with api-key; what chat cannot carry is a 400 naming a model without the API, and for a guarded key; then served")
    func azureAndRefusals() async throws {
        try await Gateway.with { gateway in
            let azure = try await gateway.request("/v1/responses", body: ResponsesTests.body(model: "azure-chat", "hi"))
            #expect(azure.status == 200, "\(azure.body)")
            let sent = try #require(gateway.mockLog.last)
            #expect(sent.uri.hasSuffix("/openai/v1/responses"), "\(sent.uri)")
            #expect(sent.headers.contains { $0.0.lowercased() == "api-key" })
            #expect(try Self.sentBody(gateway)["model"] as? String == "my-gpt-deployment")

            for model in ["claude-test", "gpt-chat"] {
                let refused = try await gateway.request("/v1/responses", body: ResponsesTests.body(model: model, "hi", extra: Self.search))
                try ResponsesTests.expectError(refused, 400, code: "unsupported_tool")
                #expect((try refused.openAIError["message"] as? String)?.contains(model) == true, "\(refused.body)")
            }
            let file = #"{"model":"claude-test","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}"#
            try ResponsesTests.expectError(try await gateway.request("/v1/responses", body: file), 400, code: "unsupported_content")
            let native = try await gateway.request("/v1/responses", body: file.replacingOccurrences(of: "claude-test", with: "gpt-test"))
            #expect(native.status == 200, "\(native.body)")

            let admin = try await GuardrailTests.admin(gateway)
            _ = try await GuardrailTests.profile(admin,
                #"{"name":"no-secrets","mode":"input","enable_secrets_detection":true}"#, team: "team-native")
            let (key, _) = try await gateway.keys.create(alias: "guarded", settings: KeySettings(teamID: "team-native"))
            let guarded = try await eventually(timeout: .seconds(10)) { () async throws -> HTTPResult? in
                let result = try await gateway.request("/v1/responses", key: key,
                    body: ResponsesTests.body(model: "gpt-test", "hi", extra: Self.search))
                return result.status == 400 ? result : nil
            }
            try ResponsesTests.expectError(try #require(guarded), 400, code: "unsupported_tool")
            #expect(try await gateway.request("/v1/responses", key: key, body: ResponsesTests.body(model: "gpt-test", "hi")).status == 200)
        }
    }
}
