/// The response cache's per-request controls travel in a top-level `cache` object (LiteLLM's
/// convention: `{"no-cache": true}`, `{"no-store": true}`, `{"ttl": 600}`); no provider knows that
/// member, so it is taken out before the request goes upstream.
extension ChatCompletionRequest {
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

extension EmbeddingRequest {
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
