import Foundation
import Yams

/// The YAML model catalog (`config/models.yaml`): credentials, models, group aliases, fallbacks.
///
/// Values may reference the environment as `${NAME}` or `${NAME:-default}`.
public struct CatalogFile: Decodable, Sendable {
    public struct Credentials: Decodable, Sendable {
        public var api_key: String?
        public var api_base: String?
        public var api_version: String?
        public var extra: [String: String]?
    }

    public struct Model: Decodable, Sendable {
        public var model_name: String
        public var provider: String
        /// The provider's model id (or Azure deployment name).
        public var model: String
        /// Which credential set; defaults to the provider's name.
        public var credentials: String?
        public var mode: ModelMode?
        public var input_cost_per_token: Double?
        public var output_cost_per_token: Double?
        public var rpm: Int?
        public var tpm: Int?
        public var context_window: Int?
        public var max_output_tokens: Int?
        /// `native` (the default) or `translated`: how `/v1/responses` reaches an OpenAI or Azure
        /// deployment (a server without the Responses API needs `translated`).
        public var responses_api: String?
    }

    public var credentials: [String: Credentials]?
    public var models: [Model]
    public var aliases: [String: [String]]?
    public var fallbacks: [String: [String]]?

    /// Errors in the catalog file, each naming what is wrong.
    public struct Invalid: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Parses YAML text.
    public static func parse(_ yaml: String) throws -> CatalogFile {
        do {
            return try YAMLDecoder().decode(CatalogFile.self, from: yaml)
        } catch {
            throw Invalid(description: "model catalog: \(error)")
        }
    }

    /// Builds the catalog, reading `${VAR}` references from `environment`.
    public func catalog(environment: [String: String], supportedKinds: Set<ProviderKind>) throws -> ModelCatalog {
        var sets: [String: ProviderCredentials] = [:]
        for (name, entry) in credentials ?? [:] {
            let expand = { (value: String?) in value.map { Self.interpolate($0, environment: environment) } }
            sets[name] = ProviderCredentials(
                name: name, apiKey: expand(entry.api_key), apiBase: expand(entry.api_base),
                apiVersion: expand(entry.api_version),
                extra: (entry.extra ?? [:]).mapValues { Self.interpolate($0, environment: environment) })
        }
        var seen: Set<String> = []
        var deployments: [ModelDeployment] = []
        for model in models {
            guard let kind = ProviderKind(rawValue: model.provider) else {
                let known = ProviderKind.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "model \(model.model_name): unknown provider '\(model.provider)' (known: \(known))")
            }
            guard seen.insert(model.model_name).inserted else {
                throw Invalid(description: "model \(model.model_name) is listed twice")
            }
            let nativeResponses: Bool
            switch model.responses_api {
            case nil, "native": nativeResponses = true
            case "translated": nativeResponses = false
            case let other?:
                throw Invalid(description: "model \(model.model_name): responses_api '\(other)' must be native or translated")
            }
            deployments.append(ModelDeployment(
                name: model.model_name, provider: kind, upstreamModel: model.model, credentials: model.credentials,
                mode: model.mode ?? .chat, inputCostPerToken: model.input_cost_per_token ?? 0,
                outputCostPerToken: model.output_cost_per_token ?? 0, rpm: model.rpm, tpm: model.tpm,
                contextWindow: model.context_window, maxOutputTokens: model.max_output_tokens,
                nativeResponses: nativeResponses))
        }
        for (alias, members) in aliases ?? [:] {
            if seen.contains(alias) { throw Invalid(description: "alias \(alias) has the name of a model") }
            for member in members where !seen.contains(member) {
                throw Invalid(description: "alias \(alias) names unknown model \(member)")
            }
        }
        for (model, chain) in fallbacks ?? [:] {
            for member in [model] + chain where !seen.contains(member) {
                throw Invalid(description: "fallback chain of \(model) names unknown model \(member)")
            }
        }
        return ModelCatalog(deployments: deployments, groups: aliases ?? [:], fallbacks: fallbacks ?? [:],
            credentials: sets, supportedKinds: supportedKinds)
    }

    /// Replaces `${NAME}` and `${NAME:-default}` with values from `environment`.
    public static func interpolate(_ text: String, environment: [String: String]) -> String {
        guard text.contains("${") else { return text }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                result += rest[open.lowerBound...]
                return result
            }
            let reference = rest[open.upperBound..<close]
            let parts = reference.split(separator: ":-", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            let fallback = parts.count > 1 ? String(parts[1]) : ""
            let value = environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
            result += value
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
