import Hummingbird

/// Vertex AI: Gemini (`.../publishers/google/models/{model}:generateContent|streamGenerateContent`)
/// and Anthropic (`.../publishers/anthropic/models/{model}:rawPredict|streamRawPredict`), behind
/// OAuth access tokens issued by the mock's `POST /token`.
enum VertexAI {
    static let invalidCredentials = "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project."

    static func register(on router: Router<BasicRequestContext>, tokens: GoogleOAuth.TokenStore, knobs: MockKnobs, log: MockRequestLog?) {
        for version in ["v1", "v1beta1"] {
            let base = "/\(version)/projects/{project}/locations/{location}/publishers"
            router.post(RouterPath("\(base)/google/models/{target}")) { request, context in
                let bytes = try await MockUpstream.record(request, log: log)
                if let failure = authenticate(request, tokens: tokens) { return failure }
                let (model, method) = GeminiGenerate.split(MockUpstream.pathParameter(context, "target"))
                let sse = request.uri.queryParameters.get("alt") == "sse"
                switch method {
                case "generateContent":
                    return try await GeminiGenerate.serve(bytes, model: model, stream: false, sse: false, vertex: true, knobs: knobs)
                case "streamGenerateContent":
                    return try await GeminiGenerate.serve(bytes, model: model, stream: true, sse: sse, vertex: true, knobs: knobs)
                default:
                    return GeminiGenerate.notFound(model: model, method: method, version: version)
                }
            }
            router.post(RouterPath("\(base)/anthropic/models/{target}")) { request, context in
                let bytes = try await MockUpstream.record(request, log: log)
                if let failure = authenticate(request, tokens: tokens) { return failure }
                let (model, method) = GeminiGenerate.split(MockUpstream.pathParameter(context, "target"))
                guard method == "rawPredict" || method == "streamRawPredict" else {
                    return GeminiGenerate.notFound(model: model, method: method, version: version)
                }
                return try await AnthropicMessages.serve(bytes, knobs: knobs, pathModel: model)
            }
        }
    }

    /// Nil when the request carries a live access token from the mock's token endpoint.
    static func authenticate(_ request: Request, tokens: GoogleOAuth.TokenStore) -> Response? {
        let header = request.headers[.authorization] ?? ""
        guard header.hasPrefix("Bearer "), tokens.isValid(String(header.dropFirst(7))) else {
            return ProviderErrors.google(status: 401, message: invalidCredentials)
        }
        return nil
    }
}
