import Foundation
import ScutumCore
import Testing

@Suite("Catalog file")
struct CatalogFileTests {
    // MARK: ${VAR} interpolation

    @Test("${VAR} and ${VAR:-default}", arguments: [
        ("${A}", "alpha"),
        ("${MISSING}", ""),
        ("${EMPTY}", ""),
        ("${A:-fallback}", "alpha"),
        ("${MISSING:-fallback}", "fallback"),
        // `:-` uses the default for an empty value too, as the shell does.
        ("${EMPTY:-fallback}", "fallback"),
        ("${MISSING:-}", ""),
        ("https://${HOST:-api.example.com}/v1", "https://api.example.com/v1"),
        ("${A}-${B}", "alpha-beta"),
        ("pre ${A} mid ${MISSING:-x} post", "pre alpha mid x post"),
        ("${MISSING:-a:-b}", "a:-b"),
        ("${MISSING:-http://h:1/p}", "http://h:1/p"),
        ("no references", "no references"),
        ("$A stays", "$A stays"),
        ("${unclosed", "${unclosed"),
        ("x ${A} ${unclosed", "x alpha ${unclosed"),
        ("$${A}", "$alpha"),
        ("", ""),
    ])
    func interpolate(_ input: String, _ expected: String) {
        let environment = ["A": "alpha", "B": "beta", "EMPTY": ""]
        #expect(CatalogFile.interpolate(input, environment: environment) == expected)
    }

    @Test("values from the environment are not interpolated again")
    func noRecursion() {
        #expect(CatalogFile.interpolate("${A}", environment: ["A": "${B}", "B": "b"]) == "${B}")
    }

    // MARK: Parsing

    @Test("credentials read the environment; the catalog keeps the file's order")
    func parsesWithInterpolation() throws {
        let file = try CatalogFile.parse(testCatalogYAML)
        #expect(file.models.map(\.model_name) == [
            "gpt-a", "gpt-b", "embed-a", "claude-a", "gemini-a", "gemini-b", "grok-a", "azure-a", "llama",
        ])
        #expect(file.credentials?["openai"]?.api_key == "${OPENAI_API_KEY}")
        let catalog = try file.catalog(
            environment: ["OPENAI_API_KEY": "sk-1", "OPENAI_API_BASE": "http://proxy:8080/v1", "AZURE_API_VERSION": ""],
            supportedKinds: Set(ProviderKind.allCases))
        #expect(catalog.credentials["openai"]?.apiKey == "sk-1")
        #expect(catalog.credentials["openai"]?.apiBase == "http://proxy:8080/v1")
        #expect(catalog.credentials["azure"]?.apiVersion == "2024-10-21")
        #expect(catalog.credentials["anthropic"]?.apiKey == nil)
        #expect(catalog.deployments.map(\.name) == file.models.map(\.model_name))
        #expect(catalog.deployment(named: "embed-a")?.mode == .embedding)
        #expect(catalog.deployment(named: "gpt-a")?.mode == .chat)
        #expect(catalog.deployment(named: "llama")?.credentials == "local")
        #expect(catalog.groups["smart"] == ["claude-a", "gpt-a"])
    }

    @Test("extra credential fields are interpolated")
    func extraInterpolated() throws {
        let yaml = """
            credentials:
              bedrock:
                api_key: ${AWS_ACCESS_KEY_ID}
                extra:
                  secret_key: ${AWS_SECRET_ACCESS_KEY}
                  region: ${AWS_REGION:-us-east-1}
                  session_token: ${AWS_SESSION_TOKEN}
            models:
              - model_name: claude-bedrock
                provider: bedrock
                model: anthropic.claude
            """
        let catalog = try CatalogFile.parse(yaml).catalog(
            environment: ["AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"], supportedKinds: [.bedrock])
        let credentials = try #require(catalog.credentials["bedrock"])
        #expect(credentials.extra == ["secret_key": "SK", "region": "us-east-1"])
        #expect(catalog.isRoutable("claude-bedrock"))
    }

    @Test("the shipped config/models.yaml parses and builds")
    func shippedCatalog() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/models.yaml").path
        let yaml = try String(contentsOfFile: path, encoding: .utf8)
        let file = try CatalogFile.parse(yaml)
        #expect(!file.models.isEmpty)
        let empty = try file.catalog(environment: [:], supportedKinds: Set(ProviderKind.allCases))
        #expect(empty.routableNames().isEmpty, "models routable without any key: \(empty.routableNames().map(\.name))")
        let openai = try file.catalog(environment: ["OPENAI_API_KEY": "sk-x"], supportedKinds: Set(ProviderKind.allCases))
        #expect(openai.hasAnyProviderCredentials)
        #expect(openai.credentials["openai"]?.apiBase == "https://api.openai.com/v1")
        for deployment in empty.deployments where deployment.provider == .gemini {
            #expect(empty.providerAliases["google"]?.contains(deployment.name) == true)
        }
    }

    // MARK: Errors

    func catalogError(_ yaml: String) -> String? {
        do {
            _ = try CatalogFile.parse(yaml).catalog(environment: [:], supportedKinds: Set(ProviderKind.allCases))
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("two deployments with one id")
    func duplicateDeploymentID() throws {
        let message = try #require(catalogError("""
            models:
              - {model_name: a, provider: openai, model: x, id: east}
              - {model_name: b, provider: openai, model: y}
              - {model_name: a, provider: anthropic, model: z, id: east}
            """))
        #expect(message == "model a: deployment id 'east' is used twice (give each deployment its own `id`)")
    }

    @Test("an unknown provider, listing the known ones")
    func unknownProvider() throws {
        let message = try #require(catalogError("""
            models:
              - {model_name: a, provider: openia, model: x}
            """))
        #expect(message.contains("model a: unknown provider 'openia'"))
        #expect(message.contains("openai, azure"))
        #expect(message.contains("openai_compatible"))
    }

    @Test("an alias naming an unknown model")
    func aliasUnknownModel() throws {
        let message = try #require(catalogError("""
            models:
              - {model_name: a, provider: openai, model: x}
            aliases:
              fast: [a, nope]
            """))
        #expect(message == "alias fast names unknown model nope")
    }

    @Test("an alias with a model's name")
    func aliasShadowsModel() throws {
        let message = try #require(catalogError("""
            models:
              - {model_name: a, provider: openai, model: x}
              - {model_name: b, provider: openai, model: y}
            aliases:
              a: [b]
            """))
        #expect(message == "alias a has the name of a model")
    }

    @Test("a fallback chain naming an unknown model, at either end")
    func fallbackUnknown() throws {
        let tail = try #require(catalogError("""
            models:
              - {model_name: a, provider: openai, model: x}
            fallbacks:
              a: [ghost]
            """))
        #expect(tail == "fallback chain of a names unknown model ghost")
        let head = try #require(catalogError("""
            models:
              - {model_name: a, provider: openai, model: x}
            fallbacks:
              ghost: [a]
            """))
        #expect(head == "fallback chain of ghost names unknown model ghost")
    }

    @Test("malformed YAML and missing fields are reported as catalog errors", arguments: [
        "models: [ {model_name: a, provider: openai",
        "credentials: {}",
        "models:\n  - {model_name: a, model: x}",
        "models:\n  - {model_name: a, provider: openai, model: x, mode: image}",
        "models:\n  - {model_name: a, provider: openai, model: x, rpm: lots}",
        "models: 5",
        "",
    ])
    func malformed(_ yaml: String) {
        do {
            let file = try CatalogFile.parse(yaml)
            Issue.record("parsed: \(file.models.map(\.model_name))")
        } catch let error as CatalogFile.Invalid {
            #expect(error.description.hasPrefix("model catalog: "))
        } catch {
            Issue.record("unexpected error type \(type(of: error)): \(error)")
        }
    }
}
