import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import ScutumCore
import ScutumTestSupport
import ServiceLifecycle
import Testing

@testable import ScutumAdmin

/// The port-5173 console: its bundled files from memory with their headers, nothing else servable,
/// and the Admin API mounted with the very same authentication as port 8086.
@Suite("Admin console application")
struct ConsoleTests {
    static func application(_ client: PostgresClient, assets: ConsoleAssets) -> some ApplicationProtocol {
        ConsoleApplication.application(configuration: ConsoleConfiguration(host: "127.0.0.1", port: 0),
            admin: AdminConfiguration(host: "127.0.0.1", port: 0), dependencies: AdminFixture.dependencies(client),
            assets: assets, logger: TestEnvironment.logger)
    }

    @Test("the files are found next to the executable or in SCUTUM_CONSOLE_DIR; missing, a clear error, not a crash")
    func locatesFiles() async throws {
        let shipped = try await ConsoleAssets.bundled()
        let folder = try #require(ConsoleAssets.candidateDirectories(environment: [:]).last)
        let configured = try await ConsoleAssets.bundled(environment: ["SCUTUM_CONSOLE_DIR": folder])
        #expect(Set(configured.files.keys) == Set(shipped.files.keys))
        let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-console-\(UUID())").path
        await #expect(throws: ConsoleAssetsMissing.self) {
            try await ConsoleAssets.bundled(environment: ["SCUTUM_CONSOLE_DIR": missing])
        }
    }

    @Test("serves index.html for /, the ES modules and the stylesheet with their types and a strict CSP")
    func servesBundledFiles() async throws {
        let assets = try await ConsoleAssets.bundled()
        for path in ["/index.html", "/js/app.js", "/js/api.js", "/js/chart.js", "/css/console.css", "/js/pages/dashboard.js"] {
            #expect(assets.files[path] != nil, "bundled console lacks \(path)")
        }
        try await withMigratedDatabase { client, _ in
            try await Self.application(client, assets: assets).test(.live) { testClient in
                let root = try await testClient.execute(uri: "/", method: .get)
                #expect(root.status == .ok)
                #expect(root.headers[.contentType] == "text/html; charset=utf-8")
                let html = String(buffer: root.body)
                #expect(html.contains("<script type=\"module\" src=\"/js/app.js\"></script>"))
                #expect(html == String(buffer: try #require(assets.files["/index.html"]).body))
                let policy = try #require(root.headers[.contentSecurityPolicy])
                #expect(policy.contains("default-src 'none'") && policy.contains("script-src 'self'"))
                #expect(policy.contains("frame-ancestors 'none'") && !policy.contains("unsafe"))
                #expect(root.headers[.cacheControl] == "no-cache")
                #expect(root.headers[.xContentTypeOptions] == "nosniff")

                for path in ["/js/app.js", "/js/ui.js", "/js/pages/keys.js"] {
                    let module = try await testClient.execute(uri: path, method: .get)
                    #expect(module.status == .ok, "\(path)")
                    #expect(module.headers[.contentType] == "text/javascript; charset=utf-8", "\(path)")
                    #expect(String(buffer: module.body).contains("import {"), "\(path)")
                }
                let css = try await testClient.execute(uri: "/css/console.css", method: .get)
                #expect(css.headers[.contentType] == "text/css; charset=utf-8")

                let etag = try #require(root.headers[.eTag])
                let again = try await testClient.execute(uri: "/", method: .get, headers: [.ifNoneMatch: etag])
                #expect(again.status == .notModified)
                #expect(again.body.readableBytes == 0)
            }
        }
    }

    @Test("unknown files and path traversal are JSON 404s, never a file from disk")
    func unknownPathsAreNotFound() async throws {
        let assets = try await ConsoleAssets.bundled()
        try await withMigratedDatabase { client, _ in
            try await Self.application(client, assets: assets).test(.live) { testClient in
                for uri in ["/nope.js", "/js/missing.js", "/../Package.swift", "/js/../../Package.swift",
                    "/%2e%2e/Package.swift", "/..%2fPackage.swift", "/Console/index.html", "/etc/passwd", "/js"]
                {
                    let response = try await testClient.execute(uri: uri, method: .get)
                    #expect(response.status == .notFound, "\(uri)")
                    #expect(response.headers[.contentType] == "application/json", "\(uri)")
                    #expect(!String(buffer: response.body).contains("swift-tools-version"), "\(uri)")
                }
            }
        }
    }

    @Test("/api/v1 on the console needs the token exactly as on the Admin API, and tokens work on both")
    func apiNeedsTheSameToken() async throws {
        let assets = try await ConsoleAssets.bundled()
        try await withMigratedDatabase { client, _ in
            let admin = AdminFixture.application(client, configuration: AdminConfiguration(host: "127.0.0.1", port: 0))
            try await admin.test(.router) { adminClient in
                try await Self.application(client, assets: assets).test(.live) { consoleClient in
                    var onAdmin = AdminAPI(client: adminClient, token: nil)
                    var onConsole = AdminAPI(client: consoleClient, token: nil)
                    let forged = AdminFixture.token(secret: Array("another-secret-another-secret-0123456789".utf8))
                    for token: String? in [nil, "not-a-jwt", forged] {
                        let viaAdmin = try await onAdmin.call(.get, "/api/v1/keys", as: .some(token))
                        let viaConsole = try await onConsole.call(.get, "/api/v1/keys", as: .some(token))
                        #expect(viaAdmin.status == .unauthorized)
                        #expect(viaConsole.status == viaAdmin.status && viaConsole.json == viaAdmin.json,
                            "\(token ?? "no token"): \(viaConsole.text) vs \(viaAdmin.text)")
                    }
                    let wrongKey = try await onConsole.call(.post, "/auth/login", ["api_key": "sk-wrong-key-0123456789"])
                    #expect(wrongKey.status == .unauthorized)
                    #expect(wrongKey.json == (try await onAdmin.call(.post, "/auth/login", ["api_key": "sk-wrong-key-0123456789"])).json)

                    let consoleLogin = try await onConsole.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey)])
                    #expect(consoleLogin.status == .ok)
                    let adminLogin = try await onAdmin.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey)])
                    // A token from either port works on the other.
                    onAdmin.token = try #require(consoleLogin.json["access_token"]?.stringValue)
                    onConsole.token = try #require(adminLogin.json["access_token"]?.stringValue)
                    let created = try await onConsole.ok(.post, "/api/v1/teams", ["team_alias": "console-team"])
                    let teams = try await onAdmin.ok(.get, "/api/v1/teams")["teams"]?.arrayValue ?? []
                    #expect(teams.contains { $0["team_id"] == created["team_id"] })
                    #expect(try await onConsole.call(.get, "/health").json == ["status": "ok"])
                }
            }
        }
    }

    @Test("the loader keeps regular files with known extensions, under their URL paths")
    func loaderSkipsHiddenAndUnknownFiles() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("console-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("js/pages"), withIntermediateDirectories: true)
        for (path, text) in [("index.html", "<!doctype html>"), ("js/pages/a.js", "export {}"), (".env.js", "secret"),
            ("notes.md", "# notes"), ("Makefile", "all:")]
        {
            try Data(text.utf8).write(to: root.appendingPathComponent(path))
        }
        let assets = try await ConsoleAssets.load(from: root.path)
        #expect(Set(assets.files.keys) == ["/index.html", "/js/pages/a.js"])
        #expect(assets.asset(for: "/")?.contentType == "text/html; charset=utf-8")
        #expect(String(buffer: try #require(assets.files["/js/pages/a.js"]).body) == "export {}")
    }

    @Test("files that cannot be read leave the node without a console, not stopped")
    func unreadableFilesDoNotStopTheNode() async throws {
        try await withMigratedDatabase { client, _ in
            struct Unreadable: Error {}
            let console = ConsoleService(configuration: ConsoleConfiguration(host: "127.0.0.1", port: 0),
                admin: AdminConfiguration(host: "127.0.0.1", port: 0), dependencies: AdminFixture.dependencies(client),
                logger: TestEnvironment.logger, loadAssets: { throw Unreadable() })
            // The other service ends after 300 ms and takes the group down; had the console returned
            // (or thrown) at once, the group would have ended at once.
            let group = ServiceGroup(configuration: .init(services: [
                .init(service: console, successTerminationBehavior: .gracefullyShutdownGroup,
                    failureTerminationBehavior: .gracefullyShutdownGroup),
                .init(service: Pause(duration: .milliseconds(300)), successTerminationBehavior: .gracefullyShutdownGroup),
            ], logger: TestEnvironment.logger))
            let clock = ContinuousClock()
            let started = clock.now
            try await group.run()
            #expect(clock.now - started >= .milliseconds(300))
        }
    }
}

/// A service that returns after a pause.
struct Pause: Service {
    let duration: Duration

    func run() async throws {
        try await Task.sleep(for: duration)
    }
}
