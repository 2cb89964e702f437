import Foundation

/// How long a budget period lasts: a fixed length (`30s`, `15m`, `12h`, `30d`, `2w`) or calendar
/// months (`monthly`, `1mo`, `3mo`). Also accepts `daily` and `weekly`.
public enum BudgetDuration: Sendable, Hashable {
    case seconds(Int)
    case months(Int)

    public init?(parsing text: String) {
        let text = text.trimmingCharacters(in: .whitespaces).lowercased()
        switch text {
        case "daily": self = .seconds(86_400); return
        case "weekly": self = .seconds(7 * 86_400); return
        case "monthly": self = .months(1); return
        default: break
        }
        let digits = text.prefix { $0.isNumber }
        guard let count = Int(digits), count > 0, count < 100_000 else { return nil }
        switch text.dropFirst(digits.count) {
        case "s": self = .seconds(count)
        case "m": self = .seconds(count * 60)
        case "h": self = .seconds(count * 3600)
        case "d": self = .seconds(count * 86_400)
        case "w": self = .seconds(count * 7 * 86_400)
        case "mo": self = .months(count)
        default: return nil
        }
    }

    /// The canonical text (`86400s` is written `1d`).
    public var text: String {
        switch self {
        case .months(1): return "monthly"
        case .months(let count): return "\(count)mo"
        case .seconds(let seconds):
            if seconds % 86_400 == 0 { return "\(seconds / 86_400)d" }
            if seconds % 3600 == 0 { return "\(seconds / 3600)h" }
            if seconds % 60 == 0 { return "\(seconds / 60)m" }
            return "\(seconds)s"
        }
    }

    /// The period containing `date`, counting whole periods from `origin` (UTC calendar for months).
    public func period(containing date: Date, from origin: Date) -> (start: Date, end: Date) {
        switch self {
        case .seconds(let length):
            let elapsed = max(0, date.timeIntervalSince(origin))
            let index = (elapsed / Double(length)).rounded(.down)
            let start = origin.addingTimeInterval(index * Double(length))
            return (start, start.addingTimeInterval(Double(length)))
        case .months(let count):
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? .current
            var start = origin
            var end = calendar.date(byAdding: .month, value: count, to: origin) ?? origin.addingTimeInterval(2_592_000)
            while end <= date {
                start = end
                end = calendar.date(byAdding: .month, value: count, to: start) ?? start.addingTimeInterval(2_592_000)
            }
            return (start, end)
        }
    }

    /// The length of a fixed period in seconds, for `duration` on keys (expiry); nil for months.
    public var fixedSeconds: Int? {
        if case .seconds(let seconds) = self { return seconds }
        return nil
    }
}
