import Foundation
import HTTPTypes
import PostgresNIO
import ScutumCore
import ScutumStore
import ScutumTestSupport
import Testing

@testable import ScutumAdmin

/// Every role against every route family: allowed, refused (403) or invisible (404).
@Suite("Admin API: roles and scopes")
struct RoleAccessTests {
    /// What a call must answer.
    enum Outcome: Equatable, CustomStringConvertible {
        /// 2xx.
        case ok
        /// Anything but 401, 403 and 404 (the route ran; its own checks may answer 422 or 503).
        case allowed
        /// Anything but 401 and 403: let through to the route, which may not find what it was asked for.
        case reached
        case forbidden
        case invisible

        var description: String {
            switch self {
            case .ok: "ok"
            case .allowed: "allowed"
            case .reached: "reached"
            case .forbidden: "403"
            case .invisible: "404"
            }
        }

        func matches(_ status: HTTPResponse.Status) -> Bool {
            switch self {
            case .ok: (200..<300).contains(status.code)
            case .allowed: ![401, 403, 404].contains(status.code)
            case .reached: ![401, 403].contains(status.code)
            case .forbidden: status == .forbidden
            case .invisible: status == .notFound
            }
        }
    }

    /// The people of the tests: an SSO admin, a viewer, team A's admin, a member of A, and a
    /// member of B (whose things A's people must not see).
    struct World: Sendable {
        var tokens: [String: String] = [:]
        var users: [String: String] = [:]
        var keyOwnedByMemberA = ""
        var keyOfTeamA = ""
        var keyOfTeamB = ""
        var budgetOfTeamA = ""
        var budgetOfTeamB = ""
        var budgetOfKeyB = ""

        static let roles = ["admin", "viewer", "teamAdminA", "memberA"]
    }

    /// Teams A (models gpt-5-mini, caps: $5 / 60 RPM / 10,000 TPM, budget $50) and B, the people, and
    /// a key of each kind.
    static func world(_ api: AdminAPI, _ client: PostgresClient) async throws -> World {
        var world = World()
        _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "A", "team_alias": "Team A", "models": ["gpt-5-mini"],
            "max_budget": 50, "key_max_budget": 5, "key_rpm_limit": 60, "key_tpm_limit": 10_000])
        _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "B", "team_alias": "Team B", "max_budget": 80])
        let people: [(String, JSONValue)] = [
            ("admin", ["email": "root@example.com", "role": "admin"]),
            ("viewer", ["email": "eyes@example.com", "role": "viewer"]),
            ("teamAdminA", ["email": "lead-a@example.com", "teams": [["team_id": "A", "role": "team_admin"]]]),
            ("memberA", ["email": "dev-a@example.com", "teams": [["team_id": "A", "role": "member"]]]),
            ("memberB", ["email": "dev-b@example.com", "teams": [["team_id": "B"]]]),
        ]
        for (name, body) in people {
            let user = try await api.ok(.post, "/api/v1/users", body)
            let id = try #require(user["user_id"]?.stringValue)
            world.users[name] = id
            world.tokens[name] = AdminFixture.token(subject: "user:" + id, role: name == "admin" ? .admin : .user)
        }
        world.keyOwnedByMemberA = try #require(try await api.ok(.post, "/api/v1/keys/generate",
            ["team_id": "A", "user_id": .string(world.users["memberA"]!)])["key_id"]?.stringValue)
        world.keyOfTeamA = try #require(try await api.ok(.post, "/api/v1/keys/generate", ["team_id": "A"])["key_id"]?.stringValue)
        world.keyOfTeamB = try #require(try await api.ok(.post, "/api/v1/keys/generate",
            ["team_id": "B", "user_id": .string(world.users["memberB"]!), "max_budget": 3])["key_id"]?.stringValue)
        let budgets = try await api.ok(.get, "/api/v1/budgets")["budgets"]?.arrayValue ?? []
        func budget(_ scope: String, _ id: String) throws -> String {
            try #require(budgets.first { $0["scope"] == .string(scope) && $0["scope_id"] == .string(id) }?["id"]?.stringValue)
        }
        world.budgetOfTeamA = try budget("team", "A")
        world.budgetOfTeamB = try budget("team", "B")
        world.budgetOfKeyB = try budget("key", world.keyOfTeamB)
        return world
    }

    typealias Row = (method: HTTPRequest.Method, path: String, body: JSONValue?, expected: [Outcome])

    /// The table: each row's outcomes for admin, viewer, team A's admin and A's member. DELETE rows
    /// are called in the reverse order (the admin last), so that what they delete is there for the others.
    static func table(_ w: World) -> [Row] {
        let ok = Outcome.ok, no = Outcome.forbidden, hidden = Outcome.invisible, ran = Outcome.allowed
        let reached = Outcome.reached
        // An id nothing has: the routes of the platform's own resources answer 404 to admins and
        // viewers, and 403 to team-scoped callers before looking.
        let none = UUID().uuidString.lowercased()
        return [
            // Teams
            (.get, "/api/v1/teams", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/teams/A", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/teams/B", nil, [ok, ok, hidden, hidden]),
            (.put, "/api/v1/teams/A", ["team_alias": "Team A"], [ok, no, no, no]),
            (.put, "/api/v1/teams/B", ["team_alias": "Team B"], [ok, no, hidden, hidden]),
            (.post, "/api/v1/teams", ["team_alias": "New"], [ok, no, no, no]),
            (.post, "/api/v1/teams/A/members", ["email": "new-a@example.com"], [ok, no, ok, no]),
            (.post, "/api/v1/teams/B/members", ["email": "new-b@example.com"], [ok, no, hidden, hidden]),
            (.delete, "/api/v1/teams/B/members/\(w.users["memberB"]!)", nil, [ran, no, hidden, hidden]),
            // Keys
            (.get, "/api/v1/keys", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/keys?team_id=B", nil, [ok, ok, hidden, hidden]),
            (.get, "/api/v1/keys/\(w.keyOfTeamB)", nil, [ok, ok, hidden, hidden]),
            (.get, "/api/v1/keys/\(w.keyOfTeamA)", nil, [ok, ok, ok, hidden]),
            (.get, "/api/v1/keys/\(w.keyOwnedByMemberA)", nil, [ok, ok, ok, ok]),
            (.post, "/api/v1/keys/block", ["key_id": .string(w.keyOfTeamB)], [ok, no, hidden, hidden]),
            (.post, "/api/v1/keys/block", ["key_id": .string(w.keyOfTeamA)], [ok, no, ok, hidden]),
            (.post, "/api/v1/keys/unblock", ["key_id": .string(w.keyOwnedByMemberA)], [ok, no, ok, ok]),
            (.post, "/api/v1/keys/update", ["key_id": .string(w.keyOwnedByMemberA), "key_alias": "x"], [ok, no, ok, no]),
            (.post, "/api/v1/keys/update", ["key_id": .string(w.keyOfTeamB), "key_alias": "x"], [ok, no, hidden, hidden]),
            (.post, "/api/v1/keys/generate", ["team_id": "B"], [ok, no, hidden, hidden]),
            (.post, "/api/v1/keys/generate", ["team_id": "nope"], [ran, no, hidden, hidden]),
            (.post, "/api/v1/keys/generate", ["team_id": "A"], [ok, no, ok, ok]),
            // Budgets
            (.get, "/api/v1/budgets", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/budgets/\(w.budgetOfTeamA)", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/budgets/\(w.budgetOfTeamB)", nil, [ok, ok, hidden, hidden]),
            (.get, "/api/v1/budgets/\(w.budgetOfKeyB)", nil, [ok, ok, hidden, hidden]),
            (.put, "/api/v1/budgets/\(w.budgetOfKeyB)", ["max_budget": 4], [ok, no, hidden, hidden]),
            (.post, "/api/v1/budgets", ["scope": "key", "scope_id": .string(w.keyOfTeamA), "max_budget": 5],
                [ok, no, ok, hidden]),
            (.post, "/api/v1/budgets", ["scope": "team", "scope_id": "A", "max_budget": 500], [ok, no, no, no]),
            (.post, "/api/v1/budgets", ["scope": "global", "max_budget": 5000], [ok, no, no, no]),
            (.put, "/api/v1/budgets/\(w.budgetOfTeamA)", ["max_budget": 50], [ok, no, no, no]),
            // Team A's budget is $50 again: within it, and not above it.
            (.post, "/api/v1/budgets", ["scope": "user", "scope_id": .string(w.users["memberA"]!), "max_budget": 50],
                [ok, no, ok, no]),
            (.post, "/api/v1/budgets", ["scope": "user", "scope_id": .string(w.users["memberA"]!), "max_budget": 51],
                [ok, no, no, no]),
            (.post, "/api/v1/budgets", ["scope": "key", "scope_id": .string(w.keyOfTeamA), "max_budget": 50.5],
                [ok, no, no, hidden]),
            // Spend and guardrail events
            (.get, "/api/v1/spend/logs", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/spend/logs?team_id=B", nil, [ok, ok, hidden, hidden]),
            (.get, "/api/v1/spend/teams", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/spend/keys", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/spend/users", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/spend/models", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/spend/endpoints", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/spend/logs?key_id=\(w.keyOfTeamB)&team_id=B", nil, [ok, ok, hidden, hidden]),
            (.get, "/api/v1/spend/dead-letters", nil, [ok, no, no, no]),
            (.get, "/api/v1/guardrail-events?team_id=A", nil, [ok, ok, ok, no]),
            (.get, "/api/v1/guardrail-events?team_id=B", nil, [ok, ok, hidden, hidden]),
            // Users
            (.get, "/api/v1/users", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/users/\(w.users["memberB"]!)", nil, [ok, ok, hidden, hidden]),
            (.get, "/api/v1/users/\(w.users["memberA"]!)", nil, [ok, ok, ok, ok]),
            (.post, "/api/v1/users", ["email": "more@example.com"], [ok, no, no, no]),
            (.put, "/api/v1/users/\(w.users["memberA"]!)", ["name": "Dev"], [ok, no, no, no]),
            (.put, "/api/v1/users/\(w.users["memberB"]!)", ["name": "Dev B"], [ok, no, hidden, hidden]),
            (.put, "/api/v1/users/\(w.users["memberB"]!)", ["name": 7], [ran, no, hidden, hidden]),
            (.delete, "/api/v1/users/\(none)", nil, [hidden, no, hidden, hidden]),
            // The platform's own resources
            (.get, "/api/v1/models", nil, [ok, ok, ok, ok]),
            (.put, "/api/v1/models/gpt-5-mini", ["rpm": 100], [ok, no, no, no]),
            (.get, "/api/v1/models/gpt-5-mini", nil, [ok, ok, ok, ok]),
            (.get, "/api/v1/settings", nil, [ok, ok, no, no]),
            (.get, "/api/v1/settings/schema", nil, [ok, ok, no, no]),
            (.put, "/api/v1/settings", ["maintenance_mode": false], [ok, no, no, no]),
            (.get, "/api/v1/routing-policies", nil, [ok, ok, no, no]),
            (.post, "/api/v1/routing-policies", [:], [ran, no, no, no]),
            (.put, "/api/v1/routing-policies/\(none)", [:], [reached, no, no, no]),
            (.delete, "/api/v1/routing-policies/\(none)", nil, [hidden, no, no, no]),
            (.get, "/api/v1/guardrails", nil, [ok, ok, no, no]),
            (.get, "/api/v1/guardrails/\(none)", nil, [hidden, hidden, no, no]),
            (.post, "/api/v1/guardrails", [:], [ran, no, no, no]),
            (.put, "/api/v1/guardrails/\(none)", [:], [reached, no, no, no]),
            (.delete, "/api/v1/guardrails/\(none)", nil, [hidden, no, no, no]),
            (.post, "/api/v1/guardrails/\(none)/assign/A", nil, [reached, no, no, no]),
            (.delete, "/api/v1/guardrails/\(none)/assign/A", nil, [reached, no, no, no]),
            (.get, "/api/v1/guardrail-assignments", nil, [ok, ok, no, no]),
            (.get, "/api/v1/workflows", nil, [ok, ok, no, no]),
            (.get, "/api/v1/workflows/templates", nil, [ok, ok, no, no]),
            (.get, "/api/v1/workflows/\(none)", nil, [hidden, hidden, no, no]),
            (.post, "/api/v1/workflows", [:], [ran, no, no, no]),
            (.put, "/api/v1/workflows/\(none)", [:], [reached, no, no, no]),
            (.delete, "/api/v1/workflows/\(none)", nil, [hidden, no, no, no]),
            (.get, "/api/v1/workflow-executions", nil, [ok, ok, no, no]),
            (.get, "/api/v1/workflow-executions/\(none)", nil, [hidden, hidden, no, no]),
            (.post, "/api/v1/workflow-executions", [:], [ran, no, no, no]),
            (.post, "/api/v1/workflow-executions/\(none)/cancel", nil, [reached, no, no, no]),
            (.get, "/api/v1/mcp-servers", nil, [ok, ok, no, no]),
            (.get, "/api/v1/mcp-servers/\(none)", nil, [hidden, hidden, no, no]),
            (.get, "/api/v1/mcp-servers/sync/preview", nil, [reached, reached, no, no]),
            (.post, "/api/v1/mcp-servers", [:], [ran, no, no, no]),
            (.put, "/api/v1/mcp-servers/\(none)", [:], [reached, no, no, no]),
            (.post, "/api/v1/mcp-servers/\(none)/test", nil, [reached, no, no, no]),
            (.delete, "/api/v1/mcp-servers/\(none)", nil, [hidden, no, no, no]),
            (.get, "/api/v1/cluster", nil, [ok, ok, no, no]),
            (.get, "/api/v1/metrics/realtime", nil, [ran, ran, no, no]),
            (.get, "/api/v1/alerts", nil, [ok, ok, no, no]),
            (.get, "/api/v1/audit-log", nil, [ok, ok, no, no]),
            (.delete, "/api/v1/cache", nil, [ran, no, no, no]),
            (.get, "/auth/me", nil, [ok, ok, ok, ok]),
            // Last, what deletes: B's key budget, B's key (and its budget), B's member, a team budget, the teams.
            (.delete, "/api/v1/budgets/\(w.budgetOfKeyB)", nil, [ok, no, hidden, hidden]),
            (.post, "/api/v1/keys/delete", ["key_ids": [.string(w.keyOfTeamB)]], [ok, no, hidden, hidden]),
            (.delete, "/api/v1/users/\(w.users["memberB"]!)", nil, [ok, no, hidden, hidden]),
            (.delete, "/api/v1/budgets/\(w.budgetOfTeamA)", nil, [ok, no, no, no]),
            (.delete, "/api/v1/teams/B", nil, [ran, no, hidden, hidden]),
            (.delete, "/api/v1/teams/A", nil, [ran, no, no, no]),
        ]
    }

    @Test("every role against every route family: allowed, refused (403) or invisible (404)")
    func table() async throws {
        try await AdminFixture.withAPI { api, client in
            let world = try await Self.world(api, client)
            for row in Self.table(world) {
                let order = Array(World.roles.enumerated())
                for (index, role) in row.method == .delete ? order.reversed() : order {
                    let reply = try await api.call(row.method, row.path, row.body, as: world.tokens[role])
                    let expected = row.expected[index]
                    #expect(expected.matches(reply.status),
                        "\(role) \(row.method) \(row.path): expected \(expected), got \(reply.status.code) \(reply.text)")
                }
            }
        }
    }

    @Test("lists show each caller their own: teams, keys, budgets, spend rows, users")
    func listsAreScoped() async throws {
        try await AdminFixture.withAPI { api, client in
            let world = try await Self.world(api, client)
            let spend = SpendLogStore(client: client, logger: TestEnvironment.logger)
            func row(_ id: String, key: String, team: String, user: String?, cost: Double) -> SpendRecord {
                SpendRecord(requestID: id, at: Date(), keyID: key, keyAlias: nil, teamID: team, userID: user,
                    modelRequested: "gpt-5-mini", modelServed: "gpt-5-mini", provider: "openai", promptTokens: 1,
                    completionTokens: 1, cachedTokens: 0, cost: cost, latencyMilliseconds: 1, status: 200, stream: false)
            }
            try await spend.insert([
                row("ra", key: world.keyOfTeamA, team: "A", user: nil, cost: 1),
                row("rm", key: world.keyOwnedByMemberA, team: "A", user: world.users["memberA"], cost: 2),
                row("rb", key: world.keyOfTeamB, team: "B", user: world.users["memberB"], cost: 4),
            ])
            func list(_ path: String, _ member: String, as role: String, field: String) async throws -> Set<String> {
                let reply = try await api.call(.get, path, as: world.tokens[role])
                #expect(reply.status == .ok, "\(path): \(reply.text)")
                return Set((reply.json[member]?.arrayValue ?? []).compactMap { $0[field]?.stringValue })
            }
            #expect(try await list("/api/v1/teams", "teams", as: "teamAdminA", field: "team_id") == ["A"])
            #expect(try await list("/api/v1/teams", "teams", as: "viewer", field: "team_id") == ["A", "B"])
            #expect(try await list("/api/v1/keys", "keys", as: "teamAdminA", field: "key_id")
                == [world.keyOfTeamA, world.keyOwnedByMemberA])
            #expect(try await list("/api/v1/keys", "keys", as: "memberA", field: "key_id") == [world.keyOwnedByMemberA])
            #expect(try await list("/api/v1/budgets", "budgets", as: "teamAdminA", field: "id").contains(world.budgetOfTeamB)
                == false)
            #expect(try await list("/api/v1/spend/logs", "logs", as: "teamAdminA", field: "request_id") == ["ra", "rm"])
            #expect(try await list("/api/v1/spend/logs", "logs", as: "memberA", field: "request_id") == ["rm"])
            #expect(try await list("/api/v1/spend/logs", "logs", as: "viewer", field: "request_id") == ["ra", "rm", "rb"])
            #expect(try await list("/api/v1/spend/teams", "totals", as: "memberA", field: "team_id") == ["A"])
            #expect(try await list("/api/v1/users", "users", as: "teamAdminA", field: "user_id")
                == [world.users["teamAdminA"]!, world.users["memberA"]!])
            #expect(try await list("/api/v1/users", "users", as: "memberA", field: "user_id") == [world.users["memberA"]!])
        }
    }

    @Test("self-serve keys: a member's key is theirs, within the team's models and caps; limits left out take the caps")
    func selfServeKeys() async throws {
        try await AdminFixture.withAPI { api, client in
            let world = try await Self.world(api, client)
            let member = world.tokens["memberA"]
            let made = try await api.call(.post, "/api/v1/keys/generate", ["key_alias": "mine"], as: member)
            #expect(made.status == .ok, "\(made.text)")
            #expect(made.json["team_id"] == "A" && made.json["user_id"] == .string(world.users["memberA"]!))
            #expect(made.json["rpm_limit"] == 60 && made.json["tpm_limit"] == 10_000 && made.json["max_budget"] == 5)
            #expect(made.json["key"]?.stringValue?.hasPrefix("sk-") == true)
            let refusals: [(JSONValue, String)] = [
                (["team_id": "A", "rpm_limit": 61], "rpm_limit 61 is over the team's cap of 60 for its keys"),
                (["team_id": "A", "tpm_limit": 10_001], "tpm_limit 10001 is over the team's cap of 10000 for its keys"),
                (["team_id": "A", "max_budget": 6], "max_budget 6.0 is over team 'A''s cap of 5.0 for its keys"),
                (["team_id": "A", "models": ["claude-sonnet-4.5"]], "Model 'claude-sonnet-4.5' is not one of team 'A''s models"),
                (["team_id": "A", "role": "admin"], "Only admins make admin keys"),
                (["team_id": "A", "guardrails": "off"], "A key's guardrails are set by admins; team keys inherit the team's"),
                (["team_id": "A", "user_id": .string(world.users["teamAdminA"]!)], "Members make keys for themselves only"),
            ]
            for (body, detail) in refusals {
                expectError(try await api.call(.post, "/api/v1/keys/generate", body, as: member), .forbidden, detail)
            }
            // A team admin may give a key to a member of the team, not to someone else.
            let lead = world.tokens["teamAdminA"]
            let given = try await api.call(.post, "/api/v1/keys/generate",
                ["team_id": "A", "user_id": .string(world.users["memberA"]!), "rpm_limit": 10], as: lead)
            #expect(given.status == .ok && given.json["user_id"] == .string(world.users["memberA"]!))
            expectValidationError(try await api.call(.post, "/api/v1/keys/generate",
                ["team_id": "A", "user_id": .string(world.users["memberB"]!)], as: lead), at: "body.user_id")
            // The member revokes their own key; the team admin's key for them too; not team A's other key.
            let id = try #require(made.json["key_id"]?.stringValue)
            #expect(try await api.call(.post, "/api/v1/keys/delete", ["key_ids": [.string(id)]], as: member).status == .ok)
            expectError(try await api.call(.post, "/api/v1/keys/delete", ["key_ids": [.string(world.keyOfTeamA)]], as: member),
                .notFound, "Key not found")
            // Nothing was left behind by the refusals: the member's keys are the admin-made one and the lead's.
            let keys = try await api.call(.get, "/api/v1/keys", as: member).json["keys"]?.arrayValue ?? []
            #expect(keys.count == 2)
        }
    }

    @Test("users: invite, change role and memberships, disable (tokens stop), delete (their keys go); audit names the person")
    func usersLifecycle() async throws {
        try await AdminFixture.withAPI { api, client in
            _ = try await api.ok(.post, "/api/v1/teams", ["team_id": "T", "team_alias": "T"])
            let user = try await api.ok(.post, "/api/v1/users",
                ["email": "Grace@Example.com", "name": "Grace", "teams": [["team_id": "T", "role": "team_admin"]]])
            #expect(user["email"] == "grace@example.com" && user["source"] == "invited" && user["role"] == .null)
            #expect(user["teams"] == [["team_id": "T", "team_alias": "T", "role": "team_admin"]])
            let id = try #require(user["user_id"]?.stringValue)
            expectError(try await api.call(.post, "/api/v1/users", ["email": "grace@example.com"]), .conflict,
                "A user with this e-mail already exists")
            expectValidationError(try await api.call(.post, "/api/v1/users", ["email": "not-an-address"]), at: "body.email")
            expectValidationError(try await api.call(.post, "/api/v1/users",
                ["email": "x@example.com", "teams": [["team_id": "missing"]]]), at: "body.teams")
            expectValidationError(try await api.call(.post, "/api/v1/users", ["email": "y@example.com", "role": "root"]),
                at: "body.role")

            let token = AdminFixture.token(subject: "user:" + id, role: .user)
            let me = try await api.call(.get, "/auth/me", as: token)
            #expect(me.json["access"] == "team" && me.json["user"]?["email"] == "grace@example.com")
            #expect(me.json["teams"] == [["team_id": "T", "team_alias": "T", "role": "team_admin"]])
            // Her key, made as team admin; the audit log names her.
            let key = try await api.call(.post, "/api/v1/keys/generate", ["team_id": "T"], as: token)
            #expect(key.status == .ok)
            let entries = try await api.auditEntries()
            #expect(entries.first { $0["action"] == "key.generate" }?["actor"] == "user:grace@example.com")

            // Promoted to viewer: reads everything, writes nothing.
            _ = try await api.ok(.put, "/api/v1/users/\(id)", ["role": "viewer"])
            #expect(try await api.call(.get, "/api/v1/settings", as: token).status == .ok)
            expectError(try await api.call(.post, "/api/v1/keys/generate", ["team_id": "T"], as: token), .forbidden,
                "Admin role required")
            // Disabled: the token stops at once.
            _ = try await api.ok(.put, "/api/v1/users/\(id)", ["status": "disabled"])
            expectError(try await api.call(.get, "/auth/me", as: token), .unauthorized, "Token has been revoked")
            // Deleted: her memberships, her key and the budgets of both go with her.
            let keyID = try #require(key.json["key_id"]?.stringValue)
            _ = try await api.ok(.post, "/api/v1/budgets", ["scope": "key", "scope_id": .string(keyID), "max_budget": 3])
            _ = try await api.ok(.post, "/api/v1/budgets", ["scope": "user", "scope_id": .string(id), "max_budget": 9])
            let deleted = try await api.ok(.delete, "/api/v1/users/\(id)")
            #expect(deleted["keys_deleted"] == 1)
            let budgets = try await api.ok(.get, "/api/v1/budgets")["budgets"]?.arrayValue ?? []
            #expect(!budgets.contains { $0["scope_id"] == .string(keyID) || $0["scope_id"] == .string(id) })
            #expect(try await api.ok(.get, "/api/v1/teams/T")["members"] == [])
            expectError(try await api.call(.get, "/api/v1/users/\(id)"), .notFound, "User not found")
        }
    }

    @Test("master-key sign-in can be turned off: login 403, its tokens revoked; admin keys still sign in")
    func masterKeyLoginOff() async throws {
        try await withMigratedDatabase { client, _ in
            let (adminKey, _) = try await KeyStore(client: client, logger: TestEnvironment.logger).create(alias: "ops",
                role: .admin)
            let app = AdminFixture.application(client) { $0.masterKeyLogin = false }
            try await app.test(.router) { testClient in
                let api = AdminAPI(client: testClient, token: nil)
                expectError(try await api.call(.post, "/auth/login", ["api_key": .string(AdminFixture.masterKey)]),
                    .forbidden, "Signing in with the master key is turned off; use single sign-on")
                expectError(try await api.call(.get, "/auth/me", as: AdminFixture.token()), .unauthorized,
                    "Token has been revoked")
                #expect(try await api.call(.post, "/auth/login", ["api_key": .string(adminKey)]).status == .ok)
                let sso = try await api.call(.get, "/auth/sso")
                #expect(sso.json == ["enabled": false, "master_key_login": false])
            }
        }
    }
}
