import ServiceLifecycle

/// The loop of a write-behind buffer: runs `flush` whenever `poke` is called and every `interval`
/// (to retry what failed even when nothing new arrives), until graceful shutdown, then once more
/// so what was buffered during shutdown is written too.
public struct FlushLoop: Sendable {
    private let interval: Duration
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    public init(interval: Duration) {
        self.interval = interval
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for a flush soon; pokes while one runs collapse into one more.
    public func poke() { wake.yield() }

    /// Runs until graceful shutdown (or cancellation).
    public func run(_ flush: @escaping @Sendable () async -> Void) async {
        let (wakeups, interval) = (self.wakeups, self.interval)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in wakeups { await flush() }
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
