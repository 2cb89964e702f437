import Logging
import NIOCore
import ScutumCore
import ScutumProviders

/// Chat completions for the gateway's own use (workflow `llm` steps): the same admission, limits,
/// budgets, routing, fallbacks and spend recording as `POST /v1/chat/completions`, without HTTP.
public struct InternalCompletions: Sendable {
    let routes: CompletionRoutes

    public init(configuration: ProxyConfiguration, dependencies: ProxyDependencies, logger: Logger) {
        routes = ProxyApplication.completionRoutes(configuration: configuration, dependencies: dependencies, logger: logger)
    }

    /// One answer: the `chat.completion` object, the model that served, its usage and cost.
    public struct Answer: Sendable {
        public var completion: JSONValue
        public var model: String
        public var usage: TokenUsage?
        public var cost: Double

        /// The first choice's message text.
        public var text: String {
            completion["choices"]?.arrayValue?.first?["message"]?["content"]?.stringValue ?? ""
        }
    }

    /// Runs a non-streaming chat completion (`body` is its OpenAI request object) as `principal`.
    public func complete(_ body: JSONValue, as principal: Principal?) async throws -> Answer {
        let bytes = body.jsonBytes
        let chat = try ChatCompletionRequest(json: body)
        guard !chat.stream else {
            throw GatewayError.invalidRequest("Internal completions do not stream.", param: "stream")
        }
        let completed = try await routes.pipeline.complete(chat,
            caller: CompletionPipeline.Caller(principal: principal, byteCount: bytes.readableBytes,
                endpoint: FrontDoor.workflow))
        let (result, served) = (completed.result, completed.served)
        let completion = try JSONParser.parse(result.body.readableBytesView)
        let cost = result.usage.map { served.deployment.cost(of: $0) } ?? 0
        return Answer(completion: completion, model: served.deployment.name, usage: result.usage, cost: cost)
    }
}
