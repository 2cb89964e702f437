import NIOCore
import NIOHTTP1

/// One provider call as the direct lane sends it: a plain-HTTP/1.1 POST to an `http://` origin,
/// its body already the bytes to send.
public struct LaneRequest: Sendable {
    /// The connection pool's key: `host:port`.
    public var origin: String
    public var host: String
    public var port: Int
    /// The path and query, e.g. `/v1/chat/completions`.
    public var target: String
    /// Extra headers (authentication); `Host`, `Content-Type`, `Accept` and `Content-Length` are added.
    public var headers: [(String, String)]
    public var body: ByteBuffer

    public init?(url: String, headers: [(String, String)], body: ByteBuffer) {
        guard let parsed = Self.parse(url) else { return nil }
        (self.host, self.port, self.target) = parsed
        self.origin = "\(host):\(port)"
        self.headers = headers
        self.body = body
    }

    /// The host, port and request target of an `http://` URL; nil for anything else (https, user info,
    /// IPv6 literals), which the lane leaves to the general client.
    static func parse(_ url: String) -> (host: String, port: Int, target: String)? {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@"), !authority.contains("[") else { return nil }
        var host = Substring(authority)
        var port = 80
        if let colon = authority.lastIndex(of: ":") {
            guard let number = Int(authority[authority.index(after: colon)...]), (1...65535).contains(number) else {
                return nil
            }
            host = authority[..<colon]
            port = number
        }
        guard !host.isEmpty else { return nil }
        var target = String(rest[authorityEnd...])
        if target.isEmpty || target.hasPrefix("?") { target = "/" + target }
        return (String(host), port, target)
    }

    /// The request head, `Host` first.
    func head() -> HTTPRequestHead {
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count + 4)
        fields.add(name: "Host", value: port == 80 ? host : origin)
        fields.add(name: "Content-Type", value: "application/json")
        fields.add(name: "Accept", value: "application/json, text/event-stream")
        fields.add(name: "Content-Length", value: String(body.readableBytes))
        for (name, value) in headers { fields.add(name: name, value: value) }
        return HTTPRequestHead(version: .http1_1, method: .POST, uri: target, headers: fields)
    }
}
