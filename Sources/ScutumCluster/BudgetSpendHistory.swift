import Foundation
import ScutumCore
import ScutumStore

/// Where a rebuilt budget counter takes the spend of its period before it existed: the spend log.
public protocol BudgetSpendHistory: Sendable {
    /// What `subject` spent from `from` up to (not including) `before`, in USD.
    func spend(of subject: BudgetSubject, from: Date, before: Date) async throws -> Double
}

extension SpendLogStore: BudgetSpendHistory {}
