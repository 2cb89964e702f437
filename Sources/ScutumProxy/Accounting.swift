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
    public let recorder: SpendRecorder?
    /// Rate limits; nil turns them off.
    public let rateLimiting: RateLimiting?
    let logger: Logger

    public init(platform: PlatformState, ledger: SpendLedger?, recorder: SpendRecorder?,
        rateLimiting: RateLimiting? = nil, logger: Logger)
    {
        self.platform = platform
        self.ledger = ledger
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

    /// Checks the caller may use `model` now; throws the error the client gets when not.
    func admit(model: String, principal: Principal?, estimatedTokens: Int, requestID: String)
        async throws(GatewayError) -> Admission
    {
        let snapshot = platform.current
        let key = principal?.key
        var allowed: Set<String>?
        if let key {
            if !key.models.isEmpty { allowed = Set(key.models) }
            if let teamID = key.teamID, let team = snapshot.teams[teamID] {
                if team.blocked { throw .invalidAPIKey("This API key's team is blocked.") }
                if !team.models.isEmpty { allowed = allowed.map { $0.intersection(team.models) } ?? Set(team.models) }
            }
        }
        let budgets = snapshot.budgets(for: key)
        if snapshot.budgetEnforcement, let ledger {
            let limited = budgets.filter { $0.maxBudget != nil || $0.softBudget != nil }
            if !limited.isEmpty {
                do {
                    let spends = try await ledger.current(limited)
                    for (budget, spend) in zip(limited, spends) {
                        if let maximum = budget.maxBudget, spend >= maximum {
                            throw Self.exceeded(budget, spend: spend)
                        }
                        if let soft = budget.softBudget, spend >= soft {
                            logger.warning("soft budget crossed", metadata: [
                                "budget": "\(budget.subject)", "spend": "\(spend)", "soft_budget": "\(soft)",
                            ])
                        }
                    }
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
