import Foundation
import ScutumCore
import ScutumNode
import ScutumTestSupport
import Testing

@Suite("Serving a LiteLLM config.yaml")
struct LiteLLMServeTests {
    static let masterKey = "sk-litellm-master-0123456789abcdef"

    /// A LiteLLM proxy config for the mock: pools (two Anthropic deployments of claude-sonnet-4.5,
    /// two OpenAI ones of gpt-5-mini), fallbacks, an alias and a master key read from the
    /// environment, as LiteLLM's docs write them.
    static func config(mockPort: Int) -> String {
        let root = "http://127.0.0.1:\(mockPort)"
        return """
            model_list:
              - model_name: claude-sonnet-4.5
                litellm_params:
                  model: anthropic/claude-sonnet-4-5
                  api_key: os.environ/TEST_ANTHROPIC_KEY
                  api_base: \(root)/
                  rpm: 1000
                model_info: {id: sonnet-east, max_input_tokens: 200000}
              - model_name: claude-sonnet-4.5
                litellm_params:
                  model: anthropic/claude-sonnet-4-5-20250929
                  api_key: sk-ant-second-deployment
                  api_base: \(root)
                model_info: {id: sonnet-west, max_input_tokens: 200000}
              - model_name: claude-opus-4.5
                litellm_params: {model: anthropic/claude-opus-4-5, api_key: sk-ant-opus, api_base: \(root)}
              - model_name: gpt-5
                litellm_params: {model: openai/gpt-5, api_key: sk-openai-upstream, api_base: \(root)/v1}
              - model_name: gpt-5.2
                litellm_params: {model: openai/gpt-5.2, api_key: sk-openai-upstream, api_base: \(root)/v1}
              - model_name: gpt-5-mini
                litellm_params: {model: openai/gpt-5-mini, api_key: sk-openai-upstream, api_base: \(root)/v1, weight: 3}
                model_info: {id: mini-first}
              - model_name: gpt-5-mini
                litellm_params: {model: openai/gpt-5-mini-2025-08-07, api_key: sk-openai-second, api_base: \(root)/v1, weight: 1}
                model_info: {id: mini-second}
              - model_name: azure-text-embedding-3-large
                litellm_params:
                  model: azure/text-embedding-3-large
                  api_key: azure-upstream-key
                  api_base: \(root)
                  api_version: "2024-10-21"
                model_info: {mode: embedding}
            router_settings:
              routing_strategy: simple-shuffle
              num_retries: 1
              model_group_alias: {fast: gpt-5-mini}
            litellm_settings:
              set_verbose: false
              fallbacks:
                - gpt-5: [gpt-5.2, claude-opus-4.5]
                - claude-sonnet-4.5: [claude-opus-4.5, gpt-5]
            general_settings:
              master_key: os.environ/LITELLM_MASTER_KEY
            """
    }

    /// Writes the config for the mock's port to a fresh file.
    static func write(mockPort: Int) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("litellm-\(UUID().uuidString).yaml").path
        try config(mockPort: mockPort).write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The node's environment: no SCUTUM_API_KEY (empty is unset), the variables the file names.
    static let variables = ["SCUTUM_API_KEY": "", "LITELLM_MASTER_KEY": masterKey, "TEST_ANTHROPIC_KEY": "sk-ant-first"]

    /// The guide's curl example's request body, as the guide prints it (Tests/e2e/examples).
    static func seedChat() throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("e2e/examples/chat_curl.sh").path
        let script = try String(contentsOfFile: path, encoding: .utf8)
        guard let open = script.range(of: "-d '"), let close = script.range(of: "'", options: .backwards),
            open.upperBound < close.lowerBound
        else { throw TestFailure("no -d '...' body in \(path)") }
        return String(script[open.upperBound..<close.lowerBound])
    }

    @Test("the seed guide's examples, unchanged, against a LiteLLM config with a pool, fallbacks and a master key")
    func seedExamples() async throws {
        try await Gateway.with(variables: Self.variables, modelsFile: Self.write) { gateway in
            let key = Self.masterKey
            #expect(gateway.node.configuration.proxy.masterKey == key)
            #expect(gateway.node.catalog.current.pool(named: "claude-sonnet-4.5").map(\.id) == ["sonnet-east", "sonnet-west"])
            #expect(gateway.node.catalog.current.pool(named: "gpt-5-mini").map(\.id) == ["mini-first", "mini-second"])

            // Chat (curl / Python / TypeScript / Go examples).
            let chat = try await gateway.request("/v1/chat/completions", key: key, body: try Self.seedChat())
            #expect(chat.status == 200, "\(chat.body)")
            let choices = try #require(try chat.json["choices"] as? [[String: Any]])
            let message = try #require(choices.first?["message"] as? [String: Any])
            #expect(!(message["content"] as? String ?? "").isEmpty)
            #expect(try chat.json["model"] as? String == "claude-sonnet-4.5")

            // A group alias.
            let fast = try await gateway.request("/v1/chat/completions", key: key,
                body: #"{"model": "fast", "messages": [{"role": "user", "content": "Summarize this text..."}]}"#)
            #expect(fast.status == 200, "\(fast.body)")

            // Streaming.
            let stream = try await gateway.request("/v1/chat/completions", key: key, body: """
                {"model": "claude-sonnet-4.5", "messages": [{"role": "user", "content": "Write a short poem about APIs."}], "stream": true}
                """)
            #expect(stream.status == 200)
            #expect(stream.header("content-type")?.hasPrefix("text/event-stream") == true)
            let frames = SSEFrames(stream.body)
            #expect(frames.wellFormed && frames.endsWithDone)
            #expect(!(try frames.content()).isEmpty)

            // Embeddings.
            let embedding = try await gateway.request("/v1/embeddings", key: key, body: """
                {"model": "azure-text-embedding-3-large", "input": "The quick brown fox jumps over the lazy dog"}
                """)
            #expect(embedding.status == 200, "\(embedding.body)")
            let data = try #require(try embedding.json["data"] as? [[String: Any]])
            #expect((data.first?["embedding"] as? [Any])?.isEmpty == false)

            // The model list: each model once (the pool too), and the alias.
            let models = try await gateway.request("/v1/models", method: .GET, key: key)
            #expect(models.status == 200)
            let ids = try #require(try models.json["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            for name in ["claude-sonnet-4.5", "claude-opus-4.5", "gpt-5", "gpt-5.2", "gpt-5-mini", "azure-text-embedding-3-large", "fast"] {
                #expect(ids.filter { $0 == name }.count == 1, "\(name) in \(ids)")
            }
        }
    }

    @Test("fallbacks, the pool's second deployment, the documented errors, and an Admin API login with the master key")
    func failuresAndErrors() async throws {
        try await Gateway.with(variables: Self.variables, modelsFile: Self.write) { gateway in
            let key = Self.masterKey
            // The fallback chain from litellm_settings.fallbacks: response.model names the model that served.
            let fallback = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: "gpt-5", "[mock:status=503] [mock:fail_model=gpt-5] Hello"))
            #expect(fallback.status == 200, "\(fallback.body)")
            #expect(try fallback.json["model"] as? String == "gpt-5.2")

            // One deployment of a pool failing: the other serves, under the pool's name.
            gateway.mockLog.clear()
            let pooled = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: "gpt-5-mini", "[mock:status=503] [mock:fail_model=gpt-5-mini] Hello"))
            #expect(pooled.status == 200, "\(pooled.body)")
            #expect(try pooled.json["model"] as? String == "gpt-5-mini")
            let served = try #require(gateway.mockLog.entries.last)
            #expect(served.bodyString().contains(#""model":"gpt-5-mini-2025-08-07""#))
            #expect(served.header("authorization") == "Bearer sk-openai-second")

            // 400, 401, 404 and 503 as the guide documents them.
            let badJSON = try await gateway.request("/v1/chat/completions", key: key, body: #"{"model": "gpt-5", "messages": "#)
            #expect(badJSON.status == 400)
            let noKey = try await gateway.request("/v1/chat/completions", key: nil, body: Gateway.chat(model: "gpt-5", "Hello"))
            #expect(noKey.status == 401)
            let wrongKey = try await gateway.request("/v1/chat/completions", key: "sk-litellm-wrong-0123456789abcdef",
                body: Gateway.chat(model: "gpt-5", "Hello"))
            #expect(wrongKey.status == 401)
            let unknown = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: "no-such-model", "Hello"))
            #expect(unknown.status == 404)
            let chainDown = try await gateway.request("/v1/chat/completions", key: key,
                body: Gateway.chat(model: "gpt-5", "[mock:status=500] Hello"))
            #expect(chainDown.status == 503)
            let tried = try #require(try chainDown.openAIError["message"] as? String)
            for model in ["gpt-5", "gpt-5.2", "claude-opus-4.5"] { #expect(tried.contains(model), "\(tried)") }

            // The Admin API takes the same master key.
            let login = try await Gateway.send(.POST, gateway.adminURL + "/auth/login", key: nil,
                body: #"{"api_key":"\#(key)"}"#)
            #expect(login.status == 200, "\(login.body)")
            #expect(try login.json["access_token"] is String)
        }
    }

    @Test("SCUTUM_API_KEY in the environment wins over general_settings.master_key")
    func environmentKeyWins() async throws {
        var variables = Self.variables
        variables["SCUTUM_API_KEY"] = Gateway.masterKey
        try await Gateway.with(variables: variables, modelsFile: Self.write) { gateway in
            let own = try await gateway.request("/v1/chat/completions", key: Gateway.masterKey,
                body: Gateway.chat(model: "gpt-5", "Hello"))
            #expect(own.status == 200, "\(own.body)")
            let fromFile = try await gateway.request("/v1/chat/completions", key: Self.masterKey,
                body: Gateway.chat(model: "gpt-5", "Hello"))
            #expect(fromFile.status == 401)
        }
    }

    @Test("a LiteLLM config with settings Scutum has no equivalent for stops the node at start-up, naming them")
    func refusedAtStartUp() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("litellm-\(UUID().uuidString).yaml").path
        try """
            model_list:
              - {model_name: a, litellm_params: {model: openai/a, mock_response: hi}}
            litellm_settings: {success_callback: [langfuse], cache: true}
            """.write(toFile: path, atomically: true, encoding: .utf8)
        #expect {
            _ = try NodeConfiguration(variables: ["DATABASE_URL": "postgres://u@h/db", "SCUTUM_MODELS_FILE": path])
        } throws: { error in
            let text = "\(error)"
            return text.contains(path) && text.contains(
                "litellm config: no equivalent for model_list[0].litellm_params.mock_response, litellm_settings.success_callback, litellm_settings.cache")
        }
    }
}
