/// How the mock upstream misbehaves (or not). Server-wide defaults; each request can override
/// them with directives in its messages (see `MockDirectives`).
public struct MockKnobs: Sendable {
    /// Delay before the response head.
    public var latency: Duration
    /// Extra delay before the first stream chunk.
    public var timeToFirstToken: Duration
    /// Pace of stream chunks; 0 sends them as fast as possible.
    public var tokensPerSecond: Double
    /// When set, every request fails with this status (in each provider's own error format).
    public var status: Int?
    /// Streaming: drop the connection after this many content chunks.
    public var disconnectAfterChunks: Int?
    /// Streaming: send a broken `data:` line after the first content chunk.
    public var malformedSSE: Bool
    /// Lifetime of the access tokens the mock's Google OAuth endpoint (`POST /token`) issues.
    public var tokenLifetimeSeconds: Int

    public init(latency: Duration = .zero, timeToFirstToken: Duration = .zero, tokensPerSecond: Double = 0,
        status: Int? = nil, disconnectAfterChunks: Int? = nil, malformedSSE: Bool = false,
        tokenLifetimeSeconds: Int = 3599)
    {
        self.latency = latency
        self.timeToFirstToken = timeToFirstToken
        self.tokensPerSecond = tokensPerSecond
        self.status = status
        self.disconnectAfterChunks = disconnectAfterChunks
        self.malformedSSE = malformedSSE
        self.tokenLifetimeSeconds = tokenLifetimeSeconds
    }
}

/// The knobs for one request: the server's, overridden by `[mock:...]` directives in the messages.
///
/// Directives: `[mock:status=503]`, `[mock:retry_after=7]`, `[mock:latency_ms=250]`,
/// `[mock:ttft_ms=100]`, `[mock:tokens_per_sec=20]`, `[mock:disconnect_after=3]`,
/// `[mock:malformed]`, `[mock:hang]`, `[mock:tool_call]`, and for the Anthropic, Gemini, Vertex and
/// Bedrock formats also `[mock:safety]` (a blocked answer), `[mock:cached=N]` (N cached prompt
/// tokens in the usage) and `[mock:stream_error]` (an in-stream error after the first delta).
/// `[mock:fail_model=ID]` limits the `status` directive to requests for that upstream model id (the
/// others answer normally), to fail one provider of a fallback chain; `[mock:error_message=...]` sets
/// the OpenAI-format error's message. `[mock:chunk_chars=N]` streams the OpenAI-format answer in
/// N-character pieces instead of word by word (to split a word, or a secret, across chunks), and
/// `[mock:repeat=N]` says its answer N times over (a long answer from a short prompt).
/// `[mock:reasoning=N]` reports N reasoning tokens on top of the answer's (OpenAI's
/// `reasoning_tokens`, Gemini's `thoughtsTokenCount`).
struct MockDirectives: Sendable {
    var knobs: MockKnobs
    var retryAfter: String?
    var hang = false
    var toolCall = false
    var safety = false
    var cachedTokens = 0
    /// Reasoning tokens to report besides the answer's (`reasoning`).
    var reasoningTokens = 0
    var streamError = false
    /// Only this upstream model fails (`fail_model`).
    var failModel: String?
    /// The message of the OpenAI-format error (`error_message`), e.g. a context-length refusal.
    var errorMessage: String?
    /// Stream the answer in pieces of this many characters (`chunk_chars`).
    var chunkCharacters: Int?
    /// Say the OpenAI-format answer this many times (`repeat`).
    var repeatCount = 1

    init(knobs: MockKnobs, text: String, model: String? = nil) {
        self.knobs = knobs
        defer {
            if let failModel, let model, failModel != model, knobs.status == nil { self.knobs.status = nil }
        }
        var rest = Substring(text)
        while let open = rest.range(of: "[mock:") {
            guard let close = rest[open.upperBound...].firstIndex(of: "]") else { break }
            let directive = rest[open.upperBound..<close]
            rest = rest[rest.index(after: close)...]
            let parts = directive.split(separator: "=", maxSplits: 1).map(String.init)
            let value = parts.count > 1 ? parts[1] : ""
            switch parts.first ?? "" {
            case "status": self.knobs.status = Int(value)
            case "retry_after": retryAfter = value
            case "latency_ms": self.knobs.latency = .milliseconds(Int(value) ?? 0)
            case "ttft_ms": self.knobs.timeToFirstToken = .milliseconds(Int(value) ?? 0)
            case "tokens_per_sec": self.knobs.tokensPerSecond = Double(value) ?? 0
            case "disconnect_after": self.knobs.disconnectAfterChunks = Int(value)
            case "malformed": self.knobs.malformedSSE = true
            case "hang": hang = true
            case "tool_call": toolCall = true
            case "safety": safety = true
            case "cached": cachedTokens = max(0, Int(value) ?? 0)
            case "reasoning": reasoningTokens = max(0, Int(value) ?? 0)
            case "stream_error": streamError = true
            case "fail_model": failModel = value
            case "error_message": errorMessage = value
            case "chunk_chars": chunkCharacters = Int(value).map { max(1, $0) }
            case "repeat": repeatCount = min(max(1, Int(value) ?? 1), 100)
            default: break
            }
        }
    }

    /// Removes every `[mock:...]` directive from `text`.
    static func strip(_ text: String) -> String {
        guard text.contains("[mock:") else { return text }
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "[mock:"), let close = rest[open.upperBound...].firstIndex(of: "]") {
            result += rest[..<open.lowerBound]
            rest = rest[rest.index(after: close)...]
        }
        result += rest
        return result.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
    }
}
