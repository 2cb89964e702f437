import ScutumRedis
import Testing

@Suite("Breaker messages and the node-local board")
struct BreakerBoardTests {
    @Test("messages round-trip, names with spaces included; anything else is not a breaker message")
    func messages() {
        for message in [BreakerMessage(deployment: "gpt-4o", state: .open(remaining: .milliseconds(30000))),
            BreakerMessage(deployment: "my model 2", state: .open(remaining: .zero)),
            BreakerMessage(deployment: "my model 2", state: .closed)]
        {
            #expect(message.payload.flatMap { BreakerMessage(payload: Array($0.utf8)) } == message)
        }
        #expect(BreakerMessage(payload: Array("open gpt 30000".utf8))?.state == .open(remaining: .seconds(30)))
        #expect(BreakerMessage(deployment: "x", state: .halfOpen).payload == nil)
        for bad in ["", "open", "open gpt", "open  30000", "open gpt -5", "open gpt soon", "closed ", "closed",
            "half_open gpt", "OPEN gpt 1"]
        {
            #expect(BreakerMessage(payload: Array(bad.utf8)) == nil, "\(bad)")
        }
    }

    @Test("a deployment is closed until told otherwise; open turns half-open when its time passes")
    func openExpires() async throws {
        let board = BreakerBoard()
        #expect(board.read(["a", "b"]) == [.closed, .closed])
        #expect(Set(board.known().deployments) == ["a", "b"])
        board.set("a", .open(remaining: .milliseconds(80)))
        board.apply(BreakerMessage(deployment: "c", state: .open(remaining: .seconds(30))))
        #expect(board.read(["a", "b", "c"]) == [.open, .closed, .open])
        try await Task.sleep(for: .milliseconds(120))
        #expect(board.read(["a", "b", "c"]) == [.halfOpen, .closed, .open])
        board.apply(BreakerMessage(deployment: "a", state: .closed))
        #expect(board.readings() == ["a": .closed, "b": .closed, "c": .open])
    }

    @Test("openings count each time a breaker leaves closed: not a re-open from half-open, not a repeat")
    func openings() {
        let board = BreakerBoard()
        _ = board.read(["a"])
        #expect(board.statuses() == ["a": .init(reading: .closed, openings: 0)])
        board.set("a", .open(remaining: .seconds(30)))
        board.set("a", .open(remaining: .seconds(29)))
        board.set("a", .halfOpen)
        board.set("a", .open(remaining: .seconds(30)))
        #expect(board.statuses()["a"] == .init(reading: .open, openings: 1))
        board.set("a", .closed)
        board.set("a", .halfOpen)
        board.set("b", .open(remaining: .seconds(30)))
        #expect(board.statuses() == ["a": .init(reading: .halfOpen, openings: 2), "b": .init(reading: .open, openings: 1)])
    }

    @Test("the version moves with every change and not with plain reads")
    func version() {
        let board = BreakerBoard()
        let start = board.version
        _ = board.read(["a"])
        let seen = board.version
        #expect(seen > start)
        _ = board.read(["a"])
        #expect(board.version == seen)
        board.set("a", .halfOpen)
        #expect(board.version > seen)
    }

    @Test("a reconcile takes Redis's word, except for what changed after its read began")
    func reconcile() {
        let board = BreakerBoard()
        _ = board.read(["a", "b", "c"])
        let (deployments, version) = board.known()
        // While the round trip is out, a message opens b.
        board.set("b", .open(remaining: .seconds(30)))
        let fromRedis: [String: BreakerState] = ["a": .open(remaining: .seconds(5)), "b": .closed, "c": .halfOpen]
        board.reconcile(deployments, deployments.map { fromRedis[$0]! }, readAfter: version)
        #expect(board.read(["a", "b", "c"]) == [.open, .open, .halfOpen])
        // The next one sees b closed in Redis and closes it.
        let next = board.known()
        board.reconcile(next.deployments, next.deployments.map { fromRedis[$0]! }, readAfter: next.version)
        #expect(board.reading("b") == .closed)
        // Saying again what the board holds changes nothing.
        let unchanged = board.version
        let last = board.known()
        board.reconcile(last.deployments, last.deployments.map { fromRedis[$0]! }, readAfter: last.version)
        #expect(board.version == unchanged)
    }
}
