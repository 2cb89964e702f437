import Foundation

/// A spending limit on a key, a team, a user, or everything.
public struct BudgetRecord: Sendable, Equatable {
    public var id: UUID
    public var subject: BudgetSubject
    /// Hard limit in USD per period: requests are refused once spend reaches it.
    public var maxBudget: Double?
    /// Alert threshold in USD: crossing it is logged, requests keep being served.
    public var softBudget: Double?
    /// How long a period lasts (`30d`, `monthly`...); nil for one period that never resets.
    public var duration: BudgetDuration?
    /// When the first period began; later periods follow from `duration`.
    public var periodStart: Date

    public init(id: UUID, subject: BudgetSubject, maxBudget: Double?, softBudget: Double?, duration: BudgetDuration?,
        periodStart: Date)
    {
        self.id = id
        self.subject = subject
        self.maxBudget = maxBudget
        self.softBudget = softBudget
        self.duration = duration
        self.periodStart = periodStart
    }

    /// The period `date` falls in.
    public func period(at date: Date) -> (start: Date, end: Date?) {
        duration?.period(containing: date, from: periodStart) ?? (periodStart, nil)
    }
}

/// What a budget limits.
public enum BudgetSubject: Sendable, Hashable, CustomStringConvertible {
    /// A key, by its id.
    case key(String)
    case team(String)
    case user(String)
    case global

    public init?(scope: String, id: String) {
        switch scope {
        // Key ids are UUIDs; lower case is their one spelling here, whoever wrote the row.
        case "key" where !id.isEmpty: self = .key(id.lowercased())
        case "team" where !id.isEmpty: self = .team(id)
        case "user" where !id.isEmpty: self = .user(id)
        case "global": self = .global
        default: return nil
        }
    }

    public var scope: String {
        switch self {
        case .key: "key"
        case .team: "team"
        case .user: "user"
        case .global: "global"
        }
    }

    public var id: String {
        switch self {
        case .key(let id): id.lowercased()
        case .team(let id), .user(let id): id
        case .global: ""
        }
    }

    public var description: String { self == .global ? "global" : "\(scope) '\(id)'" }
}
