import Foundation
import ScutumNode
import ScutumRedis
import Testing

/// `REDIS_URL` with TLS, ACL users and Sentinel, as a node reads it at start-up.
@Suite("Redis URL in a node's configuration")
struct RedisURLConfigurationTests {
    static func configuration(_ variables: [String: String]) throws -> NodeConfiguration {
        try NodeConfiguration(variables: ["DATABASE_URL": "postgres://scutum@127.0.0.1/scutum"].merging(variables) { _, new in new })
    }

    /// Why a node refuses to start, or "started".
    static func refusal(_ variables: [String: String]) -> String {
        do {
            _ = try configuration(variables)
            return "started"
        } catch {
            return "\(error)"
        }
    }

    @Test("TLS settings and the sentinels' password come from REDIS_TLS_* and REDIS_SENTINEL_* variables")
    func variables() throws {
        let tls = try Self.configuration([
            "REDIS_URL": "rediss://app:pw@cache.internal:6380/2", "REDIS_TLS_SERVER_NAME": "cache.example.com",
        ]).redis
        #expect(tls.tls == RedisTLS(serverName: "cache.example.com"))
        #expect(tls.username == "app" && tls.password == "pw" && tls.database == 2)

        let sentinel = try Self.configuration([
            "REDIS_URL": "redis+sentinel://app:pw@s1,s2:26380/main", "REDIS_SENTINEL_PASSWORD": "sp",
        ]).redis
        #expect(sentinel.sentinel == RedisSentinel(endpoints: [RedisEndpoint(host: "s1", port: 26379),
            RedisEndpoint(host: "s2", port: 26380)], masterName: "main", password: "sp"))
    }

    @Test("a missing or unusable TLS file stops the node at start-up, naming the file and never the password")
    func filesChecked() throws {
        let missing = Self.refusal(["REDIS_URL": "rediss://app:hunter2@cache/0", "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"])
        #expect(missing.hasPrefix("REDIS_URL:") && missing.contains("/nonexistent/ca.pem does not exist"), "\(missing)")
        #expect(!missing.contains("hunter2"))

        let file = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-not-a-key-\(UUID().uuidString).pem")
        try Data("-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n".utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let badKey = Self.refusal(["REDIS_URL": "rediss://cache/0?cert_file=\(file.path)&key_file=\(file.path)"])
        #expect(badKey.contains("holds no PEM certificate") || badKey.contains("holds no PEM private key"), "\(badKey)")

        let plain = Self.refusal(["REDIS_URL": "redis://cache/0", "REDIS_TLS_CA_FILE": "/etc/ca.pem"])
        #expect(plain.contains("REDIS_TLS_CA_FILE is set but REDIS_URL is not a TLS URL"), "\(plain)")
    }
}
