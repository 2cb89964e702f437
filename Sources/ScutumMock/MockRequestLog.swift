import Synchronization

/// One request the mock received.
public struct MockRecordedRequest: Sendable {
    public var method: String
    /// Path and query.
    public var uri: String
    /// Header names lower-cased, in arrival order.
    public var headers: [(String, String)]
    public var body: [UInt8]

    /// The body as UTF-8 text.
    public func bodyString() -> String { String(decoding: body, as: UTF8.self) }
}

/// A thread-safe record of the last requests the mock received, for tests to inspect.
public final class MockRequestLog: Sendable {
    private let storage = Mutex<[MockRecordedRequest]>([])
    private let capacity: Int

    public init(capacity: Int = 100) {
        self.capacity = capacity
    }

    func append(_ request: MockRecordedRequest) {
        storage.withLock { entries in
            entries.append(request)
            if entries.count > capacity { entries.removeFirst(entries.count - capacity) }
        }
    }

    /// Every recorded request, oldest first.
    public var entries: [MockRecordedRequest] { storage.withLock { $0 } }

    /// The latest request.
    public var last: MockRecordedRequest? { storage.withLock { $0.last } }

    public func clear() { storage.withLock { $0.removeAll() } }
}
