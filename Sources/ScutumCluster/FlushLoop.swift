import ServiceLifecycle

/// The loop of a write-behind buffer: runs `flush` whenever `poke` is called and every `interval`
/// (to retry what failed even when nothing new arrives), at most once per `minimumGap`, until
/// graceful shutdown, then once more so what was buffered during shutdown is written too.
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

    /// Runs until graceful shutdown (or cancellation).
    public func run(_ flush: @escaping @Sendable () async -> Void) async {
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
        await flush()
    }
}
