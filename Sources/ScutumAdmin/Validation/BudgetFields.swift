import Foundation
import ScutumCore
import ScutumStore

/// The three budget fields keys, teams and budgets share, as sent in a body.
struct BudgetFields {
    var maxBudget: Field<Double>
    var softBudget: Field<Double>
    var duration: Field<BudgetDuration>

    init(_ fields: inout BodyFields) {
        maxBudget = fields.amount("max_budget")
        softBudget = fields.amount("soft_budget")
        duration = fields.duration("budget_duration")
    }

    /// Whether the body mentioned any of them.
    var isPresent: Bool { maxBudget.isPresent || softBudget.isPresent || duration.isPresent }

    /// The names of the fields the body mentioned, for audit entries.
    var presentNames: [String] {
        [("max_budget", maxBudget.isPresent), ("soft_budget", softBudget.isPresent),
            ("budget_duration", duration.isPresent)].filter(\.1).map(\.0)
    }

    /// Applies the fields to `subject`'s budget (creating it if needed) and returns it; with no
    /// field present, the budget as it is, unless `always` (then one with no limits is created).
    func apply(to subject: BudgetSubject, in store: BudgetStore, existing: BudgetRecord?, always: Bool = false)
        async throws -> BudgetRecord?
    {
        guard isPresent || always else { return existing }
        return try await store.upsert(subject, maxBudget: maxBudget.applied(to: existing?.maxBudget),
            softBudget: softBudget.applied(to: existing?.softBudget), duration: duration.applied(to: existing?.duration))
    }

    /// The budget fields for a JSON body: limits, duration and spend (nulls without a budget).
    static func json(_ budget: BudgetRecord?, spend: Double?) -> [String: JSONValue] {
        ["max_budget": .optional(budget?.maxBudget), "soft_budget": .optional(budget?.softBudget),
            "budget_duration": .optional(budget?.duration?.text), "spend": .optional(spend)]
    }
}

extension AdminServices {
    /// The live spend of `budget`'s current period, nil without a budget.
    func spend(of budget: BudgetRecord?) async -> Double? {
        guard let budget else { return nil }
        return await dependencies.liveSpend(budget)
    }
}
