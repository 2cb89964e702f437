import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import ScutumStore
import Synchronization
import ScutumTestSupport
import Testing

/// Thousands of malformed and mutated bodies against every proxy and Admin API write route: never a
/// 5xx, never a crash; afterwards the node serves normally and a normal request is billed.
@Suite("Fuzzed bodies")
struct FuzzTests {
    /// A write route and a body it would accept.
    struct Route: Sendable {
        var method: HTTPMethod
        var path: String
        var seed: String
        var admin: Bool
    }

    static let proxyRoutes = [
        Route(method: .POST, path: "/v1/chat/completions",
            seed: #"{"model":"gpt-test","messages":[{"role":"user","content":"hi"}],"temperature":0.5,"max_tokens":20,"stream":false,"user":"u1","metadata":{"a":"b"}}"#,
            admin: false),
        Route(method: .POST, path: "/v1/chat/completions",
            seed: #"{"model":"gpt-test","messages":[{"role":"system","content":"be brief"},{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true},"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}]}"#,
            admin: false),
        Route(method: .POST, path: "/v1/embeddings", seed: #"{"model":"text-embedding-test","input":["a","b"],"encoding_format":"float"}"#,
            admin: false),
    ]

    static let adminRoutes = [
        Route(method: .POST, path: "/api/v1/keys/generate",
            seed: #"{"key_alias":"fz","models":["gpt-test"],"rpm_limit":10,"tpm_limit":1000,"max_parallel_requests":2,"metadata":{"k":"v"},"max_budget":5,"budget_duration":"30d","expires":"2030-01-01T00:00:00Z"}"#,
            admin: true),
        Route(method: .POST, path: "/api/v1/keys/update", seed: #"{"key":"sk-nope","key_alias":"x","rpm_limit":5}"#, admin: true),
        Route(method: .POST, path: "/api/v1/keys/delete", seed: #"{"keys":["sk-nope"]}"#, admin: true),
        Route(method: .POST, path: "/api/v1/keys/block", seed: #"{"key":"sk-nope"}"#, admin: true),
        Route(method: .POST, path: "/api/v1/keys/unblock", seed: #"{"key":"sk-nope"}"#, admin: true),
        Route(method: .POST, path: "/api/v1/teams", seed: #"{"team_alias":"fz","models":["gpt-test"],"rpm_limit":10,"max_budget":3,"metadata":{}}"#,
            admin: true),
        Route(method: .PUT, path: "/api/v1/teams/fz-team", seed: #"{"team_alias":"fz2","rpm_limit":11}"#, admin: true),
        Route(method: .POST, path: "/api/v1/teams/fz-team/members", seed: #"{"user_id":"u1","role":"member"}"#, admin: true),
        Route(method: .POST, path: "/api/v1/budgets", seed: #"{"scope":"team","scope_id":"fz-team","max_budget":10,"budget_duration":"7d"}"#,
            admin: true),
        Route(method: .PUT, path: "/api/v1/budgets/1", seed: #"{"max_budget":12,"budget_duration":"1d"}"#, admin: true),
        Route(method: .POST, path: "/api/v1/guardrails",
            seed: #"{"name":"fz","description":"d","input":{"pii":{"action":"mask","entities":["email"]}},"output":{"secrets":{"action":"block"}},"custom_patterns":[{"name":"p","pattern":"ab+c","action":"block"}]}"#,
            admin: true),
        Route(method: .PUT, path: "/api/v1/guardrails/1", seed: #"{"name":"fz","description":"e"}"#, admin: true),
        Route(method: .POST, path: "/api/v1/guardrails/1/assign/fz-team", seed: #"{}"#, admin: true),
        Route(method: .PUT, path: "/api/v1/models/gpt-test-fuzz", seed: #"{"enabled":true,"rpm":5,"tpm":100,"input_cost_per_token":0.000001}"#,
            admin: true),
        Route(method: .POST, path: "/api/v1/routing-policies",
            seed: #"{"name":"fz","strategy":"simple-shuffle","models":["gpt-test"],"conditions":{"team_id":"fz-team"},"target":"gpt-test","enabled":false}"#,
            admin: true),
        Route(method: .PUT, path: "/api/v1/routing-policies/1", seed: #"{"name":"fz","enabled":false}"#, admin: true),
        Route(method: .PUT, path: "/api/v1/settings", seed: #"{"global_rate_limit":0,"enable_cost_tracking":true}"#, admin: true),
        Route(method: .POST, path: "/api/v1/workflows",
            seed: #"{"name":"fz","description":"d","nodes":[{"id":"a","type":"llm","model":"gpt-test","prompt":"{{input.text}}"}],"edges":[],"input_schema":{"text":"string"}}"#,
            admin: true),
        Route(method: .PUT, path: "/api/v1/workflows/00000000-0000-0000-0000-000000000000", seed: #"{"name":"fz"}"#, admin: true),
        Route(method: .POST, path: "/api/v1/workflow-executions",
            seed: #"{"workflow_id":"00000000-0000-0000-0000-000000000000","input":{"text":"hello"}}"#, admin: true),
        Route(method: .POST, path: "/api/v1/mcp-servers",
            seed: #"{"name":"fz","url":"http://127.0.0.1:1/mcp","transport":"http","headers":{"X-A":"b"},"enabled":false}"#,
            admin: true),
        Route(method: .PUT, path: "/api/v1/mcp-servers/00000000-0000-0000-0000-000000000000", seed: #"{"name":"fz"}"#, admin: true),
        Route(method: .POST, path: "/auth/login", seed: #"{"api_key":"sk-nope"}"#, admin: true),
    ]

    /// Strings no field should choke on.
    static let hostileStrings: [[UInt8]] = [
        Array(#""\u0000""#.utf8), Array(#""a\u0000b""#.utf8), Array(#""\u0001\u001f\u007f""#.utf8),
        Array(#""\ud800""#.utf8), Array(#""\udfff\ud800x""#.utf8), Array(#""\uZZZZ""#.utf8),
        [0x22, 0xFF, 0xFE, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0x00, 0x22],
        Array(("\"" + String(repeating: "x", count: 300_000) + "\"").utf8),
        Array("\"\u{202E}\u{200B}\u{FEFF}名前🙂\"".utf8), Array(#""""#.utf8), Array(#""%s%n{{x}}${x}""#.utf8),
        Array(#""../../etc/passwd""#.utf8), Array(#""'; DROP TABLE api_keys; --""#.utf8),
    ]

    /// Values of the wrong kind or size.
    static let hostileValues: [[UInt8]] = [
        Array("1e400".utf8), Array("-1e400".utf8), Array("123456789012345678901234567890".utf8), Array("-0".utf8),
        Array("0.0000000000000000000000001".utf8), Array("-9223372036854775809".utf8), Array("9223372036854775808".utf8),
        Array("true".utf8), Array("null".utf8), Array("[]".utf8), Array("{}".utf8), Array("[null,{},[]]".utf8),
        Array(("[" + String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "]").utf8),
        Array((String(repeating: "{\"a\":", count: 5000) + "1" + String(repeating: "}", count: 5000)).utf8),
        Array("NaN".utf8), Array("Infinity".utf8), Array("0x10".utf8), Array("01".utf8), Array("1.".utf8),
    ]

    /// One mutation of `seed`.
    static func mutate(_ seed: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = seed
        switch Int.random(in: 0..<9, using: &random) {
        case 0:  // Truncated.
            bytes = Array(bytes.prefix(Int.random(in: 0..<max(1, bytes.count), using: &random)))
        case 1:  // Random bytes flipped.
            for _ in 0..<Int.random(in: 1...4, using: &random) where !bytes.isEmpty {
                bytes[Int.random(in: 0..<bytes.count, using: &random)] = UInt8.random(in: 0...255, using: &random)
            }
        case 2, 3:  // A string value replaced by a hostile one.
            let strings = stringRanges(bytes)
            if let range = strings.randomElement(using: &random) {
                bytes.replaceSubrange(range, with: hostileStrings.randomElement(using: &random)!)
            }
        case 4, 5:  // A value (after a colon) replaced by one of the wrong kind.
            let colons = bytes.indices.filter { bytes[$0] == UInt8(ascii: ":") }
            if let colon = colons.randomElement(using: &random) {
                let end = valueEnd(bytes, from: colon + 1)
                bytes.replaceSubrange((colon + 1)..<end, with: hostileValues.randomElement(using: &random)!)
            }
        case 6:  // A duplicated key.
            if bytes.first == UInt8(ascii: "{"), let colon = bytes.firstIndex(of: UInt8(ascii: ":")) {
                let end = valueEnd(bytes, from: colon + 1)
                bytes.insert(contentsOf: Array(bytes[1..<end]) + [UInt8(ascii: ",")], at: 1)
            }
        case 7:  // Not JSON at all.
            bytes = (0..<Int.random(in: 0..<200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
        default:  // The whole body of the wrong kind.
            bytes = hostileValues.randomElement(using: &random)! + (Bool.random(using: &random) ? [] : hostileStrings[0])
        }
        return bytes
    }

    /// The byte ranges of string tokens (quotes included).
    static func stringRanges(_ bytes: [UInt8]) -> [Range<Int>] {
        var ranges: [Range<Int>] = []
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "\"") else { index += 1; continue }
            var end = index + 1
            while end < bytes.count, bytes[end] != UInt8(ascii: "\"") { end += bytes[end] == UInt8(ascii: "\\") ? 2 : 1 }
            guard end < bytes.count else { break }
            ranges.append(index..<(end + 1))
            index = end + 1
        }
        return ranges
    }

    /// Where the scalar or container starting at `start` ends (a rough scan; mutations need no precision).
    static func valueEnd(_ bytes: [UInt8], from start: Int) -> Int {
        var depth = 0
        var index = start
        var inString = false
        while index < bytes.count {
            let byte = bytes[index]
            if inString {
                if byte == UInt8(ascii: "\\") { index += 2; continue }
                if byte == UInt8(ascii: "\"") { inString = false; if depth == 0 { return index + 1 } }
            } else {
                switch byte {
                case UInt8(ascii: "\""): inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["): depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return index }
                    depth -= 1
                    if depth == 0 { return index + 1 }
                case UInt8(ascii: ","): if depth == 0 { return index }
                default: break
                }
            }
            index += 1
        }
        return bytes.count
    }

    @Test("every proxy and Admin API write route: mutated bodies never get a 5xx; the node then serves and bills a normal request")
    func fuzzWriteRoutes() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            // Limits off: the parsers are under test, not the limits (a 429 would hide them).
            let settings = SettingsStore(client: gateway.node.postgres, logger: TestEnvironment.logger)
            let original = try await settings.load()
            var value = original
            if case .object(var fields) = value { fields["global_rate_limit"] = 0; value = .object(fields) }
            try await settings.save(value)
            _ = try await eventually { gateway.node.platform.current.globalRateLimit == 0 ? true : nil }
            let (key, record) = try await gateway.keys.create(alias: "after-fuzz",
                settings: KeySettings(rpmLimit: 10_000_000, tpmLimit: 2_000_000_000))
            let seed = UInt64.random(in: 0...UInt64.max)
            let routes = Self.proxyRoutes.map { ($0, 600) } + Self.adminRoutes.map { ($0, 120) }
            let failures = Failures()
            let sent = try await withThrowingTaskGroup(of: Int.self) { group in
                for (index, (route, count)) in routes.enumerated() {
                    group.addTask {
                        var random = SeededGenerator(state: seed &+ UInt64(index))
                        let base = route.admin ? gateway.adminURL : gateway.baseURL
                        let credential = route.admin ? token : Gateway.masterKey
                        for attempt in 0..<count {
                            let body = Self.mutate(Array(route.seed.utf8), &random)
                            let result = try await Self.send(route.method, base + route.path, key: credential, body: body)
                            if result.status >= 500 || result.status == 0 {
                                failures.add("\(route.method) \(route.path) seed \(seed) attempt \(attempt): \(result.status) "
                                    + "\(result.body.prefix(200)) for body \(String(decoding: body.prefix(200), as: UTF8.self))")
                            }
                        }
                        return count
                    }
                }
                return try await group.reduce(0, +)
            }
            #expect(sent >= 4000)
            let found = failures.all
            #expect(found.isEmpty, "\(found.count) server errors, e.g.:\n\(found.prefix(12).joined(separator: "\n"))")
            // What the fuzz may have switched (settings, a model) back, then a normal request.
            try await settings.save(value)
            let normal = try await gateway.request("/v1/chat/completions", key: key, body: Gateway.chat("after the fuzz"))
            #expect(normal.status == 200, "\(normal.body)")
            let rows = try await eventually(timeout: .seconds(30)) { () async throws -> Int? in
                let (count, _) = try await PlatformTests.count(gateway.node.postgres,
                    "SELECT count(*)::int8, 0::float8 FROM spend_logs WHERE key_id = \(record.keyID) AND status = 200")
                return count >= 1 ? count : nil
            }
            #expect(rows == 1)
            #expect(try await gateway.request("/metrics", method: .GET, key: nil).status == 200)
            try await settings.save(original)
        }
    }

    @Test("a NUL anywhere in an Admin API body (key or string, however deep) is a 422 naming where; nothing is stored")
    func nulRefused() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            let result = try await Gateway.send(.POST, gateway.adminURL + "/api/v1/teams", key: token,
                body: #"{"team_alias":"nul-team","metadata":{"tags":["ok","a\u0000b"]}}"#)
            #expect(result.status == 422)
            let detail = try #require((try result.json["detail"] as? [[String: Any]])?.first)
            #expect(detail["loc"] as? [AnyHashable] == ["body", "metadata", "tags", 1] as [AnyHashable])
            #expect(detail["type"] as? String == "string_nul")
            let teams = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/teams", key: token, body: nil)
            #expect(!teams.body.contains("nul-team"))
        }
    }

    @Test("a NUL in Admin API query and path parameters is never a 5xx (a 4xx where it reaches PostgreSQL); the next request is served")
    func nulInQueryAndPath() async throws {
        try await Gateway.with { gateway in
            let token = try await AdminClusterTests.login(gateway)
            for path in ["/api/v1/keys?team_id=%00", "/api/v1/spend/logs?key_id=a%00b", "/api/v1/teams/%00",
                "/api/v1/keys/info?key=%00", "/api/v1/audit-log?actor=%00"]
            {
                let result = try await Gateway.send(.GET, gateway.adminURL + path, key: token, body: nil)
                #expect(result.status < 500, "\(path): \(result.status) \(result.body)")
            }
            let teams = try await Gateway.send(.GET, gateway.adminURL + "/api/v1/teams", key: token, body: nil)
            #expect(teams.status == 200)
        }
    }

    /// Server errors found, kept to report them all.
    final class Failures: Sendable {
        let list = Mutex<[String]>([])
        func add(_ failure: String) { list.withLock { $0.append(failure) } }
        var all: [String] { list.withLock { $0 } }
    }

    /// Sends raw bytes (invalid UTF-8 included) as a JSON body.
    static func send(_ method: HTTPMethod, _ url: String, key: String, body: [UInt8]) async throws -> HTTPResult {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return HTTPResult(status: Int(response.status.code), headers: [], body: String(buffer: bytes))
    }
}
