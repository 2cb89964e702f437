import Foundation
import ScutumCore
import Testing

/// A catalog in the shape of `config/models.yaml`, small enough to reason about.
let testCatalogYAML = """
    credentials:
      openai:
        api_key: ${OPENAI_API_KEY}
        api_base: ${OPENAI_API_BASE:-https://api.openai.com/v1}
      anthropic:
        api_key: ${ANTHROPIC_API_KEY}
      gemini:
        api_key: ${GEMINI_API_KEY}
      azure:
        api_key: ${AZURE_API_KEY}
        api_base: ${AZURE_API_BASE}
        api_version: ${AZURE_API_VERSION:-2024-10-21}
      local:
        api_base: ${LOCAL_LLM_API_BASE}
    models:
      - {model_name: gpt-a, provider: openai, model: gpt-a-upstream, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, rpm: 100, tpm: 1000, context_window: 128000, max_output_tokens: 4096}
      - {model_name: gpt-b, provider: openai, model: gpt-b-upstream}
      - {model_name: embed-a, provider: openai, model: text-embedding-3-small, mode: embedding}
      - {model_name: claude-a, provider: anthropic, model: claude-upstream}
      - {model_name: gemini-a, provider: gemini, model: gemini-upstream}
      - {model_name: gemini-b, provider: gemini, model: gemini-upstream-2}
      - {model_name: grok-a, provider: xai, model: grok}
      - {model_name: azure-a, provider: azure, model: my-deployment}
      - {model_name: llama, provider: openai_compatible, model: llama3, credentials: local}
    aliases:
      smart: [claude-a, gpt-a]
      fast: [gpt-b, gemini-a]
      embed: [embed-a]
      nothing-works: [claude-a, grok-a]
    fallbacks:
      gpt-a: [claude-a, gemini-a]
    """

func testCatalog(
    environment: [String: String] = ["OPENAI_API_KEY": "sk-openai", "GEMINI_API_KEY": "g-key"],
    supportedKinds: Set<ProviderKind> = Set(ProviderKind.allCases)
) throws -> ModelCatalog {
    try CatalogFile.parse(testCatalogYAML).catalog(environment: environment, supportedKinds: supportedKinds)
}

func resolveError(_ catalog: ModelCatalog, _ name: String, mode: ModelMode = .chat) -> GatewayError? {
    do {
        let routable = try catalog.resolve(name, mode: mode)
        Issue.record("\(name) resolved to \(routable.map(\.deployment.name))")
        return nil
    } catch {
        return error
    }
}

@Suite("Model catalog resolution")
struct ModelCatalogTests {
    @Test("an exact model name resolves to itself with its credentials")
    func exact() throws {
        let routable = try testCatalog().resolve("gpt-a", mode: .chat)
        try #require(routable.count == 1)
        let deployment = routable[0].deployment
        #expect(deployment.name == "gpt-a")
        #expect(deployment.provider == .openai)
        #expect(deployment.upstreamModel == "gpt-a-upstream")
        #expect(deployment.credentials == "openai")
        #expect(deployment.inputCostPerToken == 0.000001)
        #expect(deployment.outputCostPerToken == 0.000002)
        #expect(deployment.rpm == 100 && deployment.tpm == 1000)
        #expect(deployment.contextWindow == 128000 && deployment.maxOutputTokens == 4096)
        #expect(routable[0].credentials.apiKey == "sk-openai")
        #expect(routable[0].credentials.apiBase == "https://api.openai.com/v1")
    }

    @Test("a group alias resolves to its routable members in order")
    func groupAlias() throws {
        let catalog = try testCatalog()
        #expect(try catalog.resolve("fast", mode: .chat).map(\.deployment.name) == ["gpt-b", "gemini-a"])
        // claude-a has no key: only gpt-a is returned, not an error.
        #expect(try catalog.resolve("smart", mode: .chat).map(\.deployment.name) == ["gpt-a"])
        let withClaude = try testCatalog(environment: ["OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "a"])
        #expect(try withClaude.resolve("smart", mode: .chat).map(\.deployment.name) == ["claude-a", "gpt-a"])
        #expect(try catalog.resolve("embed", mode: .embedding).map(\.deployment.name) == ["embed-a"])
    }

    @Test("provider aliases: openai, google for Gemini, filtered by mode")
    func providerAlias() throws {
        let catalog = try testCatalog()
        #expect(try catalog.resolve("google", mode: .chat).map(\.deployment.name) == ["gemini-a", "gemini-b"])
        #expect(try catalog.resolve("google", mode: .chat).allSatisfy { $0.credentials.apiKey == "g-key" })
        #expect(try catalog.resolve("openai", mode: .chat).map(\.deployment.name) == ["gpt-a", "gpt-b"])
        #expect(try catalog.resolve("openai", mode: .embedding).map(\.deployment.name) == ["embed-a"])
        #expect(catalog.providerAliases["google"] == ["gemini-a", "gemini-b"])
        #expect(catalog.providerAliases["openai_compatible"] == ["llama"])
        // Gemini's alias is `google`; its raw value is not an alias.
        #expect(catalog.providerAliases["gemini"] == nil)
        #expect(ProviderKind.gemini.aliasName == "google")
    }

    @Test("an unknown name is 404 model_not_found")
    func unknown() throws {
        let error = try #require(resolveError(try testCatalog(), "gpt-9"))
        #expect(error.status == 404)
        #expect(error.code == "model_not_found")
        #expect(error.param == "model")
        #expect(error.message.contains("'gpt-9'"))
        // Names are case-sensitive.
        #expect(resolveError(try testCatalog(), "GPT-A")?.status == 404)
    }

    @Test("a model of the wrong mode is 400 model_not_supported")
    func wrongMode() throws {
        let catalog = try testCatalog()
        let chatOnEmbedding = try #require(resolveError(catalog, "embed-a", mode: .chat))
        #expect(chatOnEmbedding.status == 400)
        #expect(chatOnEmbedding.code == "model_not_supported")
        #expect(chatOnEmbedding.message == "The model 'embed-a' is not a chat model.")
        let embeddingOnChat = try #require(resolveError(catalog, "gpt-a", mode: .embedding))
        #expect(embeddingOnChat.status == 400)
        #expect(embeddingOnChat.code == "model_not_supported")
        #expect(embeddingOnChat.message.contains("'gpt-a'"))
        // An alias with no member of the mode.
        #expect(resolveError(catalog, "embed", mode: .chat)?.status == 400)
        #expect(resolveError(catalog, "google", mode: .embedding)?.status == 400)
    }

    @Test("a model without its key is 503 naming the variable to set")
    func missingKey() throws {
        let catalog = try testCatalog()
        let error = try #require(resolveError(catalog, "claude-a"))
        #expect(error.status == 503)
        #expect(error.code == "no_available_deployment")
        #expect(error.type == "service_unavailable")
        #expect(error.message.contains("claude-a"))
        #expect(error.message.contains("ANTHROPIC_API_KEY"), "message: \(error.message)")
        #expect(catalog.unavailableReason("claude-a")?.contains("ANTHROPIC_API_KEY") == true)
        // The provider alias too.
        #expect(resolveError(catalog, "anthropic")?.message.contains("ANTHROPIC_API_KEY") == true)
        // Azure needs both key and endpoint.
        let azure = try #require(resolveError(catalog, "azure-a"))
        #expect(azure.status == 503)
        #expect(azure.message.contains("AZURE_API_KEY and AZURE_API_BASE"))
        let keyOnly = try testCatalog(environment: ["AZURE_API_KEY": "k"])
        #expect(resolveError(keyOnly, "azure-a")?.status == 503)
        let both = try testCatalog(environment: ["AZURE_API_KEY": "k", "AZURE_API_BASE": "https://x.openai.azure.com"])
        let routable = try both.resolve("azure-a", mode: .chat)
        #expect(routable.first?.credentials.apiVersion == "2024-10-21")
        // OpenAI-compatible servers need an api_base, not a key.
        #expect(resolveError(catalog, "llama")?.message.contains("api_base") == true)
        let local = try testCatalog(environment: ["LOCAL_LLM_API_BASE": "http://localhost:11434/v1"])
        #expect(try local.resolve("llama", mode: .chat).first?.credentials.name == "local")
    }

    @Test("a model whose credential set is absent is 503 naming the set")
    func missingCredentialSet() throws {
        let error = try #require(resolveError(try testCatalog(), "grok-a"))
        #expect(error.status == 503)
        #expect(error.message.contains("'xai'"), "message: \(error.message)")
    }

    @Test("an alias where nothing works is 503 listing every member's reason")
    func aliasNothingWorks() throws {
        let error = try #require(resolveError(try testCatalog(), "nothing-works"))
        #expect(error.status == 503)
        #expect(error.message.contains("claude-a: "))
        #expect(error.message.contains("ANTHROPIC_API_KEY"))
        #expect(error.message.contains("grok-a: "))
    }

    @Test("a provider without an adapter on this node is not routable")
    func unsupportedKind() throws {
        let catalog = try testCatalog(supportedKinds: [.openai])
        let error = try #require(resolveError(catalog, "gemini-a"))
        #expect(error.status == 503)
        #expect(error.message.contains("adapter is not enabled"))
        #expect(try catalog.resolve("fast", mode: .chat).map(\.deployment.name) == ["gpt-b"])
    }

    @Test("routableNames lists routable models in catalog order, then aliases sorted")
    func routableNames() throws {
        let catalog = try testCatalog()
        let chat = catalog.routableNames(mode: .chat)
        #expect(chat.map(\.name) == ["gpt-a", "gpt-b", "gemini-a", "gemini-b", "fast", "google", "openai", "smart"])
        #expect(chat.first { $0.name == "gpt-a" }?.ownedBy == "openai")
        #expect(chat.first { $0.name == "gemini-a" }?.ownedBy == "google")
        #expect(chat.first { $0.name == "gpt-a" }?.isAlias == false)
        #expect(chat.first { $0.name == "fast" }?.ownedBy == "scutum-alias")
        #expect(chat.first { $0.name == "fast" }?.isAlias == true)

        let embedding = catalog.routableNames(mode: .embedding)
        #expect(embedding.map(\.name) == ["embed-a", "embed", "openai"])

        let all = catalog.routableNames()
        #expect(all.map(\.name) == [
            "gpt-a", "gpt-b", "embed-a", "gemini-a", "gemini-b", "embed", "fast", "google", "openai", "smart",
        ])
        #expect(!all.contains { ["claude-a", "grok-a", "anthropic", "xai", "nothing-works"].contains($0.name) })
    }

    @Test("with no credentials nothing is routable")
    func nothingRoutable() throws {
        let catalog = try testCatalog(environment: [:])
        #expect(!catalog.hasAnyProviderCredentials)
        #expect(catalog.routableNames().isEmpty)
        #expect(try testCatalog().hasAnyProviderCredentials)
        #expect(!catalog.isRoutable("gpt-a"))
        #expect(catalog.deployment(named: "gpt-a") != nil)
        #expect(catalog.unavailableReason("gpt-a")?.contains("OPENAI_API_KEY") == true)
    }

    @Test("fallback chains are kept")
    func fallbacks() throws {
        #expect(try testCatalog().fallbacks == ["gpt-a": ["claude-a", "gemini-a"]])
    }

    @Test("cost of a call")
    func cost() throws {
        let deployment = try #require(try testCatalog().deployment(named: "gpt-a"))
        let cost = deployment.cost(of: TokenUsage(promptTokens: 1000, completionTokens: 500))
        #expect(abs(cost - 0.002) < 1e-12)
        #expect(try testCatalog().deployment(named: "gpt-b")?.cost(of: TokenUsage(promptTokens: 9, completionTokens: 9)) == 0)
    }

    @Test("pointingEverything routes every model to the mock, Azure at the root")
    func pointingEverything() throws {
        let catalog = try testCatalog(environment: [:]).pointingEverything(atRoot: "http://127.0.0.1:9/", apiKey: "mk")
        #expect(catalog.hasAnyProviderCredentials)
        let openai = try catalog.resolve("gpt-a", mode: .chat)[0]
        #expect(openai.credentials.apiBase == "http://127.0.0.1:9/v1")
        #expect(openai.credentials.apiKey == "mk")
        #expect(openai.deployment.upstreamModel == "gpt-a-upstream")
        let azure = try catalog.resolve("azure-a", mode: .chat)[0]
        #expect(azure.credentials.apiBase == "http://127.0.0.1:9")
        #expect(azure.credentials.apiVersion != nil)
        #expect(try catalog.resolve("claude-a", mode: .chat).count == 1)
    }
}

@Suite("Provider credentials")
struct ProviderCredentialsTests {
    @Test("empty strings count as unset")
    func emptyIsUnset() {
        let credentials = ProviderCredentials(name: "x", apiKey: "", apiBase: "", apiVersion: "", extra: ["a": ""])
        #expect(credentials.apiKey == nil)
        #expect(credentials.apiBase == nil)
        #expect(credentials.apiVersion == nil)
        #expect(credentials.extra.isEmpty)
    }

    @Test("what each provider needs")
    func requirements() {
        let key = ProviderCredentials(name: "k", apiKey: "key")
        for kind in [ProviderKind.openai, .xai, .deepseek, .anthropic, .gemini] {
            #expect(key.missing(for: kind) == nil, "\(kind)")
            #expect(ProviderCredentials(name: "n").missing(for: kind)?.contains(kind.keyVariable) == true, "\(kind)")
        }
        #expect(key.missing(for: .azure) != nil)
        #expect(ProviderCredentials(name: "a", apiKey: "k", apiBase: "https://a").missing(for: .azure) == nil)
        #expect(key.missing(for: .openaiCompatible) != nil)
        #expect(ProviderCredentials(name: "l", apiBase: "http://l").missing(for: .openaiCompatible) == nil)
        #expect(key.missing(for: .bedrock) != nil)
        #expect(ProviderCredentials(name: "b", apiKey: "k", extra: ["secret_key": "s"]).missing(for: .bedrock) == nil)
        #expect(ProviderCredentials(name: "v", extra: ["project": "p"]).missing(for: .vertex) != nil)
        #expect(ProviderCredentials(name: "v", extra: ["project": "p", "credentials_file": "/f"]).missing(for: .vertex) == nil)
    }

    @Test("the description never shows the key")
    func description() {
        let credentials = ProviderCredentials(name: "openai", apiKey: "sk-secret-value", apiBase: "https://api")
        #expect(!"\(credentials)".contains("sk-secret-value"))
        #expect(!String(reflecting: credentials).contains("sk-secret-value"))
        #expect("\(credentials)".contains("set"))
    }
}
