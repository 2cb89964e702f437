import Foundation
import ScutumCore
import Testing

@Suite("LiteLLM config: model_list")
struct LiteLLMModelListTests {
    /// A config with one deployment whose `litellm_params` are `params` (YAML flow-mapping body).
    static func single(_ params: String, info: String? = nil) -> String {
        """
        model_list:
          - model_name: m
            litellm_params: {\(params)}
        \(info.map { "    model_info: {\($0)}" } ?? "")
        """
    }

    static func catalog(_ file: CatalogFile, environment: [String: String] = [:]) throws -> ModelCatalog {
        try file.catalog(environment: environment, supportedKinds: Set(ProviderKind.allCases))
    }

    @Test("each provider prefix maps to a catalog provider, model id and credential set", arguments: [
        ("openai/gpt-4o", "openai", "gpt-4o", "openai"),
        ("azure/my-gpt-deployment", "azure", "my-gpt-deployment", "azure"),
        ("anthropic/claude-sonnet-4-5", "anthropic", "claude-sonnet-4-5", "anthropic"),
        ("gemini/gemini-2.5-pro", "gemini", "gemini-2.5-pro", "gemini"),
        ("vertex_ai/gemini-2.5-pro", "vertex", "gemini-2.5-pro", "vertex_ai"),
        ("vertex_ai/claude-sonnet-4-5@20250929", "vertex", "claude-sonnet-4-5@20250929", "vertex_ai"),
        ("bedrock/anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock", "anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
        ("bedrock/converse/us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", "bedrock"),
        ("bedrock/invoke/amazon.titan-embed-text-v2:0", "bedrock", "amazon.titan-embed-text-v2:0", "bedrock"),
        ("xai/grok-4", "xai", "grok-4", "xai"),
        ("deepseek/deepseek-chat", "deepseek", "deepseek-chat", "deepseek"),
        ("hosted_vllm/meta-llama/Llama-3.1-8B-Instruct", "openai_compatible", "meta-llama/Llama-3.1-8B-Instruct", "hosted_vllm"),
        ("ollama/llama3", "openai_compatible", "llama3", "ollama"),
        ("ollama_chat/llama3", "openai_compatible", "llama3", "ollama"),
        ("groq/llama-3.1-8b-instant", "openai_compatible", "llama-3.1-8b-instant", "groq"),
        ("litellm_proxy/gpt-4o", "openai_compatible", "gpt-4o", "litellm_proxy"),
        ("gpt-4o", "openai", "gpt-4o", "openai"),
        ("o3-mini", "openai", "o3-mini", "openai"),
        ("claude-3-5-sonnet-20240620", "anthropic", "claude-3-5-sonnet-20240620", "anthropic"),
    ])
    func prefixes(_ target: String, _ provider: String, _ model: String, _ credentials: String) throws {
        let config = try LiteLLMConfig.parse(Self.single("model: \(target)"))
        let entry = try #require(config.catalog.models.first)
        #expect(entry.provider == provider)
        #expect(entry.model == model)
        #expect(entry.credentials == credentials)
        #expect(config.catalog.credentials?[credentials] != nil)
    }

    @Test("without inline keys a deployment reads the variables LiteLLM reads")
    func providerVariables() throws {
        let yaml = """
            model_list:
              - {model_name: a, litellm_params: {model: azure/dep}}
              - {model_name: b, litellm_params: {model: vertex_ai/gemini-2.5-pro}}
              - {model_name: c, litellm_params: {model: bedrock/amazon.nova-pro-v1:0}}
              - {model_name: d, litellm_params: {model: ollama/llama3}}
            """
        let catalog = try Self.catalog(try LiteLLMConfig.parse(yaml).catalog, environment: [
            "AZURE_API_KEY": "az-key", "AZURE_API_BASE": "https://res.openai.azure.com", "VERTEXAI_PROJECT": "proj",
            "GOOGLE_APPLICATION_CREDENTIALS": "/sa.json", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
            "AWS_REGION_NAME": "eu-west-1",
        ])
        #expect(catalog.credentials["azure"]?.apiKey == "az-key")
        #expect(catalog.credentials["azure"]?.apiVersion == "2024-10-21")
        #expect(catalog.credentials["vertex_ai"]?.extra == ["project": "proj", "location": "us-central1", "credentials_file": "/sa.json"])
        #expect(catalog.credentials["bedrock"]?.apiKey == "AKID")
        #expect(catalog.credentials["bedrock"]?.extra == ["secret_key": "secret", "region": "eu-west-1"])
        #expect(catalog.credentials["ollama"]?.apiBase == "http://localhost:11434/v1")
        #expect(["a", "b", "c", "d"].allSatisfy(catalog.isRoutable))
    }

    @Test("os.environ/NAME reads the variable; api_base loses its trailing slash; Ollama's gets /v1")
    func endpointSettings() throws {
        let yaml = """
            model_list:
              - model_name: a
                litellm_params: {model: azure/dep, api_key: os.environ/MY_AZURE_KEY, api_base: "https://res.openai.azure.com/", api_version: "2025-01-01"}
              - model_name: b
                litellm_params: {model: ollama/llama3, api_base: "http://gpu:11434"}
            """
        let file = try LiteLLMConfig.parse(yaml).catalog
        #expect(file.models[0].api_key == "${MY_AZURE_KEY}")
        #expect(file.models[0].api_base == "https://res.openai.azure.com")
        #expect(file.models[1].api_base == "http://gpu:11434/v1")
        let catalog = try Self.catalog(file, environment: ["MY_AZURE_KEY": "secret"])
        let azure = try #require(catalog.credentials[catalog.pool(named: "a")[0].credentials])
        #expect(azure.apiKey == "secret")
        #expect(azure.apiVersion == "2025-01-01")
    }

    @Test("Bedrock's AWS keys and region, Vertex's project, location and service account")
    func cloudSettings() throws {
        let yaml = """
            model_list:
              - model_name: b
                litellm_params: {model: bedrock/converse/amazon.nova-pro-v1:0, aws_access_key_id: os.environ/K, aws_secret_access_key: os.environ/S, aws_session_token: tok, aws_region_name: eu-central-1}
              - model_name: v
                litellm_params: {model: vertex_ai/gemini-2.5-pro, vertex_project: p, vertex_location: europe-west4, vertex_credentials: /etc/sa.json}
              - model_name: w
                litellm_params: {model: vertex_ai/gemini-2.5-pro, vertex_credentials: '{"type": "service_account"}'}
            """
        let catalog = try Self.catalog(try LiteLLMConfig.parse(yaml).catalog, environment: ["K": "AKID", "S": "sec"])
        let bedrock = try #require(catalog.credentials[catalog.pool(named: "b")[0].credentials])
        #expect(bedrock.apiKey == "AKID")
        #expect(bedrock.extra["secret_key"] == "sec")
        #expect(bedrock.extra["session_token"] == "tok")
        #expect(bedrock.extra["region"] == "eu-central-1")
        let vertex = try #require(catalog.credentials[catalog.pool(named: "v")[0].credentials])
        #expect(vertex.extra["project"] == "p")
        #expect(vertex.extra["location"] == "europe-west4")
        #expect(vertex.extra["credentials_file"] == "/etc/sa.json")
        let inline = try #require(catalog.credentials[catalog.pool(named: "w")[0].credentials])
        #expect(inline.extra["credentials_json"] == #"{"type": "service_account"}"#)
    }

    @Test("entries sharing a model_name are one pool: ids, weights, order as priority, limits")
    func pool() throws {
        let yaml = """
            model_list:
              - model_name: gpt-4o
                litellm_params: {model: azure/gpt-4o-eu, api_key: k1, api_base: "https://eu.example", rpm: 100, tpm: 1000, weight: 3}
                model_info: {id: eu}
              - model_name: gpt-4o
                litellm_params: {model: openai/gpt-4o, api_key: k2, order: 2}
                model_info: {id: openai-direct}
                rpm: 50
            """
        let pool = try Self.catalog(try LiteLLMConfig.parse(yaml).catalog).pool(named: "gpt-4o")
        #expect(pool.map(\.id) == ["eu", "openai-direct"])
        #expect(pool.map(\.provider) == [.azure, .openai])
        #expect(pool[0].weight == 3 && pool[0].rpm == 100 && pool[0].tpm == 1000 && pool[0].priority == 0)
        #expect(pool[1].priority == 2 && pool[1].rpm == 50)
    }

    @Test("model_info: mode, prices, token limits; supports_* flags are accepted and noted")
    func modelInfo() throws {
        let config = try LiteLLMConfig.parse(Self.single("model: openai/text-embedding-3-large, input_cost_per_token: 0.5",
            info: """
                mode: embedding, input_cost_per_token: 0.00000013, output_cost_per_token: 0.000001, \
                cache_read_input_token_cost: 0.0000001, cache_creation_input_token_cost: 0.000002, \
                cache_creation_input_token_cost_above_1hr: 0.000003, output_cost_per_reasoning_token: 0.000004, \
                max_input_tokens: 8191, max_tokens: 4096, supports_vision: true
                """))
        let model = try #require(config.catalog.models.first)
        #expect(model.mode == .embedding)
        #expect(model.input_cost_per_token == 0.00000013)
        #expect(model.output_cost_per_token == 0.000001)
        #expect(model.cache_read_input_token_cost == 0.0000001)
        #expect(model.cache_creation_input_token_cost == 0.000002)
        #expect(model.cache_creation_input_token_cost_above_1hr == 0.000003)
        #expect(model.output_cost_per_reasoning_token == 0.000004)
        #expect(model.context_window == 8191)
        #expect(model.max_output_tokens == 4096)
        #expect(config.notes.contains { $0.contains("supports_*") })
    }

    @Test("a deployment's timeout becomes its model's per-attempt timeout (the longest of a pool, noted)")
    func deploymentTimeouts() throws {
        let yaml = """
            model_list:
              - {model_name: a, litellm_params: {model: openai/x, timeout: 30}}
              - {model_name: a, litellm_params: {model: openai/y, timeout: 45}}
            """
        let config = try LiteLLMConfig.parse(yaml)
        let catalog = try Self.catalog(config.catalog)
        #expect(catalog.retryPolicy(for: "a").attemptTimeout == .seconds(45))
        #expect(config.notes.contains { $0.contains("timeouts differ") })
    }
}

@Suite("LiteLLM config: router and module settings")
struct LiteLLMRoutingTests {
    static let models = """
        model_list:
          - {model_name: gpt-4o, litellm_params: {model: openai/gpt-4o}, model_info: {max_input_tokens: 128000}}
          - {model_name: gpt-4o-mini, litellm_params: {model: openai/gpt-4o-mini}}
          - {model_name: claude, litellm_params: {model: anthropic/claude-sonnet-4-5}, model_info: {max_input_tokens: 200000}}
        """

    static func parse(_ settings: String) throws -> (LiteLLMConfig, ModelCatalog) {
        let config = try LiteLLMConfig.parse(models + "\n" + settings)
        return (config, try LiteLLMModelListTests.catalog(config.catalog))
    }

    @Test("routing strategies by LiteLLM's names", arguments: [
        ("simple-shuffle", RoutingRules.Strategy.simpleShuffle),
        ("least-busy", .leastBusy),
        ("latency-based-routing", .latencyBased),
        ("usage-based-routing", .usageBased),
        ("usage-based-routing-v2", .usageBased),
        ("cost-based-routing", .costBased),
    ])
    func strategies(_ name: String, _ strategy: RoutingRules.Strategy) throws {
        let (_, catalog) = try Self.parse("router_settings: {routing_strategy: \(name)}")
        #expect(catalog.defaultStrategy == strategy)
    }

    @Test("num_retries, timeout and retry_after make the default retry policy")
    func retries() throws {
        let (_, catalog) = try Self.parse("router_settings: {num_retries: 3, timeout: 20, retry_after: 0.5}")
        #expect(catalog.retryPolicy.retries == 3)
        #expect(catalog.retryPolicy.attemptTimeout == .seconds(20))
        #expect(catalog.retryPolicy.backoff == .milliseconds(500))
        #expect(catalog.retryPolicy.actions == RetryPolicy.defaultActions)
    }

    @Test("litellm_settings' num_retries and request_timeout; router_settings win, the conflict noted")
    func moduleRetries() throws {
        let (_, alone) = try Self.parse("litellm_settings: {num_retries: 2, request_timeout: 90}")
        #expect(alone.retryPolicy.retries == 2)
        #expect(alone.retryPolicy.attemptTimeout == .seconds(90))
        let (config, both) = try Self.parse("""
            router_settings: {num_retries: 4}
            litellm_settings: {num_retries: 2}
            """)
        #expect(both.retryPolicy.retries == 4)
        #expect(config.notes.contains { $0.contains("litellm_settings.num_retries differs") })
    }

    @Test("retry_policy: classes with retries retry (one count, the largest); Scutum's retried classes with 0 move on")
    func retryPolicyClasses() throws {
        let (config, catalog) = try Self.parse("""
            router_settings:
              retry_policy:
                RateLimitErrorRetries: 3
                BadRequestErrorRetries: 1
                TimeoutErrorRetries: 0
                InternalServerErrorRetries: 0
                AuthenticationErrorRetries: 0
                ContentPolicyViolationErrorRetries: 0
              model_group_retry_policy:
                claude: {InternalServerErrorRetries: 2}
            """)
        let policy = catalog.retryPolicy
        #expect(policy.retries == 3)
        #expect(policy.action(for: .rateLimit) == .retry)
        #expect(policy.action(for: .badRequest) == .retry)
        #expect(policy.action(for: .timeout) == .nextDeployment)
        #expect(policy.action(for: .serverError) == .nextDeployment)
        #expect(policy.action(for: .authentication) == .nextDeployment)
        #expect(policy.action(for: .contentPolicy) == .fail)
        #expect(config.notes.contains { $0.contains("one retry count") })
        let claude = catalog.retryPolicy(for: "claude")
        #expect(claude.retries == 2)
        #expect(claude.action(for: .serverError) == .retry)
        #expect(claude.action(for: .rateLimit) == .retry)  // the default policy's, under the model's
    }

    @Test("model_group_alias, in both of its forms, becomes a group alias")
    func aliases() throws {
        let (_, catalog) = try Self.parse("""
            router_settings:
              model_group_alias:
                fast: gpt-4o-mini
                smart: {model: claude, hidden: false}
            """)
        #expect(catalog.groups == ["fast": ["gpt-4o-mini"], "smart": ["claude"]])
    }

    @Test("fallbacks from both sections, context-window fallbacks merged (noted), default_fallbacks for the rest")
    func fallbacks() throws {
        let (config, catalog) = try Self.parse("""
            router_settings:
              fallbacks: [{gpt-4o: [claude]}]
            litellm_settings:
              fallbacks:
                - gpt-4o: [gpt-4o-mini]
              context_window_fallbacks:
                - gpt-4o-mini: [gpt-4o]
                - gpt-4o: [claude]
              default_fallbacks: [gpt-4o]
            """)
        #expect(catalog.fallbacks["gpt-4o"] == ["claude", "gpt-4o-mini"])
        #expect(catalog.fallbacks["gpt-4o-mini"] == ["gpt-4o"])
        #expect(catalog.fallbacks["claude"] == ["gpt-4o"])
        #expect(config.notes.contains { $0.contains("context_window_fallbacks of gpt-4o-mini") })
    }

    @Test("harmless module settings are accepted: set_verbose (noted), drop_params false, json_logs")
    func harmless() throws {
        let (config, _) = try Self.parse("litellm_settings: {set_verbose: true, drop_params: false, json_logs: true}")
        #expect(config.jsonLogs)
        #expect(config.notes.contains { $0.hasPrefix("litellm_settings.set_verbose") })
    }
}

@Suite("LiteLLM config: refusals")
struct LiteLLMRefusalTests {
    static func refusal(_ yaml: String) throws -> LiteLLMConfig.Refused {
        do {
            _ = try LiteLLMConfig.parse(yaml)
        } catch {
            return error
        }
        throw TestFailure("accepted")
    }

    @Test("every key with no equivalent is named, all at once")
    func namesEveryKey() throws {
        let refused = try Self.refusal("""
            model_list:
              - model_name: a
                litellm_params: {model: openai/gpt-4o, stream_timeout: 10}
                model_info: {base_model: azure/gpt-4o}
              - model_name: b
                litellm_params: {model: openai/gpt-4o-mini, foo: 1, temperature: 0.2, drop_params: true}
            litellm_settings:
              callbacks: [custom_callbacks.proxy_handler_instance]
              success_callback: [langfuse]
              cache: true
              drop_params: true
            router_settings:
              routing_strategy_args: {ttl: 10}
              model_group_alias: {hidden-alias: {model: a, hidden: true}}
            general_settings:
              master_key: sk-1234567890abcdefgh
              store_model_in_db: true
            guardrails:
              - guardrail_name: x
            """)
        #expect(refused.unsupported.map { $0.components(separatedBy: " (")[0] } == [
            "model_list[0].litellm_params.stream_timeout",
            "model_list[0].model_info.base_model",
            "model_list[1].litellm_params.drop_params",
            "model_list[1].litellm_params.foo",
            "model_list[1].litellm_params.temperature",
            "router_settings.model_group_alias.hidden-alias.hidden",
            "litellm_settings.drop_params",
            "router_settings.routing_strategy_args",
            "litellm_settings.callbacks",
            "litellm_settings.success_callback",
            "litellm_settings.cache",
            "general_settings.store_model_in_db",
            "guardrails",
        ])
        #expect(refused.invalid.isEmpty)
        #expect(refused.description.hasPrefix("litellm config: no equivalent for model_list[0].litellm_params.stream_timeout, "))
    }

    @Test("values that cannot be used are named with the reason")
    func namesBadValues() throws {
        let refused = try Self.refusal("""
            model_list:
              - {model_name: a, litellm_params: {model: cohere/command-r, api_key: k}}
              - {model_name: b, litellm_params: {model: mystery-model}}
              - {model_name: c, litellm_params: {model: openai/dall-e-3}, model_info: {mode: image_generation}}
              - {litellm_params: {model: openai/gpt-4o}}
              - {model_name: e, litellm_params: {model: openai/gpt-4o, rpm: lots}}
            router_settings: {routing_strategy: round-robin, num_retries: 20}
            litellm_settings: {request_timeout: 6000}
            """)
        let paths = refused.invalid.map { $0.components(separatedBy: ": ")[0] }
        #expect(paths == [
            "model_list[0].litellm_params.model", "model_list[1].litellm_params.model", "model_list[2].model_info.mode",
            "model_list[3].model_name", "model_list[4].litellm_params.rpm", "router_settings.routing_strategy",
            "router_settings.num_retries", "litellm_settings.request_timeout",
        ])
        #expect(refused.unsupported.isEmpty, "a refused entry's other keys are not reported on top: \(refused.unsupported)")
        #expect(refused.description.contains("provider 'cohere' has no equivalent"))
        #expect(refused.description.contains("'mystery-model' names no provider"))
    }

    @Test("a Scutum catalog is not a LiteLLM config; a file with model_list is")
    func detection() {
        #expect(LiteLLMConfig.isLiteLLM("model_list:\n  - {model_name: a, litellm_params: {model: openai/a}}\n"))
        #expect(!LiteLLMConfig.isLiteLLM("models:\n  - {model_name: a, provider: openai, model: a}\n"))
        #expect(!LiteLLMConfig.isLiteLLM(": not yaml ["))
    }
}

@Suite("LiteLLM config: node variables")
struct LiteLLMVariablesTests {
    static let config = """
        model_list:
          - {model_name: a, litellm_params: {model: openai/gpt-4o}}
        general_settings:
          master_key: os.environ/LITELLM_MASTER_KEY
          database_url: postgresql://litellm:pw@db:5432/litellm
        router_settings: {redis_host: cache, redis_port: 6380, redis_password: "p@ss/word"}
        litellm_settings: {json_logs: true}
        environment_variables: {OPENAI_API_KEY: sk-from-file}
        """

    @Test("general_settings fill the master key, DATABASE_URL, REDIS_URL, log format and environment_variables")
    func fillsUnset() throws {
        let variables = try LiteLLMConfig.parse(Self.config).variables(over: [
            "LITELLM_MASTER_KEY": "sk-litellm-master-0123456789", "SCUTUM_API_KEY": " ",
        ])
        #expect(variables["SCUTUM_API_KEY"] == "sk-litellm-master-0123456789")
        #expect(variables["DATABASE_URL"] == "postgresql://litellm:pw@db:5432/litellm")
        #expect(variables["REDIS_URL"] == "redis://:p%40ss%2Fword@cache:6380")
        #expect(variables["SCUTUM_LOG_FORMAT"] == "json")
        #expect(variables["OPENAI_API_KEY"] == "sk-from-file")
    }

    @Test("the environment wins over the file")
    func environmentWins() throws {
        let given = [
            "LITELLM_MASTER_KEY": "sk-litellm-master-0123456789", "SCUTUM_API_KEY": "sk-scutum-own-key-0123456789",
            "DATABASE_URL": "postgres://mine@h/db", "REDIS_URL": "redis://mine:6379/0", "SCUTUM_LOG_FORMAT": "text",
            "OPENAI_API_KEY": "sk-env",
        ]
        #expect(try LiteLLMConfig.parse(Self.config).variables(over: given) == given)
    }

    @Test("a master key shorter than Scutum accepts is refused by its LiteLLM name")
    func shortMasterKey() throws {
        let config = try LiteLLMConfig.parse("model_list: [{model_name: a, litellm_params: {model: openai/a}}]\ngeneral_settings: {master_key: sk-1234}")
        #expect(throws: LiteLLMConfig.Refused.self) { try config.variables(over: [:]) }
        do {
            _ = try config.variables(over: [:])
        } catch {
            #expect(error.invalid.first?.hasPrefix("general_settings.master_key") == true)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
