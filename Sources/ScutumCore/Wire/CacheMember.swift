/// A request body the gateway keeps as the caller's scanned bytes until something rewrites it
/// (chat completions, embeddings).
public protocol ScannedRequestBody {
    /// The caller's bytes, scanned, while `body` has not been replaced.
    var document: JSONDocument? { get }
    /// The whole body as a tree; setting it makes the upstream body be written from the tree.
    var body: [String: JSONValue] { get set }
}

extension ChatCompletionRequest: ScannedRequestBody {}
extension EmbeddingRequest: ScannedRequestBody {}

/// The response cache's per-request controls travel in a top-level `cache` object (LiteLLM's
/// convention: `{"no-cache": true}`, `{"no-store": true}`, `{"ttl": 600}`); no provider knows that
/// member, so it is taken out before the request goes upstream.
extension ScannedRequestBody {
    /// The body's `cache` member, read without building the tree; nil when absent.
    public var cacheMember: JSONValue? {
        if let document { return document.member("cache").map(document.value) }
        return body["cache"]
    }

    /// Removes `cache` (the upstream body is then written from the tree).
    public mutating func removeCacheMember() {
        var body = self.body
        body["cache"] = nil
        self.body = body
    }
}
