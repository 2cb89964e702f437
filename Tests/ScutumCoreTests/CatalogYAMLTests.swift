import Foundation
import ScutumCore
import Testing

@Suite("Catalog YAML round trip (scutum config convert)")
struct CatalogYAMLTests {
    static let environment = [
        "OPENAI_API_KEY": "sk-openai", "AZURE_API_KEY": "az", "AZURE_API_BASE": "https://res.openai.azure.com",
        "ANTHROPIC_API_KEY": "sk-ant", "AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "secret",
        "MY_KEY": "sk-mine", "VERTEXAI_PROJECT": "proj", "GOOGLE_APPLICATION_CREDENTIALS": "/sa.json",
    ]

    static func build(_ file: CatalogFile) throws -> ModelCatalog {
        try file.catalog(environment: environment, supportedKinds: Set(ProviderKind.allCases))
    }

    /// Fails unless both catalogs serve the same: deployments, groups, chains, policies, strategy, credentials.
    static func expectSame(_ lhs: ModelCatalog, _ rhs: ModelCatalog) {
        #expect(lhs.deployments == rhs.deployments)
        #expect(lhs.groups == rhs.groups)
        #expect(lhs.fallbacks == rhs.fallbacks)
        #expect(lhs.retryPolicy == rhs.retryPolicy)
        #expect(lhs.retryPolicies == rhs.retryPolicies)
        #expect(lhs.defaultStrategy == rhs.defaultStrategy)
        #expect(lhs.credentials.keys.sorted() == rhs.credentials.keys.sorted())
        for (name, set) in lhs.credentials {
            let other = rhs.credentials[name]
            #expect(set.apiKey == other?.apiKey && set.apiBase == other?.apiBase && set.apiVersion == other?.apiVersion
                && set.extra == other?.extra, "credential set \(name)")
        }
    }

    static let litellm = """
        model_list:
          - model_name: gpt-4o
            litellm_params: {model: azure/gpt-4o-eu, api_key: os.environ/MY_KEY, api_base: "https://eu.example/", api_version: "2025-01-01", rpm: 100, weight: 2}
            model_info: {id: eu, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001, max_input_tokens: 128000}
          - model_name: gpt-4o
            litellm_params: {model: openai/gpt-4o, order: 2, timeout: 45}
            model_info: {id: direct, cache_read_input_token_cost: 0.00000125}
          - model_name: claude
            litellm_params: {model: anthropic/claude-sonnet-4-5, tpm: 2000000}
            model_info: {max_output_tokens: 64000, cache_creation_input_token_cost_above_1hr: 0.000006}
          - model_name: nova
            litellm_params: {model: bedrock/converse/amazon.nova-pro-v1:0, aws_region_name: eu-west-1}
          - model_name: gemini-v
            litellm_params: {model: vertex_ai/gemini-2.5-pro, vertex_location: europe-west4}
          - model_name: embed
            litellm_params: {model: openai/text-embedding-3-small}
            model_info: {mode: embedding}
        router_settings:
          routing_strategy: usage-based-routing-v2
          num_retries: 2
          retry_after: 0.25
          retry_policy: {RateLimitErrorRetries: 3, TimeoutErrorRetries: 0}
          model_group_alias: {smart: claude}
        litellm_settings:
          request_timeout: 120
          fallbacks: [{gpt-4o: [claude]}, {claude: [gpt-4o]}]
        """

    @Test("a converted LiteLLM config parses back to the same catalog")
    func litellmRoundTrip() throws {
        let config = try LiteLLMConfig.parse(Self.litellm)
        let yaml = try config.catalog.yaml(comments: ["converted"])
        #expect(yaml.hasPrefix("# converted\n\n"))
        #expect(!LiteLLMConfig.isLiteLLM(yaml))
        let direct = try Self.build(config.catalog)
        let reparsed = try Self.build(try CatalogFile.parse(yaml))
        Self.expectSame(direct, reparsed)
        // What the round trip preserves is what the conversion mapped.
        #expect(reparsed.pool(named: "gpt-4o").map(\.id) == ["eu", "direct"])
        #expect(reparsed.defaultStrategy == .usageBased)
        #expect(reparsed.retryPolicy.retries == 3)
        #expect(reparsed.retryPolicy(for: "gpt-4o").attemptTimeout == .seconds(45))
        #expect(reparsed.groups["smart"] == ["claude"])
        // The same catalog always gives the same text.
        #expect(try CatalogFile.parse(yaml).yaml(comments: ["converted"]) == yaml)
    }

    @Test("the bundled config/models.yaml survives the YAML round trip")
    func bundledCatalogRoundTrip() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/models.yaml").path
        let original = try CatalogFile.parse(try String(contentsOfFile: path, encoding: .utf8))
        let reparsed = try CatalogFile.parse(try original.yaml())
        Self.expectSame(try Self.build(original), try Self.build(reparsed))
    }
}

@Suite("The bundled LiteLLM example")
struct LiteLLMExampleTests {
    static func file(_ name: String) throws -> String {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/\(name)").path
        return try String(contentsOfFile: path, encoding: .utf8)
    }

    @Test("config/litellm.example.yaml serves config/models.yaml's models and fallback chains")
    func matchesTheBundledCatalog() throws {
        let litellm = try LiteLLMConfig.parse(try Self.file("litellm.example.yaml"))
        #expect(litellm.masterKey == "${LITELLM_MASTER_KEY}")
        let converted = try CatalogYAMLTests.build(litellm.catalog)
        let bundled = try CatalogYAMLTests.build(try CatalogFile.parse(try Self.file("models.yaml")))
        #expect(converted.modelNames == bundled.modelNames)
        /// What a deployment serves, apart from where its credentials come from.
        func served(_ deployment: ModelDeployment) -> String {
            "\(deployment.provider) \(deployment.upstreamModel) \(deployment.mode) \(deployment.inputCostPerToken) "
                + "\(deployment.outputCostPerToken) \(deployment.rpm ?? 0) \(deployment.tpm ?? 0) "
                + "\(deployment.contextWindow ?? 0) \(deployment.maxOutputTokens ?? 0)"
        }
        for name in bundled.modelNames {
            let expected = try #require(bundled.deployment(named: name))
            #expect(converted.pool(named: name).map(served).allSatisfy { $0 == served(expected) }, "\(name)")
        }
        #expect(converted.pool(named: "claude-sonnet-4.5").count == 2)
        #expect(converted.fallbacks == bundled.fallbacks)
        #expect(converted.groups == bundled.groups.mapValues { [$0[0]] })
        #expect(converted.defaultStrategy == .simpleShuffle)
    }
}
