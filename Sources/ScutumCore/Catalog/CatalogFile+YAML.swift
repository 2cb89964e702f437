import Yams

extension CatalogFile {
    /// The catalog as `models.yaml` text that `parse` reads back to the same catalog, keys sorted
    /// so the same catalog always gives the same text; `comments` head the file, one `# ` line each.
    public func yaml(comments: [String] = []) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        let body = try encoder.encode(self).trimmingPrefix("---\n")
        let header = comments.map { "# \($0)" }.joined(separator: "\n")
        return (header.isEmpty ? "" : header + "\n\n") + body
    }
}

// `RetryPolicyEntry` lives with the retry policy, which decodes only; the catalog's YAML writes it too.
extension RetryPolicyEntry: Encodable {
    private enum Keys: String, CodingKey {
        case retries, backoff_ms, timeout_seconds, on
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encodeIfPresent(retries, forKey: .retries)
        try container.encodeIfPresent(backoff_ms, forKey: .backoff_ms)
        try container.encodeIfPresent(timeout_seconds, forKey: .timeout_seconds)
        try container.encodeIfPresent(on, forKey: .on)
    }
}
