import Foundation
import ScutumRedis
import Testing

@Suite("Redis URLs: TLS, ACL users, Sentinel")
struct RedisURLTests {
    /// A URL and what it must parse to.
    struct Good: Sendable, CustomTestStringConvertible {
        var url: String
        var environment: [String: String] = [:]
        var host = "127.0.0.1"
        var port = 6379
        var username: String?
        var password: String?
        var database = 0
        var tls: RedisTLS?
        var sentinel: RedisSentinel?
        var clientName: String?
        var testDescription: String { url }
    }

    static let good: [Good] = [
        Good(url: "redis://cache", host: "cache"),
        Good(url: "redis://:pw@cache:7000/2", host: "cache", port: 7000, password: "pw", database: 2),
        Good(url: "redis://scutum:s%40cret@10.0.0.1:6380/1", host: "10.0.0.1", port: 6380, username: "scutum",
            password: "s@cret", database: 1),
        Good(url: "redis://[::1]:6390/0", host: "::1", port: 6390),
        Good(url: "redis://cache/0?client_name=node-a", host: "cache", clientName: "node-a"),
        Good(url: "rediss://cache.example.com", host: "cache.example.com", tls: RedisTLS()),
        Good(url: "rediss://app:pw@cache:6380/3?ca_file=/etc/ca.pem", host: "cache", port: 6380, username: "app",
            password: "pw", database: 3, tls: RedisTLS(caFile: "/etc/ca.pem")),
        Good(url: "rediss://cache?ca_file=%2Fetc%2Fca%20x.pem&cert_file=/c.pem&key_file=/k.pem&server_name=redis.internal",
            host: "cache", tls: RedisTLS(caFile: "/etc/ca x.pem", certificateFile: "/c.pem", keyFile: "/k.pem",
                serverName: "redis.internal")),
        // Variables fill what the URL leaves out; the URL wins.
        Good(url: "rediss://cache?ca_file=/url.pem",
            environment: ["REDIS_TLS_CA_FILE": "/env.pem", "REDIS_TLS_CERT_FILE": "/c.pem", "REDIS_TLS_KEY_FILE": "/k.pem",
                "REDIS_TLS_SERVER_NAME": "name"],
            host: "cache", tls: RedisTLS(caFile: "/url.pem", certificateFile: "/c.pem", keyFile: "/k.pem", serverName: "name")),
        Good(url: "redis+sentinel://s1,s2:26380,[::1]/mymaster",
            sentinel: RedisSentinel(endpoints: [RedisEndpoint(host: "s1", port: 26379), RedisEndpoint(host: "s2", port: 26380),
                RedisEndpoint(host: "::1", port: 26379)], masterName: "mymaster")),
        Good(url: "redis+sentinel://app:pw@s1:26379/mymaster/4?sentinel_password=s%26p&sentinel_username=watcher",
            username: "app", password: "pw", database: 4,
            sentinel: RedisSentinel(endpoints: [RedisEndpoint(host: "s1", port: 26379)], masterName: "mymaster",
                username: "watcher", password: "s&p")),
        Good(url: "redis+sentinel://s1/mymaster/", environment: ["REDIS_SENTINEL_PASSWORD": "from-env"],
            sentinel: RedisSentinel(endpoints: [RedisEndpoint(host: "s1", port: 26379)], masterName: "mymaster",
                password: "from-env")),
        Good(url: "rediss+sentinel://:pw@s1:26379,s2:26379/mymaster/1?ca_file=/ca.pem", password: "pw", database: 1,
            tls: RedisTLS(caFile: "/ca.pem"),
            sentinel: RedisSentinel(endpoints: [RedisEndpoint(host: "s1", port: 26379), RedisEndpoint(host: "s2", port: 26379)],
                masterName: "mymaster")),
    ]

    @Test("good URLs", arguments: good)
    func goodURLs(_ expected: Good) throws {
        let configuration = try RedisConfiguration(url: expected.url, environment: expected.environment)
        if expected.sentinel == nil {
            #expect(configuration.host == expected.host)
            #expect(configuration.port == expected.port)
        }
        #expect(configuration.username == expected.username)
        #expect(configuration.password == expected.password)
        #expect(configuration.database == expected.database)
        #expect(configuration.tls == expected.tls)
        #expect(configuration.sentinel == expected.sentinel)
        #expect(configuration.clientName == expected.clientName)
        // Secrets stay out of descriptions.
        if let password = expected.password { #expect(!"\(configuration)".contains(password)) }
        #expect(!"\(configuration)".contains("s&p"))
    }

    /// A URL that must be refused, and words its error must hold.
    struct Bad: Sendable, CustomTestStringConvertible {
        var url: String
        var environment: [String: String] = [:]
        var says: String
        var testDescription: String { url }
    }

    static let bad: [Bad] = [
        Bad(url: "http://h:6379", says: "must start with redis://"),
        Bad(url: "unix:///tmp/redis.sock", says: "must start with redis://"),
        Bad(url: "redis://", says: "empty host"),
        Bad(url: "redis://h:0", says: "not a port number"),
        Bad(url: "redis://h:99999", says: "not a port number"),
        Bad(url: "redis://h:1:2", says: "must look like redis://"),
        Bad(url: "redis://h/-1", says: "database '-1' is not a number"),
        Bad(url: "redis://h/0/extra", says: "path beyond /db"),
        Bad(url: "redis://[::1", says: "no closing ]"),
        Bad(url: "redis://user@h", says: "user without a password"),
        Bad(url: "redis://user:@h", says: "user without a password"),
        Bad(url: "redis://:p%zz@h", says: "badly percent-encoded password"),
        Bad(url: "redis://h?ca_file=/ca.pem", says: "needs TLS: use rediss://"),
        Bad(url: "redis://h", environment: ["REDIS_TLS_CA_FILE": "/ca.pem"], says: "REDIS_TLS_CA_FILE is set"),
        Bad(url: "redis://h?tls=yes", says: "unknown option 'tls'"),
        Bad(url: "rediss://h?ca_file=", says: "option 'ca_file' has no value"),
        Bad(url: "rediss://h?cert_file=/c.pem", says: "needs both cert_file and key_file"),
        Bad(url: "rediss://h", environment: ["REDIS_TLS_KEY_FILE": "/k.pem"], says: "needs both cert_file and key_file"),
        Bad(url: "redis://h?sentinel_password=x", says: "needs a redis+sentinel://"),
        Bad(url: "redis://h?client_name=a%20b", says: "cannot contain spaces"),
        Bad(url: "redis+sentinel://s1:26379", says: "names no master"),
        Bad(url: "redis+sentinel://s1:26379/", says: "names no master"),
        Bad(url: "redis+sentinel://s1,,s2/m", says: "empty host"),
        Bad(url: "redis+sentinel://s1:x/m", says: "not a port number"),
        Bad(url: "redis+sentinel://s1/m/x", says: "database 'x' is not a number"),
        Bad(url: "redis+sentinel://s1/m/0/more", says: "path beyond /master-name/db"),
    ]

    @Test("bad URLs are refused with an error naming what is wrong", arguments: bad)
    func badURLs(_ case_: Bad) {
        do {
            let configuration = try RedisConfiguration(url: case_.url, environment: case_.environment)
            Issue.record("accepted as \(configuration)")
        } catch let error as RedisConfigurationError {
            #expect(error.description.contains(case_.says), "\(error)")
        } catch {
            Issue.record("threw \(error)")
        }
    }

    @Test("errors never hold the password")
    func errorsKeepSecrets() {
        for url in ["redis://:hunter2@h:x", "redis://u:hunter2@h/zz", "rediss://u:hunter2@h?bad=1",
            "redis+sentinel://u:hunter2@s1/m?sentinel_password=hunter2&x=1", "ftp://u:hunter2@h"]
        {
            #expect(throws: RedisConfigurationError.self) {
                do {
                    _ = try RedisConfiguration(url: url)
                } catch {
                    #expect(!"\(error)".contains("hunter2"), "\(error)")
                    throw error
                }
            }
        }
    }

    @Test("TLS files are checked when a node starts: missing, a folder, not PEM")
    func tlsFilesChecked() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("scutum-redis-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let notPEM = folder.appendingPathComponent("not.pem").path
        try Data("not a certificate".utf8).write(to: URL(fileURLWithPath: notPEM))

        func refusal(_ tls: RedisTLS) -> String {
            var configuration = RedisConfiguration()
            configuration.tls = tls
            do {
                try RedisConnector.check(configuration)
                return "accepted"
            } catch let error as RedisConfigurationError {
                return error.description
            } catch {
                return "threw \(error)"
            }
        }
        let missing = refusal(RedisTLS(caFile: folder.appendingPathComponent("missing.pem").path))
        #expect(missing.contains("CA file") && missing.contains("does not exist"), "\(missing)")
        let directory = refusal(RedisTLS(caFile: folder.path))
        #expect(directory.contains("is not a readable file"), "\(directory)")
        let garbage = refusal(RedisTLS(caFile: notPEM))
        #expect(garbage.contains("holds no PEM certificate"), "\(garbage)")
        let noKey = refusal(RedisTLS(certificateFile: notPEM, keyFile: folder.appendingPathComponent("none.key").path))
        #expect(noKey.contains("client certificate") || noKey.contains("client key"), "\(noKey)")
        // No CA file: the system's trust roots.
        #expect(refusal(RedisTLS()) == "accepted")
    }
}
