import NIOCore
import ScutumCore
import ScutumProviders

/// An answer in the response cache: the OpenAI JSON the client got (a `chat.completion` or an
/// embedding list), its usage, what it cost and who served it.
///
/// Stored as one line of JSON (everything but the answer) followed by the answer's own bytes, so
/// that neither storing nor serving re-encodes the answer.
struct CachedAnswer: Sendable {
    var body: ByteBuffer
    var usage: TokenUsage?
    /// USD the answer cost when it was bought: what a hit saves.
    var cost: Double
    /// The model name that served it.
    var model: String
    var provider: String?
    var deploymentID: String?

    /// Format version of the stored form.
    static let version: Int64 = 1

    var encoded: [UInt8] {
        var meta: [String: JSONValue] = ["v": .int(Self.version), "cost": .double(cost), "model": .string(model)]
        if let provider { meta["provider"] = .string(provider) }
        if let deploymentID { meta["deployment"] = .string(deploymentID) }
        if let usage {
            meta["usage"] = [
                "prompt_tokens": .int(Int64(usage.promptTokens)), "completion_tokens": .int(Int64(usage.completionTokens)),
                "cached_tokens": .int(Int64(usage.cachedTokens ?? 0)),
                "cache_write_tokens": .int(Int64(usage.cacheWriteTokens ?? 0)),
                "cache_write_1h_tokens": .int(Int64(usage.cacheWrite1hTokens ?? 0)),
                "reasoning_tokens": .int(Int64(usage.reasoningTokens ?? 0)),
            ]
        }
        var bytes = Array(JSONValue.object(meta).jsonBytes.readableBytesView)
        bytes.append(UInt8(ascii: "\n"))
        bytes.append(contentsOf: body.readableBytesView)
        return bytes
    }

    init(body: ByteBuffer, usage: TokenUsage?, cost: Double, model: String, provider: String?, deploymentID: String?) {
        self.body = body
        self.usage = usage
        self.cost = cost
        self.model = model
        self.provider = provider
        self.deploymentID = deploymentID
    }

    /// A provider's answer, priced at what `target` charges for `usage`.
    init(_ body: ByteBuffer, usage: TokenUsage?, servedBy target: RoutableDeployment) {
        self.init(body: body, usage: usage, cost: usage.map { target.deployment.cost(of: $0) } ?? 0,
            model: target.deployment.name, provider: target.deployment.provider.rawValue,
            deploymentID: target.deployment.id)
    }

    /// Reads the stored form; nil for anything else (another version, damaged bytes): a miss.
    init?(decoding bytes: [UInt8]) {
        guard let newline = bytes.firstIndex(of: UInt8(ascii: "\n")),
            let meta = try? RequestJSON.parse(bytes[..<newline]), meta["v"]?.intValue == Self.version,
            let model = meta["model"]?.stringValue, newline + 1 < bytes.count
        else { return nil }
        body = ByteBuffer(bytes: bytes[(newline + 1)...])
        cost = meta["cost"]?.doubleValue ?? 0
        self.model = model
        provider = meta["provider"]?.stringValue
        deploymentID = meta["deployment"]?.stringValue
        usage = meta["usage"].map { usage in
            let part = { (name: String) -> Int? in usage[name]?.intValue.map(Int.init).flatMap { $0 > 0 ? $0 : nil } }
            return TokenUsage(promptTokens: Int(usage["prompt_tokens"]?.intValue ?? 0),
                completionTokens: Int(usage["completion_tokens"]?.intValue ?? 0), cachedTokens: part("cached_tokens"),
                cacheWriteTokens: part("cache_write_tokens"), cacheWrite1hTokens: part("cache_write_1h_tokens"),
                reasoningTokens: part("reasoning_tokens"))
        }
    }
}
