import ServiceLifecycle
import Synchronization

/// The loop of a write-behind buffer: runs `flush` whenever `poke` is called and every `interval`
/// (to retry what failed even when nothing new arrives), at most once per `minimumGap`, until
/// graceful shutdown, then once more (`last`, else `flush`) so what was buffered during shutdown is
/// written too.
public struct FlushLoop: Sendable {
    private let interval: Duration
    private let minimumGap: Duration
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter minimumGap: The least time from one flush's start to the next's; pokes in
    ///   between collapse into one flush at its end, so a busy buffer flushes in batches.
    public init(interval: Duration, minimumGap: Duration = .zero) {
        self.interval = interval
        self.minimumGap = minimumGap
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a flush soon; pokes while one runs collapse into one more.
    public func poke() { wake.yield() }

    /// Runs until graceful shutdown (or cancellation), then `last` (else `flush`) once.
    public func run(_ flush: @escaping @Sendable () async -> Void, last: (@Sendable () async -> Void)? = nil) async {
        let (wakeups, interval, minimumGap) = (self.wakeups, self.interval, self.minimumGap)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in wakeups {
                        let started = ContinuousClock.now
                        await flush()
                        if minimumGap > .zero {
                            // Cancelled at shutdown: the sleep ends at once, and the final flush follows.
                            try? await Task.sleep(until: started + minimumGap)
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: interval)
                        poke()
                    }
                }
            }
        }
        await (last ?? flush)()
    }
}

/// Lets one caller at a time through, the others waiting in turn (an async lock around a flush).
final class FlushGate: Sendable {
    private let state = Mutex<(busy: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))

    /// Waits until no one else is inside, then enters.
    func enter() async {
        await withCheckedContinuation { (entry: CheckedContinuation<Void, Never>) in
            let enters = state.withLock { state -> Bool in
                guard state.busy else {
                    state.busy = true
                    return true
                }
                state.waiting.append(entry)
                return false
            }
            if enters { entry.resume() }
        }
    }

    /// Leaves, letting the next waiting caller in.
    func leave() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiting.isEmpty else {
                state.busy = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        next?.resume()
    }
}
