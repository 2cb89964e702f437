import Foundation
import Hummingbird
import ScutumCore
import ScutumStore

/// `/api/v1/budgets...`: spending limits on keys, teams, users and everything. Team-scoped callers
/// see the budgets of their teams, of the keys they see and of themselves; a team admin sets the
/// budgets of the team's keys and members, each at most the team's own `max_budget`.
struct BudgetRoutes {
    let services: AdminServices

    func register(on group: RouterGroup<AdminRequestContext>) {
        group.get("/budgets") { _, context in try await list(context) }
        group.post("/budgets") { request, context in try await create(request, context) }
        group.get("/budgets/{id}") { _, context in try await respond(try await find(context)) }
        group.put("/budgets/{id}") { request, context in try await update(request, context) }
        group.delete("/budgets/{id}") { _, context in try await delete(context) }
    }

    static let budgetNotFound = AdminError.notFound("Budget not found")

    func list(_ context: AdminRequestContext) async throws -> Response {
        let access = try context.requirePrincipal().access
        var budgets: [JSONValue] = []
        let now = Date()
        // Team-scoped callers: every key and user read once, not once per budget.
        let lookup = access.readsEverything ? nil : try await Lookup(services)
        for budget in try await services.budgets.list() {
            guard try await teamOf(budget.subject, access, lookup).sees else { continue }
            budgets.append(Self.json(budget, spend: await services.spend(of: budget), now: now))
        }
        return AdminResponse.json(["budgets": .array(budgets)])
    }

    /// Creates the budget of a subject, or replaces the limits of its existing one.
    func create(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let scope = fields.required("scope", fields.literal("scope", ["key", "team", "user", "global"], nullable: false))
        let scopeID = fields.string("scope_id", nonEmpty: true, maxLength: 256).value
        let limits = BudgetFields(&fields)
        let subject = try await subject(scope: scope, scopeID: scopeID, fields: &fields, access: principal.access)
        try fields.finish()
        guard let subject else { throw AdminError.invalid(["body", "scope"], "Field required", type: "missing") }
        let existing = try await services.budgets.find(subject)
        try await checkTeamAdmin(principal.access, subject: subject,
            maxBudget: limits.maxBudget.applied(to: existing?.maxBudget))

        let budget = try await limits.apply(to: subject, in: services.budgets, existing: existing, always: true)
        guard let budget else { throw Self.budgetNotFound }
        try await services.audit(principal, "budget.upsert", targetType: "budget",
            targetID: budget.id.wire,
            details: ["scope": .string(subject.scope), "scope_id": .string(subject.id),
                "fields": .strings(limits.presentNames)])
        return try await respond(budget)
    }

    func update(_ request: Request, _ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        var fields = try await services.body(request)
        let limits = BudgetFields(&fields)
        try fields.finish()
        let existing = try await find(context)
        try await checkTeamAdmin(principal.access, subject: existing.subject,
            maxBudget: limits.maxBudget.applied(to: existing.maxBudget))
        let budget = try await limits.apply(to: existing.subject, in: services.budgets, existing: existing) ?? existing
        try await services.audit(principal, "budget.update", targetType: "budget",
            targetID: budget.id.wire,
            details: ["scope": .string(budget.subject.scope), "scope_id": .string(budget.subject.id),
                "fields": .strings(limits.presentNames)])
        return try await respond(budget)
    }

    func delete(_ context: AdminRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let budget = try await find(context)
        try await checkTeamAdmin(principal.access, subject: budget.subject, maxBudget: nil)
        try await services.budgets.delete(budget.subject)
        let id = budget.id.wire
        try await services.audit(principal, "budget.delete", targetType: "budget", targetID: id,
            details: ["scope": .string(budget.subject.scope), "scope_id": .string(budget.subject.id)])
        return AdminResponse.json(["deleted": .string(id)])
    }

    /// The subject a body names: `scope_id` required except for `global` (where it must be left
    /// out); a key by id or plaintext, a team that exists, any user id.
    private func subject(scope: String?, scopeID: String?, fields: inout BodyFields, access: AdminAccess) async throws
        -> BudgetSubject?
    {
        guard let scope else { return nil }
        if access != .admin && (scope == "global" || scope == "team") { throw AdminError.adminRequired }
        if scope == "global" {
            if scopeID != nil { fields.fail("scope_id", "Value error, a global budget has no scope_id", type: "value_error") }
            return .global
        }
        guard let scopeID else {
            if fields.object["scope_id"] == nil || fields.object["scope_id"]?.isNull == true {
                fields.fail("scope_id", "Field required", type: "missing")
            }
            return nil
        }
        switch scope {
        case "key":
            let record = try await scopeID.hasPrefix("sk-")
                ? services.keys.find(hash: APIKey.hash(scopeID))
                : UUID(uuidString: scopeID).asyncFlatMap { try await services.keys.find(id: $0) }
            guard let record, access.sees(key: record) else {
                // A key the caller cannot see is not there for them either.
                if access != .admin && record != nil { throw KeyRoutes.keyNotFound }
                fields.fail("scope_id", "Value error, no key with this id", type: "value_error")
                return nil
            }
            return .key(record.keyID)
        case "team":
            guard try await services.teamExists(scopeID) else {
                fields.fail("scope_id", "Value error, team '\(scopeID)' does not exist", type: "value_error")
                return nil
            }
            return .team(scopeID)
        default:
            if access != .admin, try await !teamOf(.user(scopeID), access).sees { throw UserRoutes.userNotFound }
            return .user(scopeID)
        }
    }

    /// Whether a team-scoped caller sees a budget's subject, and the team that lets them change it
    /// (one they administer), if any.
    /// Keys and users by id, read once for a list.
    private struct Lookup {
        var keys: [String: KeyRecord]
        var users: [String: UserRecord]

        init(_ services: AdminServices) async throws {
            keys = Dictionary(try await services.keys.list().map { ($0.keyID, $0) }) { first, _ in first }
            users = Dictionary(try await services.users.list().map { ($0.userID, $0) }) { first, _ in first }
        }
    }

    private func teamOf(_ subject: BudgetSubject, _ access: AdminAccess, _ lookup: Lookup? = nil) async throws
        -> (sees: Bool, team: String?)
    {
        if access.readsEverything { return (true, nil) }
        switch subject {
        case .global:
            return (false, nil)
        case .team(let team):
            return (access.sees(team: team), nil)
        case .key(let id):
            var found: KeyRecord?
            if let lookup {
                found = lookup.keys[id]
            } else if let uuid = UUID(uuidString: id) {
                found = try await services.keys.find(id: uuid)
            }
            guard let record = found, access.sees(key: record) else { return (false, nil) }
            let team = record.settings.teamID
            return (true, access.administers(team: team) ? team : nil)
        case .user(let id):
            let found = if let lookup { lookup.users[id] } else { try await services.users.find(id: id) }
            guard let user = found, UserRoutes.sees(user, access) else {
                return (false, nil)
            }
            return (true, user.teams.keys.sorted().first { access.administers(team: $0) })
        }
    }

    /// For team-scoped callers: 403 unless they administer the team of the budget's key or member,
    /// and its `max_budget` (when set) is at most the team's own.
    private func checkTeamAdmin(_ access: AdminAccess, subject: BudgetSubject, maxBudget: Double?) async throws {
        guard access != .admin else { return }
        guard let team = try await teamOf(subject, access).team else {
            throw AdminError.forbidden("Only the team's admins set budgets of its keys and members")
        }
        if let maxBudget, let cap = try await services.budgets.find(.team(team))?.maxBudget, maxBudget > cap {
            throw AdminError.forbidden("max_budget \(maxBudget) is over team '\(team)''s own budget of \(cap)")
        }
    }

    /// The budget of the path, if the caller may see it (404 otherwise).
    private func find(_ context: AdminRequestContext) async throws -> BudgetRecord {
        let access = try context.requirePrincipal().access
        guard let budget = try await services.budgets.find(id: try PathParameter.uuid(context, "id")),
            try await teamOf(budget.subject, access).sees
        else { throw Self.budgetNotFound }
        return budget
    }

    private func respond(_ budget: BudgetRecord) async throws -> Response {
        AdminResponse.json(Self.json(budget, spend: await services.spend(of: budget), now: Date()))
    }

    static func json(_ budget: BudgetRecord, spend: Double?, now: Date) -> JSONValue {
        let period = budget.period(at: now)
        var fields: [String: JSONValue] = [
            "id": .string(budget.id.wire), "scope": .string(budget.subject.scope),
            "scope_id": budget.subject == .global ? .null : .string(budget.subject.id),
            "period_start": .optional(budget.periodStart), "current_period_start": .optional(period.start),
            "current_period_end": .optional(period.end),
        ]
        fields.merge(BudgetFields.json(budget, spend: spend)) { _, limits in limits }
        return .object(fields)
    }
}

extension Optional {
    /// The transform's result for a value, nil for nil.
    func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
