import Foundation
import Hummingbird
import ScutumCore
import ScutumMCP
import ScutumStore

/// `/api/v1/mcp-servers`: the MCP servers agentgateway exposes, their connectivity test, and the
/// sync that writes agentgateway's configuration. Environment and header values are secrets:
/// responses show them as `****`, and a `****` sent back in an update keeps the stored value, except
/// when the update moves the server's url to another origin: then the header values must be sent
/// again (400 naming them). The test always uses the stored record, never an unsaved url.
struct MCPServerRoutes {
    let services: AdminServices
    var store: MCPServerStore { services.mcpServers }

    static let types = ["stdio", "http", "sse"]
    static let mask = AgentGatewayConfig.mask
    /// How long a connectivity test may take as a whole.
    static let testTimeout: Duration = .seconds(10)
    /// Characters a header name cannot contain (RFC 9110 token).
    static let separators = Set("()<>@,;:\\\"/[]?={}".utf8)

    func register(on group: RouterGroup<AdminRequestContext>) {
        // Before `/mcp-servers/{id}`, so `sync` is never taken for an id.
        group.get("/mcp-servers/sync/preview") { _, _ in
            let config = try await MCPConfigSync.config(postgres: services.dependencies.postgres, logger: services.logger,
                secrets: services.dependencies.secrets)
            return AdminResponse.json([
                "active_servers": .int(Int64(config.targets.count)),
                "config_yaml": .string(config.yaml(maskingSecrets: true)),
            ])
        }
        group.post("/mcp-servers/sync") { _, context in
            let principal = try context.requirePrincipal()
            guard let deploy = services.dependencies.deployMCPConfig else {
                throw AdminError(status: .serviceUnavailable, detail: "MCP sync is not configured on this node")
            }
            let result: JSONValue
            do {
                result = try await deploy()
            } catch {
                throw AdminError(status: .serviceUnavailable, detail: "MCP sync failed: \(error)")
            }
            try await services.audit(principal, "mcp_server.sync", targetType: "mcp_server", targetID: nil,
                details: ["active_servers": result["active_servers"] ?? .null, "sha256": result["sha256"] ?? .null])
            return AdminResponse.json(result)
        }
        group.get("/mcp-servers") { _, _ in
            AdminResponse.json(["servers": .array(try await store.list().map(Self.json))])
        }
        group.post("/mcp-servers") { request, context in
            let principal = try context.requirePrincipal()
            var fields = try await services.body(request)
            let name = fields.required("name", fields.string("name", nullable: false, nonEmpty: true, maxLength: 200))
            let type = fields.required("server_type", fields.literal("server_type", Self.types, nullable: false))
            var server = MCPServerRecord(name: name ?? "", serverType: type ?? "stdio")
            apply(&fields, to: &server)
            if type != nil { validate(server, into: &fields) }
            try fields.finish()
            let created = try await store.create(server)
            try await services.audit(principal, "mcp_server.create", targetType: "mcp_server",
                targetID: created.id.wire,
                details: ["name": .string(created.name), "server_type": .string(created.serverType)])
            return AdminResponse.json(Self.json(created))
        }
        group.get("/mcp-servers/{id}") { _, context in
            AdminResponse.json(Self.json(try await find(context)))
        }
        group.put("/mcp-servers/{id}") { request, context in
            let principal = try context.requirePrincipal()
            var server = try await find(context)
            let previous = server
            var fields = try await services.body(request)
            if let name = fields.string("name", nullable: false, nonEmpty: true, maxLength: 200).value { server.name = name }
            if let type = fields.literal("server_type", Self.types, nullable: false).value { server.serverType = type }
            apply(&fields, to: &server)
            validate(server, into: &fields)
            try fields.finish()
            try Self.checkSecretsFollow(previous: previous, updated: server, headers: fields.object["headers"])
            guard let updated = try await store.update(server) else { throw AdminError.notFound("MCP server not found") }
            try await services.audit(principal, "mcp_server.update", targetType: "mcp_server",
                targetID: server.id.wire,
                details: ["fields": .array(fields.object.keys.sorted().map(JSONValue.string))])
            return AdminResponse.json(Self.json(updated))
        }
        group.delete("/mcp-servers/{id}") { _, context in
            let principal = try context.requirePrincipal()
            let server = try await find(context)
            _ = try await store.delete(server.id)
            try await services.audit(principal, "mcp_server.delete", targetType: "mcp_server",
                targetID: server.id.wire, details: ["name": .string(server.name)])
            return AdminResponse.json(["deleted": .string(server.id.wire)])
        }
        group.post("/mcp-servers/{id}/test") { _, context in
            let principal = try context.requirePrincipal()
            let server = try await find(context)
            let outcome = await test(server)
            guard let stored = try await store.storeTestResult(server.id, tools: outcome.tools, error: outcome.error) else {
                throw AdminError.notFound("MCP server not found")
            }
            try await services.audit(principal, "mcp_server.test", targetType: "mcp_server",
                targetID: server.id.wire,
                details: ["success": .bool(outcome.error == nil), "error": .optional(outcome.error)])
            var json = outcome.json.objectValue ?? [:]
            json["id"] = .string(server.id.wire)
            json["tools"] = stored.tools
            json["tested_at"] = .optional(stored.lastTestedAt)
            return AdminResponse.json(.object(json))
        }
    }

    func find(_ context: AdminRequestContext) async throws -> MCPServerRecord {
        guard let text = context.parameters.get("id"), let id = UUID(uuidString: text), let server = try await store.find(id)
        else { throw AdminError.notFound("MCP server not found") }
        return server
    }

    // MARK: - Input

    /// Reads the optional fields of a create or update into `server`.
    func apply(_ fields: inout BodyFields, to server: inout MCPServerRecord) {
        let command = fields.string("command", maxLength: 4096)
        server.command = command.applied(to: server.command)
        let url = fields.string("url", maxLength: 4096)
        server.url = url.applied(to: server.url)
        if let args = Self.arguments(&fields) { server.args = args }
        if let env = Self.secrets("env", &fields, keeping: server.env) { server.env = env }
        if let headers = Self.secrets("headers", &fields, keeping: server.headers) { server.headers = headers }
        if let active = fields.bool("is_active", nullable: false).value { server.isActive = active }
    }

    /// `args`: a list of strings, order and repeats kept.
    static func arguments(_ fields: inout BodyFields) -> [String]? {
        guard let value = fields.object["args"], !value.isNull else { return nil }
        guard let items = value.arrayValue else {
            fields.fail("args", "Input should be a valid list", type: "list_type")
            return nil
        }
        var args: [String] = []
        for (index, item) in items.enumerated() {
            guard let text = item.stringValue else {
                fields.fail("args", "Input should be a valid string", type: "string_type", path: [.int(Int64(index))])
                continue
            }
            args.append(text)
        }
        return args
    }

    /// `env` or `headers`: an object of strings; a `****` value keeps what `current` holds for that name.
    static func secrets(_ name: String, _ fields: inout BodyFields, keeping current: [String: String]) -> [String: String]? {
        guard let value = fields.object[name], !value.isNull else { return nil }
        guard let object = value.objectValue else {
            fields.fail(name, "Input should be a valid dictionary", type: "dict_type")
            return nil
        }
        var result: [String: String] = [:]
        for key in object.keys.sorted() {
            guard let text = object[key]?.stringValue else {
                fields.fail(name, "Input should be a valid string", type: "string_type", path: [.string(key)])
                continue
            }
            result[key] = text == mask ? current[key] ?? "" : text
        }
        return result
    }

    /// Checks what a server of its type needs: a sane command for stdio, an http(s) URL and valid
    /// header names and values otherwise.
    func validate(_ server: MCPServerRecord, into fields: inout BodyFields) {
        switch server.serverType {
        case "stdio":
            guard let command = server.command, !command.isEmpty else {
                fields.fail("command", "Field required for server_type 'stdio'", type: "missing")
                return
            }
            let launch = MCPStdioCommand(command: command, args: server.args, env: server.env)
            for problem in launch.problems() {
                let field = problem.contains("environment") || problem.contains("value of") ? "env"
                    : problem.contains("argument") ? "args" : "command"
                fields.fail(field, problem.prefix(1).uppercased() + problem.dropFirst(), type: "value_error")
            }
        default:
            guard let url = server.url, !url.isEmpty else {
                fields.fail("url", "Field required for server_type '\(server.serverType)'", type: "missing")
                return
            }
            let components = URLComponents(string: url)
            let scheme = components?.scheme?.lowercased() ?? ""
            if !["http", "https"].contains(scheme) || (components?.host ?? "").isEmpty {
                fields.fail("url", "Input should be a valid http or https URL", type: "url_parsing")
            }
            for (name, value) in server.headers.sorted(by: { $0.key < $1.key }) {
                let token = !name.isEmpty && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && !Self.separators.contains($0) }
                if !token { fields.fail("headers", "Invalid header name", type: "value_error", path: [.string(name)]) }
                if value.contains("\r") || value.contains("\n") || value.contains("\0") {
                    fields.fail("headers", "Header values cannot contain line breaks", type: "value_error",
                        path: [.string(name)])
                }
            }
        }
    }

    // MARK: - Connectivity test

    /// What a test found: the tools (nil keeps the stored list) or the error.
    struct TestOutcome {
        var error: String?
        var tools: JSONValue?
        var json: JSONValue
    }

    /// A real handshake for `http` and `sse` (through the address guard, with the
    /// `mcp_allowed_hosts` setting); for `stdio`, whether the command is an executable here.
    func test(_ server: MCPServerRecord) async -> TestOutcome {
        let base: [String: JSONValue] = ["server_type": .string(server.serverType)]
        func failed(_ error: MCPError) -> TestOutcome {
            TestOutcome(error: error.message, tools: nil,
                json: .object(base.merging(["success": false, "error": .string(error.message)]) { $1 }))
        }
        if server.serverType == "stdio" {
            do throws(MCPError) {
                let path = try MCPStdioCommand(command: server.command ?? "", args: server.args, env: server.env)
                    .resolveExecutable()
                return TestOutcome(error: nil, tools: nil, json: .object(base.merging([
                    "success": true, "error": .null, "executable": .string(path),
                    "note": "the command is an executable on this node; agentgateway starts stdio servers, so no handshake was run",
                ]) { $1 }))
            } catch {
                return failed(error)
            }
        }
        guard let url = server.url, let transport = MCPEndpoint.Transport(rawValue: server.serverType) else {
            return failed(MCPError(.invalidURL, "the server has no URL"))
        }
        let allowList: [String]
        do {
            allowList = PlatformSettings.mcpAllowedHosts.strings(in: try await services.settings.load())
        } catch {
            return failed(MCPError(.connection, "could not read the allow-list: \(error)"))
        }
        // The guard checks the host and the client connects only to the address it checked.
        let client = MCPClient(endpoint: MCPEndpoint(url: url, transport: transport, headers: server.headers),
            addressGuard: MCPAddressGuard(allowList: allowList), timeout: Self.testTimeout, logger: services.logger)
        do {
            let handshake = try await client.handshake()
            await client.close()
            let tools = JSONValue.array(handshake.tools.map(\.json))
            return TestOutcome(error: nil, tools: tools, json: .object(base.merging([
                "success": true, "error": .null, "tool_count": .int(Int64(handshake.tools.count)),
                "protocol_version": .string(handshake.server.protocolVersion),
                "server_info": ["name": .string(handshake.server.name), "version": .optional(handshake.server.version)],
            ]) { $1 }))
        } catch {
            await client.close()
            return failed(error)
        }
    }

    // MARK: - Output

    static func masked(_ values: [String: String]) -> JSONValue {
        .object(values.mapValues { _ in .string(mask) })
    }

    static func json(_ server: MCPServerRecord) -> JSONValue {
        [
            "id": .string(server.id.wire), "name": .string(server.name),
            "server_type": .string(server.serverType), "command": .optional(server.command),
            "args": .strings(server.args), "env": masked(server.env), "url": .optional(server.url),
            "headers": masked(server.headers), "tools": server.tools,
            "tool_count": .int(Int64(server.tools.arrayValue?.count ?? 0)), "is_active": .bool(server.isActive),
            "last_tested_at": .optional(server.lastTestedAt), "last_test_error": .optional(server.lastTestError),
            "created_at": .optional(server.createdAt), "updated_at": .optional(server.updatedAt),
        ]
    }
}
