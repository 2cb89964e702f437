import Logging
import NIOConcurrencyHelpers
import NIOCore

/// A Redis Cluster behind one `RedisClient`: the slot map (from `CLUSTER SLOTS`), one single-server
/// `RedisClient` per node (the same connection code, pointed at that node's host and port), and the
/// routing of every command to the master owning its keys' slot.
///
/// - Keyed commands go to the slot's master (`RedisCommandKeys` knows where a command's keys are);
///   `MGET`, `DEL`, `UNLINK`, `EXISTS` and `TOUCH` over several slots are split by slot and their
///   replies merged; commands without keys go to any master; `SCRIPT LOAD`, `SCRIPT FLUSH` and
///   `FLUSHDB` to every master.
/// - A pipeline is split by node, each part sent as one pipeline, the replies put back in order; a
///   command that must reach every master is a barrier (what comes after it is sent after it ran).
/// - `MOVED` updates the map (and refreshes it in the background) and sends the command to the new
///   owner; `ASK` sends `ASKING` and the command to the target, once; `TRYAGAIN` and `CLUSTERDOWN`
///   wait a little and try again; all within `maximumRedirects`.
/// - A node that cannot be reached (or drops a connection) makes the map refresh; a command that was
///   never sent (the node was unreachable) is sent again if the new map moved its slot elsewhere (a
///   failover), else the error is thrown, as for a single server: callers fall back per node.
final class RedisCluster: Sendable {
    let configuration: RedisConfiguration
    private let group: any EventLoopGroup
    private let logger: Logger
    private let topology = NIOLockedValueBox(Topology())
    private let refreshing = NIOLockedValueBox<Task<Void, Never>?>(nil)
    private let isClosed = NIOLockedValueBox(false)
    /// Nodes that failed lately: asked for the slot map last (a frozen one would make callers wait).
    private let suspects = NIOLockedValueBox(Set<RedisEndpoint>())

    /// One master with the slots it owns and its replicas.
    struct Shard: Sendable, Equatable {
        var master: RedisEndpoint
        var replicas: [RedisEndpoint]
        var slots: [ClosedRange<Int>]
    }

    private struct Topology {
        /// Per slot, an index into `masters` (-1: nobody serves it).
        var owners = [Int32](repeating: -1, count: RedisHashSlot.count)
        var masters: [RedisEndpoint] = []
        var shards: [Shard] = []
        var clients: [RedisEndpoint: RedisClient] = [:]
        var loaded = false
        var lastRefresh = NIODeadline.uptimeNanoseconds(0)
    }

    init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup, logger: Logger) {
        self.configuration = configuration
        self.group = eventLoopGroup
        self.logger = logger
    }

    // MARK: Sending

    /// Sends `commands`, each to the node that serves it, and returns their replies in order.
    func pipeline(_ commands: [[RedisArgument]]) async throws -> [RedisValue] {
        try await loadIfNeeded()
        return try await pipeline(commands, attempt: 0)
    }

    private enum Route {
        case node(RedisEndpoint)
        case special
    }

    private func pipeline(_ commands: [[RedisArgument]], attempt: Int) async throws -> [RedisValue] {
        if commands.count == 1 { return [try await run(commands[0], attempt: attempt)] }
        var replies = [RedisValue](repeating: .null, count: commands.count)
        var start = 0
        while start < commands.count {
            // One phase: the commands up to the next one that must reach every master or be split. A
            // command without keys goes with its neighbours (the next keyed one, else the last): a
            // MULTI ... EXEC stays on one connection of one node.
            var byNode: [RedisEndpoint: [Int]] = [:]
            var keyless: [Int] = []
            var last: RedisEndpoint?
            var end = start
            while end < commands.count, case .node(let endpoint) = route(commands[end]) {
                if case .keyless = RedisCommandKeys.of(commands[end]) {
                    keyless.append(end)
                } else {
                    for index in keyless { byNode[endpoint, default: []].append(index) }
                    keyless.removeAll()
                    byNode[endpoint, default: []].append(end)
                    last = endpoint
                }
                end += 1
            }
            if !keyless.isEmpty, end > start {
                let endpoint = last ?? anyMaster()
                byNode[endpoint, default: []].append(contentsOf: keyless)
            }
            for endpoint in byNode.keys { byNode[endpoint]!.sort() }
            if end == start {
                replies[start] = try await run(commands[start], attempt: attempt)
                start += 1
                continue
            }
            try await withThrowingTaskGroup(of: [(Int, RedisValue)].self) { group in
                for (endpoint, indices) in byNode {
                    group.addTask {
                        let part = indices.map { commands[$0] }
                        let sent = try await self.send(part, to: endpoint, attempt: attempt)
                        var results: [(Int, RedisValue)] = []
                        results.reserveCapacity(indices.count)
                        for (index, reply) in zip(indices, sent) {
                            results.append((index, try await self.followRedirects(reply, of: commands[index])))
                        }
                        return results
                    }
                }
                for try await results in group {
                    for (index, reply) in results { replies[index] = reply }
                }
            }
            start = end
        }
        return replies
    }

    /// Where a command goes when it goes to one node; `.special` for one sent to every master or split.
    private func route(_ command: [RedisArgument]) -> Route {
        switch RedisCommandKeys.of(command) {
        case .keyless:
            return .node(anyMaster())
        case .keys(let positions):
            return .node(owner(of: RedisHashSlot.slot(of: command[positions[0]].bytes)))
        case .splittable:
            let slots = Set(command.dropFirst().map { RedisHashSlot.slot(of: $0.bytes) })
            return slots.count == 1 ? .node(owner(of: slots.first!)) : .special
        case .everyMaster:
            return .special
        }
    }

    /// One command, wherever it must go.
    private func run(_ command: [RedisArgument], attempt: Int) async throws -> RedisValue {
        switch RedisCommandKeys.of(command) {
        case .everyMaster:
            return try await everyMaster(command, attempt: attempt)
        case .splittable(let merge):
            let keys = command.dropFirst()
            var bySlot: [Int: [Int]] = [:]
            var order: [Int] = []
            for (position, key) in zip(keys.indices, keys) {
                let slot = RedisHashSlot.slot(of: key.bytes)
                if bySlot[slot] == nil { order.append(slot) }
                bySlot[slot, default: []].append(position)
            }
            if order.count > 1 {
                return try await split(command, bySlot: bySlot, order: order, merge: merge)
            }
        case .keyless, .keys:
            break
        }
        guard case .node(let endpoint) = route(command) else {
            throw RedisClientError.protocolError("no route for \(String(decoding: command[0].bytes, as: UTF8.self))")
        }
        let reply = try await send([command], to: endpoint, attempt: attempt)[0]
        return try await followRedirects(reply, of: command)
    }

    /// A multi-key command over several slots: one command per slot, concurrently, replies merged.
    private func split(_ command: [RedisArgument], bySlot: [Int: [Int]], order: [Int],
        merge: RedisCommandKeys.Merge) async throws -> RedisValue
    {
        let parts = order.map { slot in [command[0]] + bySlot[slot]!.map { command[$0] } }
        let replies = try await pipeline(parts, attempt: 0)
        if let failed = replies.first(where: { if case .error = $0 { true } else { false } }) { return failed }
        switch merge {
        case .sum:
            return .integer(replies.reduce(0) { $0 + ($1.int ?? 0) })
        case .concatenate:
            var values = [RedisValue](repeating: .null, count: command.count - 1)
            for (slot, reply) in zip(order, replies) {
                for (position, value) in zip(bySlot[slot]!, reply.array ?? []) { values[position - 1] = value }
            }
            return .array(values)
        }
    }

    /// A command every master must run: the first error reply, else the first master's reply.
    private func everyMaster(_ command: [RedisArgument], attempt: Int) async throws -> RedisValue {
        let masters = topology.withLockedValue { $0.masters }
        let replies = try await withThrowingTaskGroup(of: (Int, RedisValue).self) { group in
            for (index, endpoint) in masters.enumerated() {
                group.addTask { (index, try await self.send([command], to: endpoint, attempt: attempt)[0]) }
            }
            var replies = [RedisValue](repeating: .null, count: masters.count)
            for try await (index, reply) in group { replies[index] = reply }
            return replies
        }
        return replies.first(where: { if case .error = $0 { true } else { false } }) ?? replies.first ?? .null
    }

    /// Sends commands to one node; when the node is unreachable (nothing was sent) and a fresh slot map
    /// routes them elsewhere, sends them there instead.
    private func send(_ commands: [[RedisArgument]], to endpoint: RedisEndpoint, attempt: Int) async throws
        -> [RedisValue]
    {
        do {
            return try await client(for: endpoint).pipeline(commands)
        } catch let error as RedisClientError {
            if case .server = error { throw error }
            suspects.withLockedValue { _ = $0.insert(endpoint) }
            guard case .unavailable = error, attempt < 2 else {
                scheduleRefresh()
                throw error
            }
            await refresh()
            // Sent again only when the map routes every one of them elsewhere now (one for every master
            // stays unsendable while a master is down).
            let stillThere = commands.contains { command in
                if case .node(let now) = route(command) { return now == endpoint }
                return true
            }
            if stillThere { throw error }
            return try await pipeline(commands, attempt: attempt + 1)
        }
    }

    private enum Redirect {
        case moved(slot: Int, to: RedisEndpoint)
        case ask(to: RedisEndpoint)
        case again(refresh: Bool)
    }

    /// `MOVED 3999 127.0.0.1:6381`, `ASK 3999 127.0.0.1:6381`, `TRYAGAIN ...`, `CLUSTERDOWN ...`.
    private static func redirect(_ message: String) -> Redirect? {
        if message.hasPrefix("TRYAGAIN") { return .again(refresh: false) }
        if message.hasPrefix("CLUSTERDOWN") { return .again(refresh: true) }
        guard message.hasPrefix("MOVED ") || message.hasPrefix("ASK ") else { return nil }
        let parts = message.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), let colon = parts[2].lastIndex(of: ":"),
            let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        let endpoint = RedisEndpoint(host: String(parts[2][..<colon]), port: port)
        return parts[0] == "MOVED" ? .moved(slot: slot, to: endpoint) : .ask(to: endpoint)
    }

    /// Follows `MOVED`, `ASK`, `TRYAGAIN` and `CLUSTERDOWN` replies, at most `maximumRedirects` times.
    private func followRedirects(_ first: RedisValue, of command: [RedisArgument]) async throws -> RedisValue {
        var reply = first
        for attempt in 0..<configuration.maximumRedirects {
            guard case .error(let message) = reply, let redirect = Self.redirect(message) else { return reply }
            logger.debug("redis cluster redirect", metadata: ["redis.reply": "\(message)"])
            switch redirect {
            case .moved(let slot, let target):
                moved(slot: slot, to: target)
                scheduleRefresh()
                reply = try await send([command], to: target, attempt: 1)[0]
            case .ask(let target):
                reply = try await send([["ASKING"], command], to: target, attempt: 1)[1]
            case .again(let refresh):
                try await Task.sleep(for: .milliseconds(25 << min(attempt, 4)))
                if refresh { await self.refresh() }
                guard case .node(let endpoint) = route(command) else { return reply }
                reply = try await send([command], to: endpoint, attempt: 1)[0]
            }
        }
        return reply
    }

    // MARK: Nodes

    /// The client of one node, made on first use.
    func client(for endpoint: RedisEndpoint) -> RedisClient {
        if let client = topology.withLockedValue({ $0.clients[endpoint] }) { return client }
        let made = RedisClient(configuration: configuration.node(endpoint), eventLoopGroup: group, logger: logger)
        return topology.withLockedValue { state in
            if let client = state.clients[endpoint] { return client }
            state.clients[endpoint] = made
            return made
        }
    }

    private func owner(of slot: Int) -> RedisEndpoint {
        topology.withLockedValue { state in
            let index = Int(state.owners[slot])
            if index >= 0 { return state.masters[index] }
            // A slot nobody serves: any master answers with the error that says so (CLUSTERDOWN).
            return state.masters.first ?? configuration.clusterSeeds[0]
        }
    }

    private func anyMaster() -> RedisEndpoint {
        topology.withLockedValue { state in
            state.masters.isEmpty ? configuration.clusterSeeds[0] : state.masters[Int.random(in: 0..<state.masters.count)]
        }
    }

    private func moved(slot: Int, to endpoint: RedisEndpoint) {
        guard (0..<RedisHashSlot.count).contains(slot) else { return }
        topology.withLockedValue { state in
            if let index = state.masters.firstIndex(of: endpoint) {
                state.owners[slot] = Int32(index)
            } else {
                state.masters.append(endpoint)
                state.owners[slot] = Int32(state.masters.count - 1)
            }
        }
    }

    /// The client of the master owning `key`'s slot (loading the slot map first if needed).
    func client(forKey key: String) async throws -> RedisClient {
        try await loadIfNeeded()
        return client(for: owner(of: RedisHashSlot.slot(of: key)))
    }

    /// The shards as the last slot map had them.
    var shards: [Shard] { topology.withLockedValue { $0.shards } }

    /// The client of every master (loading the slot map first if needed).
    func masters() async throws -> [RedisClient] {
        try await loadIfNeeded()
        let endpoints = topology.withLockedValue { $0.masters }
        return endpoints.map(client(for:))
    }

    /// Pings every master concurrently: each with the slots it serves and the error, if it failed.
    func nodeStatus() async -> [RedisNodeStatus] {
        do {
            try await loadIfNeeded()
        } catch {
            return configuration.clusterSeeds.map { seed in
                RedisNodeStatus(node: seed, slots: [], error: error as? RedisClientError ?? .unavailable("\(error)"))
            }
        }
        let shards = self.shards
        return await withTaskGroup(of: (Int, RedisClientError?).self) { group in
            for (index, shard) in shards.enumerated() {
                group.addTask {
                    do {
                        try await self.client(for: shard.master).ping()
                        self.suspects.withLockedValue { _ = $0.remove(shard.master) }
                        return (index, nil)
                    } catch {
                        self.suspects.withLockedValue { _ = $0.insert(shard.master) }
                        self.scheduleRefresh()
                        return (index, error as? RedisClientError ?? .unavailable("\(error)"))
                    }
                }
            }
            var errors = [RedisClientError?](repeating: nil, count: shards.count)
            for await (index, error) in group { errors[index] = error }
            return zip(shards, errors).map { shard, error in
                RedisNodeStatus(node: shard.master, slots: shard.slots, error: error)
            }
        }
    }

    /// Closes every node's connections.
    func close() async {
        isClosed.withLockedValue { $0 = true }
        let clients = topology.withLockedValue { Array($0.clients.values) }
        for client in clients { await client.close() }
    }

    // MARK: The slot map

    private func loadIfNeeded() async throws {
        if isClosed.withLockedValue({ $0 }) { throw RedisClientError.connectionClosed("the client is closed") }
        let (loaded, last) = topology.withLockedValue { ($0.loaded, $0.lastRefresh) }
        if loaded { return }
        // Without a map, a dead cluster costs callers microseconds between attempts, as a dead server does.
        if last + configuration.reconnectBackoff > .now(), last.uptimeNanoseconds > 0 {
            throw RedisClientError.unavailable("no node of the Redis Cluster answered moments ago")
        }
        await refresh(force: true)
        guard topology.withLockedValue({ $0.loaded }) else {
            throw RedisClientError.unavailable(
                "no seed node of the Redis Cluster answered CLUSTER SLOTS (\(configuration.clusterSeeds.map(\.description).joined(separator: ",")))")
        }
    }

    /// Refreshes the map in the background (at most one refresh at a time, none within 100 ms of the last).
    private func scheduleRefresh() {
        let due = refreshing.withLockedValue { $0 == nil } && topology.withLockedValue { $0.lastRefresh } + .milliseconds(100) < .now()
        if due { Task { await self.refresh() } }
    }

    /// Reads the slot map again, unless a refresh ran in the last 100 ms; concurrent callers share one.
    func refresh(force: Bool = false) async {
        let task: Task<Void, Never>? = refreshing.withLockedValue { current in
            if let current { return current }
            let last = topology.withLockedValue { $0.lastRefresh }
            if !force, last + .milliseconds(100) > .now() { return nil }
            let task = Task {
                await self.load()
                self.refreshing.withLockedValue { $0 = nil }
            }
            current = task
            return task
        }
        await task?.value
    }

    /// Asks the known masters, then the seeds, for `CLUSTER SLOTS` until one answers.
    private func load() async {
        let suspects = self.suspects.withLockedValue { $0 }
        let candidates = topology.withLockedValue { state in
            var seen = Set<RedisEndpoint>()
            let known = (state.masters + configuration.clusterSeeds).filter { seen.insert($0).inserted }
            return known.filter { !suspects.contains($0) } + known.filter { suspects.contains($0) }
        }
        var failures: [String] = []
        for endpoint in candidates {
            if isClosed.withLockedValue({ $0 }) { return }
            do {
                let reply = try await client(for: endpoint).send(["CLUSTER", "SLOTS"])
                let shards = try Self.shards(fromClusterSlots: reply, askedAt: endpoint)
                guard !shards.isEmpty else { throw RedisClientError.protocolError("CLUSTER SLOTS listed no slots") }
                install(shards)
                self.suspects.withLockedValue { _ = $0.remove(endpoint) }
                return
            } catch {
                failures.append("\(endpoint): \(error)")
            }
        }
        topology.withLockedValue { $0.lastRefresh = .now() }
        logger.warning("redis cluster: no node answered CLUSTER SLOTS", metadata: ["errors": "\(failures)"])
    }

    private func install(_ shards: [Shard]) {
        var owners = [Int32](repeating: -1, count: RedisHashSlot.count)
        let masters = shards.map(\.master)
        for (index, shard) in shards.enumerated() {
            for range in shard.slots { for slot in range { owners[slot] = Int32(index) } }
        }
        let changed = topology.withLockedValue { state in
            let changed = state.shards != shards
            state.owners = owners
            state.masters = masters
            state.shards = shards
            state.loaded = true
            state.lastRefresh = .now()
            return changed
        }
        if changed {
            logger.debug("redis cluster slot map", metadata: [
                "redis.masters": "\(masters.map(\.description).joined(separator: ","))",
            ])
        }
    }

    /// Shards from a `CLUSTER SLOTS` reply: `[[start, end, [host, port, id, ...], replica...], ...]`. An
    /// empty host means the node that was asked.
    static func shards(fromClusterSlots reply: RedisValue, askedAt asked: RedisEndpoint) throws -> [Shard] {
        guard let ranges = reply.array else { throw RedisClientError.protocolError("CLUSTER SLOTS: \(reply)") }
        var shards: [Shard] = []
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                0 <= start, start <= end, end < RedisHashSlot.count
            else { throw RedisClientError.protocolError("CLUSTER SLOTS entry: \(range)") }
            let nodes = try parts[2...].map { node -> RedisEndpoint in
                guard let fields = node.array, fields.count >= 2, let host = fields[0].string, let port = fields[1].int
                else { throw RedisClientError.protocolError("CLUSTER SLOTS node: \(node)") }
                return RedisEndpoint(host: host.isEmpty || host == "?" ? asked.host : host, port: Int(port))
            }
            let slots = Int(start)...Int(end)
            if let index = shards.firstIndex(where: { $0.master == nodes[0] }) {
                shards[index].slots.append(slots)
            } else {
                shards.append(Shard(master: nodes[0], replicas: Array(nodes.dropFirst()), slots: [slots]))
            }
        }
        for index in shards.indices { shards[index].slots.sort { $0.lowerBound < $1.lowerBound } }
        return shards.sorted { ($0.slots.first?.lowerBound ?? 0) < ($1.slots.first?.lowerBound ?? 0) }
    }
}

/// One Redis server as a readiness check found it: a cluster master with the slots it serves (none for
/// a single server), and the error if it did not answer.
public struct RedisNodeStatus: Sendable, Equatable {
    /// The node's address (for logs and metrics labels; never shown on a public endpoint).
    public var node: RedisEndpoint
    /// The hash slots it serves as a cluster master; empty for a single server.
    public var slots: [ClosedRange<Int>]
    /// Why it did not answer `PING`; nil when it did.
    public var error: RedisClientError?

    public init(node: RedisEndpoint, slots: [ClosedRange<Int>], error: RedisClientError?) {
        self.node = node
        self.slots = slots
        self.error = error
    }

    /// The slots as `0-5460,10923-16383` (no host or port: safe on a public endpoint).
    public var slotDescription: String {
        slots.map { $0.lowerBound == $0.upperBound ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)" }
            .joined(separator: ",")
    }
}

/// Some Redis nodes did not answer: `failing` says which (by the slots they serve, for a cluster).
public struct RedisNodesUnavailable: Error, Sendable, CustomStringConvertible {
    /// The nodes that did not answer.
    public var failing: [RedisNodeStatus]
    /// How many nodes were asked.
    public var total: Int

    public init(failing: [RedisNodeStatus], total: Int) {
        self.failing = failing
        self.total = total
    }

    /// Which nodes failed, without addresses: `2 of 3 nodes (slots 0-5460; slots 5461-10922)`.
    public var publicDescription: String {
        let which = failing.map { $0.slots.isEmpty ? "server" : "slots \($0.slotDescription)" }
        return "\(failing.count) of \(total) nodes (\(which.joined(separator: "; ")))"
    }

    public var description: String {
        "redis nodes unavailable: " + failing.map { "\($0.node) [\($0.slotDescription)]: \($0.error.map { "\($0)" } ?? "?")" }
            .joined(separator: "; ")
    }
}
