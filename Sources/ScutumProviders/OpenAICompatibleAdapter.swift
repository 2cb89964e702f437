import Foundation
import NIOCore
import ScutumCore

/// The adapter for every provider that speaks OpenAI's API: OpenAI, xAI, DeepSeek, any
/// OpenAI-compatible server, and Azure OpenAI (deployment URLs, `api-version`, `api-key` header).
///
/// Request bodies pass through as the caller's bytes with only `model` replaced (and usage
/// requested on streams, so the gateway can count tokens); responses pass through with `model`
/// set to the catalog name, copied only when it differs.
public struct OpenAICompatibleAdapter: ProviderAdapter {
    /// Where the adapter finds the endpoint and how it authenticates.
    public enum Dialect: Sendable {
        /// `{api_base}/chat/completions` with `Authorization: Bearer`.
        case openAI
        /// `{api_base}/openai/deployments/{deployment}/chat/completions?api-version=` with `api-key`.
        case azure
    }

    /// The Azure API version used when the credentials name none.
    public static let defaultAzureAPIVersion = "2024-10-21"

    let http: UpstreamHTTP
    let dialect: Dialect

    public init(http: UpstreamHTTP, dialect: Dialect) {
        self.http = http
        self.dialect = dialect
    }

    public func openAIResponses(for target: RoutableDeployment) -> OpenAICompatibleAdapter? {
        hasResponsesAPI(target) ? self : nil
    }

    public func chatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionResult
    {
        let body = request.upstreamBytes(model: target.deployment.upstreamModel, forceUsage: false)
        let (bytes, usage) = try await postAndRelabel(body, "chat/completions", target)
        return ChatCompletionResult(body: bytes, usage: usage)
    }

    public func streamChatCompletion(_ request: ChatCompletionRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> ChatCompletionStream
    {
        let body = request.upstreamBytes(model: target.deployment.upstreamModel, forceUsage: true)
        let (url, headers) = try endpoint("chat/completions", target)
        let response = try await http.postJSON(url: url, headers: headers, body: body)
        try UpstreamHTTP.expectContentType(response, "text/event-stream")
        return ChatCompletionStream(OpenAIStreamSource(body: response.body, modelName: target.deployment.name))
    }

    public func embeddings(_ request: EmbeddingRequest, on target: RoutableDeployment)
        async throws(ProviderError) -> EmbeddingResult
    {
        let body = request.upstreamBytes(model: target.deployment.upstreamModel)
        let (bytes, usage) = try await postAndRelabel(body, "embeddings", target)
        return EmbeddingResult(body: bytes, usage: usage)
    }

    /// The direct lane's call for a chat completion on `target` (the caller's bytes with `model`
    /// replaced, usage requested on streams); nil when the lane cannot send it (no endpoint, or a URL
    /// it does not take), so `UpstreamHTTP` does.
    public func laneRequest(_ request: ChatCompletionRequest, on target: RoutableDeployment) -> LaneRequest? {
        guard let (url, headers) = try? endpoint("chat/completions", target) else { return nil }
        return LaneRequest(url: url, headers: headers,
            body: request.upstreamBytes(model: target.deployment.upstreamModel, forceUsage: true))
    }

    /// A whole successful (2xx) chat completion the lane read, named for the catalog model.
    public func laneResult(_ bytes: ByteBuffer, on target: RoutableDeployment) throws(ProviderError)
        -> ChatCompletionResult
    {
        let inspection = try ChunkInspector.inspect(bytes, renamingModelTo: target.deployment.name,
            what: "the chat/completions response")
        return ChatCompletionResult(body: inspection.json, usage: inspection.usage)
    }

    /// POSTs `body` to `operation`, reads the whole JSON answer, and names the catalog model in it.
    func postAndRelabel(_ body: ByteBuffer, _ operation: String, _ target: RoutableDeployment)
        async throws(ProviderError) -> (ByteBuffer, TokenUsage?)
    {
        let (url, headers) = try endpoint(operation, target)
        let response = try await http.postJSON(url: url, headers: headers, body: body)
        let bytes = try await http.collect(response)
        let inspection = try ChunkInspector.inspect(bytes, renamingModelTo: target.deployment.name,
            what: "the \(operation) response")
        return (inspection.json, inspection.usage)
    }

    /// The URL and auth headers for an operation (`chat/completions`, `embeddings`).
    func endpoint(_ operation: String, _ target: RoutableDeployment) throws(ProviderError)
        -> (url: String, headers: [(String, String)])
    {
        let credentials = target.credentials
        switch dialect {
        case .openAI:
            guard let base = credentials.apiBase ?? Self.defaultBase(for: target.deployment.provider) else {
                throw ProviderError(.status(500), "no api_base configured for \(target.deployment.name)")
            }
            let headers = credentials.apiKey.map { [("Authorization", "Bearer \($0)")] } ?? []
            return (URLPath.join(base, operation), headers)
        case .azure:
            guard let base = credentials.apiBase, let key = credentials.apiKey else {
                throw ProviderError(.status(500), "Azure needs AZURE_API_BASE and AZURE_API_KEY")
            }
            let deployment = target.deployment.upstreamModel.addingPercentEncoding(
                withAllowedCharacters: .urlPathAllowed) ?? target.deployment.upstreamModel
            let version = credentials.apiVersion ?? Self.defaultAzureAPIVersion
            let url = URLPath.join(base, "openai/deployments/\(deployment)/\(operation)") + "?api-version=\(version)"
            return (url, [("api-key", key)])
        }
    }

    /// The public endpoint of a provider when the credentials name no `api_base`.
    static func defaultBase(for kind: ProviderKind) -> String? {
        switch kind {
        case .openai: "https://api.openai.com/v1"
        case .xai: "https://api.x.ai/v1"
        case .deepseek: "https://api.deepseek.com/v1"
        default: nil
        }
    }
}
