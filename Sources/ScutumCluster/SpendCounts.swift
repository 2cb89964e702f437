import Synchronization

/// What became of spend records that did not take the usual way (recorder -> Redis stream ->
/// writer -> `spend_logs`), counted since the node started, for `/metrics`. One instance is shared
/// by a node's `SpendRecorder` and `SpendLogWriter`.
public final class SpendCounts: Sendable {
    private let deadLetteredCount = Atomic<Int>(0)
    private let deadLetterFailureCount = Atomic<Int>(0)
    private let droppedCount = Atomic<Int>(0)
    private let writtenDirectlyCount = Atomic<Int>(0)

    public init() {}

    /// Records PostgreSQL refused for their data, moved to `spend_dead_letters`.
    public var deadLettered: Int { deadLetteredCount.load(ordering: .relaxed) }
    /// Refused records that could not be kept as dead letters either (PostgreSQL refused that
    /// too); only the log has them.
    public var deadLetterFailures: Int { deadLetterFailureCount.load(ordering: .relaxed) }
    /// Records lost: the recorder's buffer was full while neither Redis nor PostgreSQL took them.
    public var dropped: Int { droppedCount.load(ordering: .relaxed) }
    /// Records written straight to PostgreSQL because Redis stayed unreachable.
    public var writtenDirectly: Int { writtenDirectlyCount.load(ordering: .relaxed) }

    func deadLettered(_ count: Int) { deadLetteredCount.add(count, ordering: .relaxed) }
    func deadLetterFailed(_ count: Int) { deadLetterFailureCount.add(count, ordering: .relaxed) }
    func dropped(_ count: Int) { droppedCount.add(count, ordering: .relaxed) }
    func wroteDirectly(_ count: Int) { writtenDirectlyCount.add(count, ordering: .relaxed) }
}
