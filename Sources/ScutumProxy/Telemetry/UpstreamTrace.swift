import Foundation
import ScutumCore
import ScutumProviders
import Synchronization
import Tracing

/// The trace spans of one request's provider calls, following OpenTelemetry's GenAI semantic
/// conventions: a client span per attempt named `{gen_ai.operation.name} {gen_ai.request.model}`.
/// A failed attempt's span ends with the error; the successful one stays open until the request
/// finishes, so a stream's span covers the whole stream and carries its token usage.
///
/// Made only when tracing is on (`SCUTUM_TRACING`), so a request without it pays nothing here.
final class UpstreamTrace: Sendable {
    /// The successful call's span, ended by `finish`.
    private let open = Mutex<(any Span)?>(nil)

    /// Runs one provider call inside its span.
    func call<T>(_ operation: Operation, model: String, request: [String: JSONValue], on target: RoutableDeployment,
        requestID: String, _ body: () async throws(ProviderError) -> T) async throws(ProviderError) -> T
    {
        let span = startSpan("\(operation.rawValue) \(target.deployment.upstreamModel)", ofKind: .client)
        if span.isRecording {
            Self.describe(span, operation, model: model, request: request, target: target)
            span.attributes["scutum.request_id"] = requestID
        }
        do {
            let result = try await body()
            open.withLock { $0 = span }
            return result
        } catch {
            if span.isRecording {
                let code = error.gatewayError(model: target.deployment.name).code ?? "error"
                span.attributes["error.type"] = code
                span.setStatus(SpanStatus(code: .error, message: error.message))
            }
            span.end()
            throw error
        }
    }

    /// Ends the successful call's span with what the request used.
    func finish(usage: TokenUsage?, cost: Double, status: Int) {
        guard let span = open.withLock({ span in defer { span = nil }; return span }) else { return }
        if span.isRecording {
            if let usage {
                span.attributes["gen_ai.usage.input_tokens"] = usage.promptTokens
                span.attributes["gen_ai.usage.output_tokens"] = usage.completionTokens
                if let cached = usage.cachedTokens, cached > 0 { span.attributes["gen_ai.usage.cache_read.input_tokens"] = cached }
            }
            span.attributes["scutum.cost_usd"] = cost
            if status >= 400 {
                span.attributes["error.type"] = String(status)
                span.setStatus(SpanStatus(code: .error))
            }
        }
        span.end()
    }

    /// `gen_ai.operation.name` values.
    enum Operation: String {
        case chat
        case embeddings
    }

    static func describe(_ span: any Span, _ operation: Operation, model: String, request: [String: JSONValue],
        target: RoutableDeployment)
    {
        let provider = providerName(target.deployment.provider)
        span.attributes["gen_ai.operation.name"] = operation.rawValue
        span.attributes["gen_ai.provider.name"] = provider
        span.attributes["gen_ai.system"] = provider
        span.attributes["gen_ai.request.model"] = target.deployment.upstreamModel
        span.attributes["scutum.model_requested"] = model
        span.attributes["scutum.deployment"] = target.deployment.name
        if let base = target.credentials.apiBase, let url = URLComponents(string: base), let host = url.host {
            span.attributes["server.address"] = host
            if let port = url.port { span.attributes["server.port"] = port }
        }
        if let tokens = (request["max_completion_tokens"] ?? request["max_tokens"])?.intValue {
            span.attributes["gen_ai.request.max_tokens"] = Int(tokens)
        }
        for (field, attribute) in [("temperature", "gen_ai.request.temperature"), ("top_p", "gen_ai.request.top_p")] {
            if let value = request[field]?.doubleValue { span.attributes[attribute] = value }
        }
        if case .bool(true)? = request["stream"] { span.attributes["scutum.stream"] = true }
    }

    /// The conventions' well-known `gen_ai.provider.name` values, else ours.
    static func providerName(_ kind: ProviderKind) -> String {
        switch kind {
        case .openai: "openai"
        case .azure: "azure.ai.openai"
        case .xai: "x_ai"
        case .deepseek: "deepseek"
        case .anthropic: "anthropic"
        case .gemini: "gcp.gemini"
        case .vertex: "gcp.vertex_ai"
        case .bedrock: "aws.bedrock"
        case .openaiCompatible: "openai_compatible"
        }
    }
}
