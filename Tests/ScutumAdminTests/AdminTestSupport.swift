import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

/// The fixed inputs of every Admin API test.
enum AdminFixture {
    static let masterKey = "sk-test-master-key-0123456789abcdef"
    static let secret = Array("scutum-admin-tests-jwt-secret-0123456789".utf8)
    static let liveSpend = 12.5
    static let models = [
        ModelDeployment(name: "gpt-5-mini", provider: .openai, upstreamModel: "gpt-5-mini-2025-08-07",
            inputCostPerToken: 0.00000025, outputCostPerToken: 0.000002, rpm: 500, tpm: 200_000, contextWindow: 400_000,
            maxOutputTokens: 128_000),
        ModelDeployment(name: "claude-sonnet-4.5", provider: .anthropic, upstreamModel: "claude-sonnet-4-5",
            inputCostPerToken: 0.000003, outputCostPerToken: 0.000015, contextWindow: 200_000),
        ModelDeployment(name: "text-embedding-3-small", provider: .openai, upstreamModel: "text-embedding-3-small",
            mode: .embedding, inputCostPerToken: 0.00000002),
    ]

    static func dependencies(_ client: PostgresClient, masterKey: String? = masterKey) -> AdminDependencies {
        AdminDependencies(postgres: client, masterKey: masterKey, jwtSecret: secret, catalogModels: { models },
            liveSpend: { _ in liveSpend })
    }

    static func application(_ client: PostgresClient, configuration: AdminConfiguration = AdminConfiguration(),
        configure: (inout AdminDependencies) -> Void = { _ in }) -> some ApplicationProtocol
    {
        var dependencies = dependencies(client)
        configure(&dependencies)
        return AdminApplication.application(configuration: configuration, dependencies: dependencies,
            logger: TestEnvironment.logger)
    }

    /// Runs `body` against the Admin API over a fresh migrated database, logged in with the master key;
    /// `configure` may change the dependencies first.
    static func withAPI(configure: @escaping @Sendable (inout AdminDependencies) -> Void = { _ in },
        _ body: @escaping @Sendable (AdminAPI, PostgresClient) async throws -> Void) async throws
    {
        try await withMigratedDatabase { client, _ in
            try await application(client, configure: configure).test(.router) { testClient in
                var api = AdminAPI(client: testClient, token: nil)
                let login = try await api.call(.post, "/auth/login", ["api_key": .string(masterKey)])
                #expect(login.status == .ok, "login: \(login.json)")
                api.token = try #require(login.json["access_token"]?.stringValue)
                try await body(api, client)
            }
        }
    }

    /// A token signed with the test secret (or `secret`), for claims the login endpoint never issues.
    static func token(subject: String = "master", role: AdminPrincipal.Role = .admin, expiresIn: TimeInterval = 3600,
        secret: [UInt8] = secret) -> String
    {
        let now = Int64(Date().timeIntervalSince1970)
        return AdminJWT(secret: secret).sign(AdminTokenClaims(subject: subject, role: role, issuedAt: now - 10,
            expiresAt: now + Int64(expiresIn)))
    }

    /// A token with a hand-written header and payload and the given signature text.
    static func rawToken(header: JSONValue, payload: JSONValue, signature: String) -> String {
        Base64URL.encode(Array(header.jsonString.utf8)) + "." + Base64URL.encode(Array(payload.jsonString.utf8)) + "."
            + signature
    }
}

/// One response: status, parsed JSON body (null when empty or not JSON) and headers.
struct Reply: Sendable {
    var status: HTTPResponse.Status
    var json: JSONValue
    var headers: HTTPFields
    var text: String

    /// The `detail` message of an error.
    var detail: String? { json["detail"]?.stringValue }

    /// The `loc` paths of a validation error, joined with dots (`body.max_budget`).
    var locations: [String] {
        (json["detail"]?.arrayValue ?? []).map { error in
            (error["loc"]?.arrayValue ?? []).map { $0.stringValue ?? "\($0.intValue ?? -1)" }.joined(separator: ".")
        }
    }
}

/// A test client speaking JSON with a bearer token.
struct AdminAPI: Sendable {
    let client: any TestClientProtocol
    var token: String?

    /// Sends `json` (or `raw` bytes) with the current token, or with `as` when given.
    func call(_ method: HTTPRequest.Method, _ uri: String, _ json: JSONValue? = nil, raw: ByteBuffer? = nil,
        as token: String?? = nil) async throws -> Reply
    {
        var headers: HTTPFields = [:]
        if let bearer = token ?? self.token { headers[.authorization] = "Bearer \(bearer)" }
        var body = raw
        if let json {
            body = json.jsonBytes
        }
        if body != nil { headers[.contentType] = "application/json" }
        let response = try await client.execute(uri: uri, method: method, headers: headers, body: body)
        let text = String(buffer: response.body)
        let parsed = (try? JSONParser.parse(Array(text.utf8))) ?? .null
        return Reply(status: response.status, json: parsed, headers: response.headers, text: text)
    }

    /// The JSON of a call that must answer 200.
    func ok(_ method: HTTPRequest.Method, _ uri: String, _ json: JSONValue? = nil,
        sourceLocation: SourceLocation = #_sourceLocation) async throws -> JSONValue
    {
        let reply = try await call(method, uri, json)
        #expect(reply.status == .ok, "\(method) \(uri): \(reply.text)", sourceLocation: sourceLocation)
        return reply.json
    }

    /// The audit log's entries, newest first.
    func auditEntries() async throws -> [JSONValue] {
        try await ok(.get, "/api/v1/audit-log?limit=1000")["entries"]?.arrayValue ?? []
    }
}

/// Expects a 422 whose errors include one at `location` (`body.max_budget`).
func expectValidationError(_ reply: Reply, at location: String, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(reply.status == .unprocessableContent, "\(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.locations.contains(location), "errors at \(reply.locations), expected \(location)",
        sourceLocation: sourceLocation)
    for error in reply.json["detail"]?.arrayValue ?? [] {
        #expect(error["msg"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
        #expect(error["type"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
    }
}

/// Expects an error status with this `detail` message.
func expectError(_ reply: Reply, _ status: HTTPResponse.Status, _ detail: String,
    sourceLocation: SourceLocation = #_sourceLocation)
{
    #expect(reply.status == status, "\(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.detail == detail, "\(reply.text)", sourceLocation: sourceLocation)
    #expect(reply.headers[.contentType] == "application/json", sourceLocation: sourceLocation)
    if status == .unauthorized {
        #expect(HTTPField.Name("WWW-Authenticate").flatMap { reply.headers[$0] } == "Bearer",
            sourceLocation: sourceLocation)
    }
}

/// An ISO-8601 timestamp from a response.
func date(_ value: JSONValue?) -> Date? {
    value?.stringValue.flatMap { ISOTime.parse($0)?.date }
}
