/// A map that never holds more than `capacity` entries, forgetting the least recently used ones
/// first, at O(1) per operation.
///
/// Two generations: writes and hits go to the current one; when it is half the capacity it becomes
/// the previous one and the one before is dropped. An entry read or written within the last
/// `capacity / 2` insertions therefore survives, and a burst of new entries pushes out only entries
/// nobody used meanwhile. Not thread-safe: callers hold a lock.
struct BoundedMap<Value> {
    private var current: [String: Value] = [:]
    private var previous: [String: Value] = [:]
    private let generationSize: Int

    /// At most `capacity` entries (at least 2).
    init(capacity: Int) {
        generationSize = max(1, capacity / 2)
    }

    /// The value for `key`, counting as a use.
    mutating func get(_ key: String) -> Value? {
        if let value = current[key] { return value }
        guard let value = previous.removeValue(forKey: key) else { return nil }
        insert(key, value)
        return value
    }

    /// The value for `key` without counting as a use.
    func peek(_ key: String) -> Value? {
        current[key] ?? previous[key]
    }

    mutating func insert(_ key: String, _ value: Value) {
        previous[key] = nil
        current[key] = value
        if current.count >= generationSize {
            previous = current
            current = [:]
        }
    }

    mutating func remove(_ key: String) {
        current[key] = nil
        previous[key] = nil
    }

    mutating func removeAll() {
        current = [:]
        previous = [:]
    }

    /// Applies `change` to every value.
    mutating func updateAll(_ change: (inout Value) -> Void) {
        func changed(_ value: Value) -> Value {
            var value = value
            change(&value)
            return value
        }
        current = current.mapValues(changed)
        previous = previous.mapValues(changed)
    }

    var count: Int { current.count + previous.count }
}
