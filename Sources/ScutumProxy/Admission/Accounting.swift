import Foundation
import Logging
import ScutumCluster
import ScutumCore
import ScutumRedis

/// Admission before a call (maintenance, team, model allow-lists, budgets against the live spend
/// in Redis) and spend recording after it.
public struct Accounting: Sendable {
    public let platform: PlatformState
    public let ledger: SpendLedger?
    /// This node's view of every budget's live spend, read without a round trip.
    public let liveSpend: LiveSpend?
    public let recorder: SpendRecorder?
    /// Rate limits; nil turns them off.
    public let rateLimiting: RateLimiting?
    let logger: Logger

    public init(platform: PlatformState, ledger: SpendLedger?, liveSpend: LiveSpend? = nil, recorder: SpendRecorder?,
        rateLimiting: RateLimiting? = nil, logger: Logger)
    {
        self.platform = platform
        self.ledger = ledger
        self.liveSpend = liveSpend
        self.recorder = recorder
        self.rateLimiting = rateLimiting
        self.logger = logger
    }

    /// What admission decided for one request.
    struct Admission: Sendable {
        /// The budgets the request's cost counts against.
        var budgets: [BudgetRecord]
        /// Deployment names the caller may use (nil: any).
        var allowedModels: Set<String>?
        var costTracking: Bool
        /// What the rate limits took for this request, settled when it ends.
        var permit: RateLimiting.Permit?
    }

    /// The deployments `key` and its team may use (nil: any); throws when its team is blocked.
    static func allowedModels(for key: AuthenticatedKey?, in snapshot: PlatformSnapshot) throws(GatewayError)
        -> Set<String>?
    {
        guard let key else { return nil }
        var allowed: Set<String>? = key.models.isEmpty ? nil : Set(key.models)
        if let teamID = key.teamID, let team = snapshot.teams[teamID] {
            if team.blocked { throw .invalidAPIKey("This API key's team is blocked.") }
            if !team.models.isEmpty { allowed = allowed.map { $0.intersection(team.models) } ?? Set(team.models) }
        }
        return allowed
    }

    /// What `admitNow` decided.
    enum ImmediateAdmission: Sendable {
        case admitted(Admission)
        case refused(GatewayError)
        /// Deciding needs a round trip (a budget not yet read, a rate-limit lease short): nothing was
        /// taken; `admit` decides.
        case wouldWait
    }

    /// `admit`, from what this node already holds (the platform snapshot, the live spend view, the
    /// rate-limit leases), never waiting.
    func admitNow(model: String, principal: Principal?, estimatedTokens: Int) -> ImmediateAdmission {
        let snapshot = platform.current
        let key = principal?.key
        let allowed: Set<String>?
        do throws(GatewayError) {
            allowed = try Self.allowedModels(for: key, in: snapshot)
        } catch {
            return .refused(error)
        }
        let budgets = snapshot.budgets(for: key)
        if snapshot.budgetEnforcement, ledger != nil {
            let limited = budgets.filter { $0.maxBudget != nil || $0.softBudget != nil }
            if !limited.isEmpty {
                guard let liveSpend else { return .wouldWait }
                let known = liveSpend.current(limited)
                if known.contains(where: { $0 == nil }) { return .wouldWait }
                do throws(GatewayError) {
                    try check(limited, spends: known.map { $0 ?? 0 })
                } catch {
                    return .refused(error)
                }
            }
        }
        var permit: RateLimiting.Permit?
        if let rateLimiting {
            guard let taken = rateLimiting.admitFromLeases(key: key, snapshot: snapshot, tokens: estimatedTokens) else {
                return .wouldWait
            }
            permit = taken
        }
        return .admitted(Admission(budgets: budgets, allowedModels: allowed, costTracking: snapshot.costTracking,
            permit: permit))
    }

    /// Throws when a budget's spend has reached its maximum; logs a crossed soft budget.
    private func check(_ budgets: [BudgetRecord], spends: [Double]) throws(GatewayError) {
        for (budget, spend) in zip(budgets, spends) {
            if let maximum = budget.maxBudget, spend >= maximum {
                throw Self.exceeded(budget, spend: spend)
            }
            if let soft = budget.softBudget, spend >= soft {
                logger.warning("soft budget crossed", metadata: [
                    "budget": "\(budget.subject)", "spend": "\(spend)", "soft_budget": "\(soft)",
                ])
            }
        }
    }

    /// Checks the caller may use `model` now; throws the error the client gets when not.
    func admit(model: String, principal: Principal?, estimatedTokens: Int, requestID: String)
        async throws(GatewayError) -> Admission
    {
        let snapshot = platform.current
        let key = principal?.key
        let allowed = try Self.allowedModels(for: key, in: snapshot)
        let budgets = snapshot.budgets(for: key)
        if snapshot.budgetEnforcement, let ledger {
            let limited = budgets.filter { $0.maxBudget != nil || $0.softBudget != nil }
            if !limited.isEmpty {
                do {
                    let spends = try await currentSpend(limited, ledger: ledger)
                    try check(limited, spends: spends)
                } catch let error as GatewayError {
                    throw error
                } catch {
                    // Redis down: serve rather than fail; the counters catch up when it returns.
                    logger.warning("budget check skipped, live spend unavailable", metadata: ["error": "\(error)"])
                }
            }
        }
        let permit = try await rateLimiting?.admit(key: key, snapshot: snapshot, tokens: estimatedTokens,
            requestID: requestID)
        return Admission(budgets: budgets, allowedModels: allowed, costTracking: snapshot.costTracking, permit: permit)
    }

    /// The budgets' live spend: from this node's view (`LiveSpend`, no round trip) once it has read
    /// them, else from Redis in one round trip. The view lags the cluster by at most its refresh
    /// and flush intervals (0.5 s with the defaults): budgets may be overspent by what the cluster
    /// spends in that time, plus what is in flight.
    private func currentSpend(_ budgets: [BudgetRecord], ledger: SpendLedger) async throws -> [Double] {
        guard let liveSpend else { return try await ledger.current(budgets) }
        let known = liveSpend.current(budgets)
        if !known.contains(nil) { return known.map { $0 ?? 0 } }
        return try await liveSpend.fetch(budgets)
    }

    static func exceeded(_ budget: BudgetRecord, spend: Double) -> GatewayError {
        let period = budget.period(at: Date())
        let resets = period.end.map { " It resets at \(ISO8601DateFormatter().string(from: $0))." } ?? ""
        let maximum = budget.maxBudget ?? 0
        return GatewayError(status: 400,
            message: "Budget exceeded for \(budget.subject): spent $\(Self.money(spend)) of $\(Self.money(maximum)).\(resets)",
            type: "budget_exceeded", code: "budget_exceeded")
    }

    static func money(_ value: Double) -> String {
        String(format: "%.4f", value)
    }

    /// Records what a finished request cost.
    func record(_ record: SpendRecord, admission: Admission) {
        recorder?.record(record, budgets: admission.costTracking ? admission.budgets : [])
        if let permit = admission.permit, let rateLimiting {
            let tokens = record.status == 200 ? record.promptTokens + record.completionTokens : 0
            rateLimiting.settle(permit, tokens: tokens)
        }
    }
}
