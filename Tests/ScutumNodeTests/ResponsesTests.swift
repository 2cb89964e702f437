import Foundation
import NIOHTTP1
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

/// OpenAI's Responses API on the proxy: translated onto chat for every model, responses kept in
/// PostgreSQL per key, continued with `previous_response_id` on any node, streamed as semantic
/// events, with the gateway's limits, budgets, guardrails, fallbacks and spend.
@Suite("OpenAI Responses API")
struct ResponsesTests {
    /// `gpt-chat` is an OpenAI deployment with `responses_api: translated`: these tests check the
    /// translation onto chat (`ResponsesNativeTests` the pass-through).
    static func body(model: String = "gpt-chat", _ input: String, stream: Bool = false, extra: String = "") -> String {
        let escaped = String(decoding: try! JSONEncoder().encode(input), as: UTF8.self)
        return #"{"model":"\#(model)","input":\#(escaped)"# + (stream ? #","stream":true"# : "") + extra + "}"
    }

    /// The events of a Responses stream: (event name, data object).
    static func events(_ body: String) throws -> [(String, [String: Any])] {
        try MessagesTests.events(body)
    }

    /// The text of a response object's message items.
    static func text(_ response: [String: Any]) -> String {
        (response["output"] as? [[String: Any]] ?? []).filter { $0["type"] as? String == "message" }
            .flatMap { $0["content"] as? [[String: Any]] ?? [] }.compactMap { $0["text"] as? String }.joined()
    }

    static func expectError(_ result: HTTPResult, _ status: Int, code: String? = nil, type: String? = nil,
        sourceLocation: SourceLocation = #_sourceLocation) throws
    {
        #expect(result.status == status, "\(result.body)", sourceLocation: sourceLocation)
        let error = try result.openAIError
        if let code { #expect(error["code"] as? String == code, "\(result.body)", sourceLocation: sourceLocation) }
        if let type { #expect(error["type"] as? String == type, "\(result.body)", sourceLocation: sourceLocation) }
        #expect(((error["message"] as? String) ?? "").isEmpty == false, sourceLocation: sourceLocation)
    }

    @Test("a response for a string input, against an OpenAI and an Anthropic model: the response object, usage, a spend row")
    func create() async throws {
        try await Gateway.with { gateway in
            let (key, record) = try await gateway.keys.create(alias: "agents")
            for model in ["gpt-chat", "claude-test"] {
                let result = try await gateway.request("/v1/responses", key: key,
                    body: Self.body(model: model, "Say hello", extra: #","instructions":"Be brief.","metadata":{"run":"7"}"#))
                #expect(result.status == 200, "\(result.body)")
                let response = try result.json
                #expect(response["object"] as? String == "response" && response["status"] as? String == "completed")
                #expect((response["id"] as? String)?.hasPrefix("resp_") == true)
                #expect(response["model"] as? String == model)
                #expect(response["instructions"] as? String == "Be brief.")
                #expect((response["metadata"] as? [String: Any])?["run"] as? String == "7")
                #expect(response["store"] as? Bool == true)
                let output = try #require(response["output"] as? [[String: Any]])
                #expect(output.first?["type"] as? String == "message" && output.first?["role"] as? String == "assistant")
                #expect((output.first?["id"] as? String)?.hasPrefix("msg_") == true)
                #expect(!Self.text(response).isEmpty)
                let usage = try #require(response["usage"] as? [String: Any])
                let input = usage["input_tokens"] as? Int ?? 0, outputTokens = usage["output_tokens"] as? Int ?? 0
                #expect(input > 0 && outputTokens > 0 && usage["total_tokens"] as? Int == input + outputTokens)
            }
            // Instructions went as a system message, the input as the user's.
            let sent = try #require(gateway.mockLog.entries.first { $0.uri.contains("chat/completions") }).bodyString()
            #expect(sent.contains(#""role":"system""#) && sent.contains("Be brief.") && sent.contains("Say hello"), "\(sent)")
            let logs = try await gateway.spendLogs(keyID: record.keyID, count: 2)
            #expect(Set(logs?.map(\.modelRequested) ?? []) == ["gpt-chat", "claude-test"])
            #expect(logs?.allSatisfy { $0.status == 200 && $0.promptTokens > 0 && $0.cost >= 0 } == true)
            #expect(logs?.allSatisfy { $0.endpoint == FrontDoor.responses } == true, "the spend rows name the front door")
        }
    }

    @Test("stored responses: GET, input_items (paged, both orders), DELETE; another key's is a 404 like a missing one; store:false keeps nothing")
    func storage() async throws {
        try await Gateway.with { gateway in
            let (mine, _) = try await gateway.keys.create(alias: "mine")
            let (theirs, _) = try await gateway.keys.create(alias: "theirs")
            let items = #"[{"role":"developer","content":"Answer in French."},{"role":"user","content":"Hello"},"#
                + #"{"type":"message","role":"user","content":[{"type":"input_text","text":"How are you?"}]}]"#
            let created = try await gateway.request("/v1/responses", key: mine,
                body: #"{"model":"gpt-chat","input":\#(items)}"#)
            #expect(created.status == 200, "\(created.body)")
            let id = try #require(try created.json["id"] as? String)

            let read = try await gateway.request("/v1/responses/\(id)", method: .GET, key: mine)
            #expect(read.status == 200, "\(read.body)")
            let (readJSON, createdJSON) = (try read.json, try created.json)
            #expect(readJSON["id"] as? String == id && Self.text(readJSON) == Self.text(createdJSON))

            let listed = try await gateway.request("/v1/responses/\(id)/input_items", method: .GET, key: mine)
            #expect(listed.status == 200, "\(listed.body)")
            let data = try #require(try listed.json["data"] as? [[String: Any]])
            let hasMore = try listed.json["has_more"] as? Bool
            #expect(data.count == 3 && hasMore == false)
            #expect(data.first?["role"] as? String == "user", "desc by default: the last input first")
            #expect(data.last?["role"] as? String == "developer")
            #expect(data.allSatisfy { ($0["id"] as? String)?.hasPrefix("msg_") == true })
            let page = try await gateway.request("/v1/responses/\(id)/input_items?order=asc&limit=2", method: .GET, key: mine)
            let first = try #require(try page.json["data"] as? [[String: Any]])
            let pageHasMore = try page.json["has_more"] as? Bool
            #expect(first.map { $0["role"] as? String } == ["developer", "user"] && pageHasMore == true)
            let lastID = try #require(try page.json["last_id"] as? String)
            let next = try await gateway.request("/v1/responses/\(id)/input_items?order=asc&after=\(lastID)", method: .GET, key: mine)
            #expect((try next.json["data"] as? [[String: Any]])?.count == 1)
            try Self.expectError(try await gateway.request("/v1/responses/\(id)/input_items?limit=0", method: .GET, key: mine),
                400)

            // Another key: 404 for reading, listing, continuing and deleting, as for an id that never was.
            for (path, method, body) in [("/v1/responses/\(id)", HTTPMethod.GET, nil as String?),
                ("/v1/responses/\(id)/input_items", .GET, nil), ("/v1/responses/\(id)", .DELETE, nil),
                ("/v1/responses", .POST, Self.body("more", extra: #","previous_response_id":"\#(id)""#))]
            {
                try Self.expectError(try await gateway.request(path, method: method, key: theirs, body: body), 404)
                let missing = path.replacingOccurrences(of: id, with: "resp_doesnotexist")
                let other = try await gateway.request(missing, method: method, key: mine,
                    body: body?.replacingOccurrences(of: id, with: "resp_doesnotexist"))
                try Self.expectError(other, 404)
            }

            let deleted = try await gateway.request("/v1/responses/\(id)", method: .DELETE, key: mine)
            let wasDeleted = try deleted.json["deleted"] as? Bool
            #expect(deleted.status == 200 && wasDeleted == true, "\(deleted.body)")
            try Self.expectError(try await gateway.request("/v1/responses/\(id)", method: .GET, key: mine), 404)
            try Self.expectError(try await gateway.request("/v1/responses/\(id)", method: .DELETE, key: mine), 404)

            let unstored = try await gateway.request("/v1/responses", key: mine, body: Self.body("hi", extra: #","store":false"#))
            let keptFlag = try unstored.json["store"] as? Bool
            #expect(unstored.status == 200 && keptFlag == false)
            let unstoredID = try #require(try unstored.json["id"] as? String)
            try Self.expectError(try await gateway.request("/v1/responses/\(unstoredID)", method: .GET, key: mine), 404)
        }
    }

    @Test("previous_response_id on another node: the model gets the earlier turns (inputs and answers) then the new input; instructions are not carried over")
    func continuation() async throws {
        try await Gateway.cluster(nodes: 2) { nodes in
            let (first, second) = (nodes[0], nodes[1])
            let (key, _) = try await first.keys.create(alias: "conversation")
            let opened = try await first.request("/v1/responses", key: key,
                body: Self.body("My name is Ada.", extra: #","instructions":"Speak like a pirate.""#))
            #expect(opened.status == 200, "\(opened.body)")
            let id = try #require(try opened.json["id"] as? String)
            let answer = Self.text(try opened.json)
            let followed = try await eventually(timeout: .seconds(10)) { () async throws -> HTTPResult? in
                let result = try await second.request("/v1/responses", key: key,
                    body: Self.body("What is my name?", extra: #","previous_response_id":"\#(id)""#))
                return result.status == 200 ? result : nil
            }
            let continued = try #require(followed)
            #expect(try continued.json["previous_response_id"] as? String == id)
            let sent = try #require(second.mockLog.last).bodyString()
            let messages = try #require((try JSONSerialization.jsonObject(with: Data(sent.utf8)) as? [String: Any])?["messages"]
                as? [[String: Any]])
            #expect(messages.map { $0["role"] as? String } == ["user", "assistant", "user"], "\(sent)")
            #expect(messages[0]["content"] as? String == "My name is Ada.")
            #expect(messages[1]["content"] as? String == answer)
            #expect(messages[2]["content"] as? String == "What is my name?")
            #expect(!sent.contains("pirate"))
            // A third turn from the second: the whole chain.
            let secondID = try #require(try continued.json["id"] as? String)
            let third = try await first.request("/v1/responses", key: key,
                body: Self.body("And again?", extra: #","previous_response_id":"\#(secondID)""#))
            #expect(third.status == 200, "\(third.body)")
            let chain = try #require(first.mockLog.last).bodyString()
            #expect(chain.contains("My name is Ada.") && chain.contains("What is my name?") && chain.contains("And again?"))
        }
    }

    @Test("a stream: created, in_progress, a message item of text deltas, the .done events, completed with usage; the same text as JSON; stored")
    func stream() async throws {
        try await Gateway.with { gateway in
            let whole = try await gateway.request("/v1/responses", body: Self.body("Tell me about streams"))
            let expected = Self.text(try whole.json)
            let result = try await gateway.request("/v1/responses", body: Self.body("Tell me about streams", stream: true))
            #expect(result.status == 200)
            #expect(result.headers.contains { $0.0.lowercased() == "content-type" && $0.1.hasPrefix("text/event-stream") })
            let events = try Self.events(result.body)
            let names = events.map(\.0)
            #expect(Array(names.prefix(4)) == ["response.created", "response.in_progress", "response.output_item.added",
                "response.content_part.added"], "\(names)")
            #expect(Array(names.suffix(4)) == ["response.output_text.done", "response.content_part.done",
                "response.output_item.done", "response.completed"], "\(names)")
            #expect(events.allSatisfy { $0.0 == $0.1["type"] as? String })
            #expect(events.enumerated().allSatisfy { $0.element.1["sequence_number"] as? Int == $0.offset })
            let deltas = events.filter { $0.0 == "response.output_text.delta" }.compactMap { $0.1["delta"] as? String }.joined()
            #expect(deltas == expected)
            let completed = try #require(events.last?.1["response"] as? [String: Any])
            #expect(completed["status"] as? String == "completed" && Self.text(completed) == expected)
            #expect(((completed["usage"] as? [String: Any])?["output_tokens"] as? Int ?? 0) > 0)
            let id = try #require(completed["id"] as? String)
            let read = try await gateway.request("/v1/responses/\(id)", method: .GET)
            let readText = Self.text(try read.json)
            #expect(read.status == 200 && readText == expected, "\(read.body)")
        }
    }

    @Test("tools: a function_call item (JSON, and streamed as argument deltas); its function_call_output continues the response")
    func tools() async throws {
        try await Gateway.with { gateway in
            let tools = #","tools":[{"type":"function","name":"get_weather","description":"Weather","#
                + #""parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]},"strict":true}]"#
            let result = try await gateway.request("/v1/responses", body: Self.body("Weather in Paris? [mock:tool_call]", extra: tools))
            #expect(result.status == 200, "\(result.body)")
            let call = try #require((try result.json["output"] as? [[String: Any]])?.first { $0["type"] as? String == "function_call" })
            #expect(call["name"] as? String == "get_weather" && (call["id"] as? String)?.hasPrefix("fc_") == true)
            let arguments = try #require(call["arguments"] as? String)
            #expect((try? JSONSerialization.jsonObject(with: Data(arguments.utf8))) is [String: Any])
            let callID = try #require(call["call_id"] as? String)
            let sent = try #require(gateway.mockLog.last).bodyString()
            #expect(sent.contains(#""function":{"#) && sent.contains(#""strict":true"#), "\(sent)")

            let streamed = try await gateway.request("/v1/responses",
                body: Self.body("Weather in Paris? [mock:tool_call]", stream: true, extra: tools))
            let events = try Self.events(streamed.body)
            let added = try #require(events.first { $0.0 == "response.output_item.added" }?.1["item"] as? [String: Any])
            #expect(added["type"] as? String == "function_call" && added["name"] as? String == "get_weather")
            let fragments = events.filter { $0.0 == "response.function_call_arguments.delta" }.compactMap { $0.1["delta"] as? String }
            let done = try #require(events.first { $0.0 == "response.function_call_arguments.done" }?.1)
            #expect(fragments.joined() == done["arguments"] as? String)

            let id = try #require(try result.json["id"] as? String)
            let output = #"[{"type":"function_call_output","call_id":"\#(callID)","output":"18 C and sunny"}]"#
            let answered = try await gateway.request("/v1/responses",
                body: #"{"model":"gpt-chat","previous_response_id":"\#(id)","input":\#(output)"# + tools + "}")
            #expect(answered.status == 200, "\(answered.body)")
            #expect(Self.text(try answered.json).contains("18 C and sunny"), "\(answered.body)")
            let history = try #require(gateway.mockLog.last).bodyString()
            #expect(history.contains(#""tool_calls""#) && history.contains(#""role":"tool""#)
                && history.contains(#""tool_call_id":"\#(callID)""#), "\(history)")
        }
    }

    @Test("text.format json_schema goes as response_format; reasoning, max_output_tokens carried")
    func structuredOutput() async throws {
        try await Gateway.with { gateway in
            let format = #","text":{"format":{"type":"json_schema","name":"person","strict":true,"#
                + #""schema":{"type":"object","properties":{"name":{"type":"string"}},"required":["name"],"additionalProperties":false}}},"#
                + #""reasoning":{"effort":"low"},"max_output_tokens":300"#
            let result = try await gateway.request("/v1/responses", body: Self.body("Who wrote Hamlet?", extra: format))
            #expect(result.status == 200, "\(result.body)")
            #expect(((try result.json["text"] as? [String: Any])?["format"] as? [String: Any])?["name"] as? String == "person")
            #expect(try result.json["max_output_tokens"] as? Int == 300)
            let sent = try #require(gateway.mockLog.last).bodyString()
            let body = try #require(try JSONSerialization.jsonObject(with: Data(sent.utf8)) as? [String: Any])
            let responseFormat = try #require(body["response_format"] as? [String: Any])
            #expect(responseFormat["type"] as? String == "json_schema")
            #expect((responseFormat["json_schema"] as? [String: Any])?["name"] as? String == "person")
            #expect(body["reasoning_effort"] as? String == "low" && body["max_completion_tokens"] as? Int == 300)
        }
    }

    @Test("bad requests are 400s in OpenAI's shape (hosted tools, files, formats); unknown model 404; rate limited 429 with retry-after; budget spent 400; then served")
    func errors() async throws {
        try await Gateway.with { gateway in
            for (body, code) in [
                (#"{"model":"gpt-chat"}"#, "missing_required_parameter"),
                (#"{"input":"hi"}"#, "missing_required_parameter"),
                ("{not json", nil),
                (Self.body("hi", extra: #","tools":[{"type":"web_search_preview"}]"#), "unsupported_tool"),
                (#"{"model":"gpt-chat","input":[{"type":"message","role":"user","content":[{"type":"input_file","file_id":"file-1"}]}]}"#,
                 "unsupported_content"),
                (#"{"model":"gpt-chat","input":[{"type":"item_reference","id":"msg_1"}]}"#, "unsupported_item"),
                (Self.body("hi", extra: #","text":{"format":{"type":"xml"}}"#), nil),
                (Self.body("hi", extra: #","background":true"#), "unsupported_parameter"),
                (Self.body("hi", extra: #","max_output_tokens":0"#), nil),
                (#"{"model":"gpt-chat","input":[]}"#, nil),
                (#"{"model":"gpt-chat","input":[{"role":"robot","content":"hi"}]}"#, nil),
            ] as [(String, String?)] {
                try Self.expectError(try await gateway.request("/v1/responses", body: body), 400, code: code,
                    type: "invalid_request_error")
            }
            try Self.expectError(try await gateway.request("/v1/responses", body: Self.body(model: "no-such-model", "hi")), 404)
            try Self.expectError(try await gateway.request("/v1/responses", key: nil, body: Self.body("hi")), 401)

            let (limited, _) = try await gateway.keys.create(alias: "limited", settings: KeySettings(rpmLimit: 2))
            for _ in 0..<2 { #expect(try await gateway.request("/v1/responses", key: limited, body: Self.body("hi")).status == 200) }
            let refused = try await gateway.request("/v1/responses", key: limited, body: Self.body("hi", stream: true))
            try Self.expectError(refused, 429, code: "rate_limit_exceeded")
            #expect(refused.headers.contains { $0.0.lowercased() == "retry-after" })

            let (budgeted, record) = try await gateway.keys.create(alias: "budgeted")
            _ = try await BudgetStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
                .upsert(.key(record.keyID), maxBudget: 0.00002, softBudget: nil, duration: BudgetDuration(parsing: "30d"))
            let spent = try await eventually(timeout: .seconds(15)) { () async throws -> HTTPResult? in
                let result = try await gateway.request("/v1/responses", key: budgeted, body: Self.body("spend [mock:repeat=20]"))
                return result.status == 400 ? result : nil
            }
            try Self.expectError(try #require(spent), 400, type: "budget_exceeded")
            // And the next normal request is served.
            #expect(try await gateway.request("/v1/responses", body: Self.body("hi")).status == 200)
        }
    }

    @Test("a fallback serves the response when the primary fails; an input guardrail blocks it before the provider")
    func fallbackAndGuardrail() async throws {
        try await Gateway.with { gateway in
            let served = try await gateway.request("/v1/responses",
                body: Self.body(model: "primary-test", "[mock:status=503] [mock:fail_model=primary-upstream] hi"))
            #expect(served.status == 200, "\(served.body)")
            #expect(try served.json["model"] as? String == "primary-test")
            #expect(gateway.mockLog.last?.bodyString().contains("gpt-upstream-2") == true)

            let admin = try await GuardrailTests.admin(gateway)
            _ = try await GuardrailTests.profile(admin,
                #"{"name":"no-secrets","mode":"input","enable_secrets_detection":true}"#, team: "team-resp")
            let (key, _) = try await gateway.keys.create(alias: "guarded", settings: KeySettings(teamID: "team-resp"))
            // The profile reaches the node by NOTIFY: wait until a probe is refused, then check the real one.
            let probe = Self.body("aws_access_key_id = \(GuardrailTests.awsKey)")
            _ = try await eventually(timeout: .seconds(10)) { () async throws -> Bool? in
                try await gateway.request("/v1/responses", key: key, body: probe).status == 400 ? true : nil
            }
            gateway.mockLog.clear()
            let blocked = try await gateway.request("/v1/responses", key: key,
                body: Self.body("Debug this: OPENAI_API_KEY=\(GuardrailTests.openAIKey)", stream: true))
            try Self.expectError(blocked, 400, code: "guardrail_violation")
            #expect(gateway.mockLog.entries.isEmpty, "a blocked request reached the provider")
            #expect(try await gateway.request("/v1/responses", key: key, body: Self.body("hi")).status == 200)
        }
    }

    @Test("retention: an expired response is gone for every read, and the sweep deletes it")
    func retention() async throws {
        try await withMigratedDatabase { client, _ in
            let store = ResponseStore(client: client, logger: TestEnvironment.logger)
            let now = Date()
            func response(_ id: String, expires: Date) -> StoredResponse {
                StoredResponse(id: id, owner: "k1", model: "gpt-test", response: ["id": .string(id), "output": []],
                    inputItems: [], context: [], createdAt: now, expiresAt: expires)
            }
            try await store.save(response("resp_old", expires: now.addingTimeInterval(-1)))
            try await store.save(response("resp_new", expires: now.addingTimeInterval(3600)))
            #expect(try await store.find(id: "resp_old", owner: "k1") == nil)
            #expect(try await store.find(id: "resp_new", owner: "k1")?.id == "resp_new")
            #expect(try await store.find(id: "resp_new", owner: "k2") == nil)
            #expect(try await store.delete(id: "resp_old", owner: "k1") == false)
            #expect(try await store.deleteExpired() == 1)
            #expect(try await store.deleteExpired() == 0)
            #expect(try await store.find(id: "resp_new", owner: "k1") != nil)
        }
    }
}
