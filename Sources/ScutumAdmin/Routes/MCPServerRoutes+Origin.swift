import ScutumCore
import ScutumMCP
import ScutumStore

extension MCPServerRoutes {
    /// Refuses an update that moves an MCP server to another origin (scheme, host, port) while keeping
    /// stored header values (sent back as `****`, or `headers` left out): those secrets were given for
    /// the old host, and the connectivity test or a workflow step would hand them to the new one.
    /// - Parameters:
    ///   - previous: the server as stored before the update.
    ///   - updated: the server with the update applied.
    ///   - headers: the update's `headers` field as sent (nil when absent or null).
    static func checkSecretsFollow(previous: MCPServerRecord, updated: MCPServerRecord, headers: JSONValue?)
        throws(AdminError)
    {
        guard !previous.headers.isEmpty, updated.serverType != "stdio" else { return }
        let before = previous.url.flatMap(MCPOrigin.init)
        let after = updated.url.flatMap(MCPOrigin.init)
        guard let after, before != after else { return }
        let kept: [String]
        if let sent = headers?.objectValue {
            kept = sent.keys.filter { sent[$0]?.stringValue == mask && previous.headers[$0] != nil }.sorted()
        } else {
            kept = previous.headers.keys.sorted()
        }
        guard !kept.isEmpty else { return }
        let names = kept.map { "headers.\($0)" }.joined(separator: ", ")
        throw AdminError(status: .badRequest, detail: "The new url moves this MCP server to another origin (\(after)); "
            + "its stored header values are not sent to a new host. Send the values again (not '\(mask)') for: \(names)")
    }
}
