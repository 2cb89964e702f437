import ServiceLifecycle
import Synchronization

/// A node's leases on the cluster's rate limits: each active limit holds a few units taken from
/// Redis (`QuotaWindows`) in advance, so admitting a request is a lock and a subtraction, no await.
/// One background loop (`run`) tops up low leases, refreshes those about to expire and gives back
/// what expired unused, all in one pipelined round trip per pass.
///
/// - Never over-admits: units are counted in Redis when leased; a lease is used at most one bucket
///   width (`window / 60`) after it was asked for, and Redis counts two buckets more than the window.
/// - Lease size follows demand (about 500 ms of it), capped at 25% of the node's share of the limit
///   (`limit / live nodes`) while the window is under half used and 10% under 80%. Above 80%, or when
///   the cap is under two requests' worth, there is no lease: each request takes exactly its units in
///   Redis (one round trip), so a small limit stays exact at its boundary.
/// - Under-admission: at most the units leased and not yet used, `live nodes × cap` (10% of the limit
///   near saturation), until they are used or expire (one bucket width), plus up to two buckets of
///   the oldest units, which the window counts for one bucket width longer than the window.
/// - A node that dies strands its lease until its bucket leaves the window: at most one window.
public final class QuotaLeases: Service, Sendable {
    /// Units taken for one request from one limit, to settle (tokens) or give back (refused elsewhere).
    public struct Ticket: Sendable {
        public let limit: RateLimit
        let bucket: Int64
        public let units: Int
    }

    /// Why a request was refused: the refusing limit's outcome, and every limit's for the headers.
    public struct Refusal: Error, Sendable {
        public let refused: RateLimitOutcome
        public let outcomes: [RateLimitOutcome]

        public init(refused: RateLimitOutcome, outcomes: [RateLimitOutcome]) {
            self.refused = refused
            self.outcomes = outcomes
        }
    }

    let windows: QuotaWindows
    let liveNodes: @Sendable () -> Int
    private let leases = Mutex<[LimitID: Lease]>([:])
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation
    /// How often the loop looks at leases without being woken.
    let tick: Duration

    public init(windows: QuotaWindows, tick: Duration = .milliseconds(20), liveNodes: @escaping @Sendable () -> Int = { 1 }) {
        self.windows = windows
        self.liveNodes = liveNodes
        self.tick = tick
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Leases held now (for tests and metrics).
    public var count: Int { leases.withLock { $0.count } }

    /// Takes every limit's cost from the local leases, or nothing: nil when any lease is short
    /// (then `acquire` asks Redis).
    public func take(_ limits: [RateLimit], now: ContinuousClock.Instant = .now) -> [Ticket]? {
        var tickets: [Ticket] = []
        tickets.reserveCapacity(limits.count)
        var refill = false
        for limit in limits {
            let lease = lease(for: limit)
            guard let (ticket, low) = lease.take(limit, now: now) else {
                for ticket in tickets { give(back: ticket, now: now) }
                if refill { wake.yield() }
                return nil
            }
            refill = refill || low
            tickets.append(ticket)
        }
        if refill { wake.yield() }
        return tickets
    }

    /// Takes every limit's cost exactly in Redis, in one round trip (topping up the leases on the way
    /// when they may lease); throws `Refusal` when a limit has no room, having taken nothing, and
    /// Redis's errors when it cannot answer.
    public func acquire(_ limits: [RateLimit]) async throws -> [Ticket] {
        let sent = ContinuousClock.now
        let nodes = max(1, liveNodes())
        let plans = limits.map { limit in lease(for: limit).plan(for: limit, nodes: nodes, now: sent) }
        let grants: [QuotaGrant]
        do {
            grants = try await windows.exchange(plans.map(\.request))
        } catch {
            for (limit, plan) in zip(limits, plans) { lease(for: limit).failed(plan) }
            throw error
        }
        var tickets: [Ticket] = []
        var outcomes: [RateLimitOutcome] = []
        for ((limit, plan), grant) in zip(zip(limits, plans), grants) {
            let lease = lease(for: limit)
            let ticket = lease.received(grant, for: plan, limit: limit, sent: sent)
            if let ticket { tickets.append(ticket) }
            outcomes.append(RateLimitOutcome(limit: limit, allowed: ticket != nil,
                used: ticket != nil ? grant.used - (grant.granted - limit.cost) : grant.used,
                retryAfterMilliseconds: grant.retryAfterMilliseconds))
        }
        if let refused = outcomes.first(where: { !$0.allowed }) {
            let now = ContinuousClock.now
            for ticket in tickets { give(back: ticket, now: now) }
            wake.yield()
            throw Refusal(refused: refused, outcomes: outcomes)
        }
        return tickets
    }

    /// Gives a ticket's units back (the request was refused by another limit). What cannot go back to
    /// the lease goes to Redis with the refiller's next pass (within `tick`), not at once: waking the
    /// refiller per request would cost every request a thread wake-up.
    public func give(back ticket: Ticket, now: ContinuousClock.Instant = .now) {
        lease(for: ticket.limit).adjust(ticket, by: -ticket.units, now: now)
    }

    /// Settles a token ticket with what the request really used: the difference goes back to the
    /// lease, or to Redis with the refiller's next pass (within `tick`), or is added to the window.
    public func settle(_ ticket: Ticket, actual: Int, now: ContinuousClock.Instant = .now) {
        let difference = actual - ticket.units
        guard difference != 0 else { return }
        lease(for: ticket.limit).adjust(ticket, by: difference, now: now)
    }

    private func lease(for limit: RateLimit) -> Lease {
        leases.withLock { leases in
            if let lease = leases[limit.id] { return lease }
            let lease = Lease()
            leases[limit.id] = lease
            return lease
        }
    }

    /// Runs the refill loop until graceful shutdown, then gives back what the leases hold.
    public func run() async throws {
        let (wakeups, tick, wake) = (self.wakeups, self.tick, self.wake)
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in wakeups { await self.pass(now: .now) }
                }
                group.addTask {
                    while !Task.isCancelled {
                        try? await Task.sleep(for: tick)
                        wake.yield()
                    }
                }
            }
        }
        await pass(now: .now, releasing: true)
    }

    /// One pass of the loop: one round trip for every lease that needs Redis.
    public func pass(now: ContinuousClock.Instant, releasing: Bool = false) async {
        let nodes = max(1, liveNodes())
        let all = leases.withLock { Array($0) }
        var work: [(Lease, Lease.Plan)] = []
        var idle: [LimitID] = []
        for (id, lease) in all {
            switch lease.upkeep(nodes: nodes, now: now, releasing: releasing) {
            case .nothing: break
            case .exchange(let plan): work.append((lease, plan))
            case .forget: idle.append(id)
            }
        }
        if !idle.isEmpty {
            leases.withLock { leases in
                for id in idle where leases[id]?.isIdle(now: now) == true { leases[id] = nil }
            }
        }
        guard !work.isEmpty else { return }
        do {
            let grants = try await windows.exchange(work.map(\.1.request))
            for ((lease, plan), grant) in zip(work, grants) {
                _ = lease.received(grant, for: plan, limit: plan.request.limit, sent: now)
            }
        } catch {
            for (lease, plan) in work { lease.failed(plan) }
        }
    }
}

/// One limit's lease on this node.
final class Lease: Sendable {
    /// What one exchange with Redis asks for this limit, and what it gives back.
    struct Plan: Sendable {
        var request: QuotaRequest
        /// Units of the request itself within `want` (0 for a refill).
        var forRequest: Int
        /// Whether it asks for a lease beyond the request's units (then it is the lease's one
        /// exchange in flight that may: `State.leasing`).
        var leases: Bool
    }

    enum Upkeep {
        case nothing
        case exchange(Plan)
        case forget
    }

    private struct State {
        var limit: RateLimit?
        var units = 0
        var bucket: Int64 = 0
        var expires = ContinuousClock.Instant.now
        /// Units to give back to (negative) or add to (positive) buckets, sent with the next exchange.
        var adjustments: [Int64: Int] = [:]
        /// An exchange asking for a lease is in flight (the loop's refill, or a request's exchange):
        /// at most one at a time, so requests arriving together on a dry lease do not each take a
        /// lease, which would strand several leases' units at once and refuse other nodes early.
        var leasing = false
        /// Units taken since the last pass, and the demand estimate (units per second).
        var taken = 0
        var rate = 0.0
        var lastPass = ContinuousClock.Instant.now
        var lastUse = ContinuousClock.Instant.now
        /// The window's use after the last exchange, 0...1.
        var utilization = 0.0
        var typicalCost = 1.0
        /// A lease only where the limit allows one (see `QuotaLeases`).
        var target = 0
        /// The window `margin` was worked out for, and a third of its bucket width: a lease this close
        /// to expiring runs low. (Kept, not divided per request: `Duration` division is 128-bit.)
        var window: Duration = .zero
        var margin: Duration = .zero
    }

    private let state = Mutex(State())

    /// Takes the limit's cost from the lease; the ticket, and whether the lease runs low.
    func take(_ limit: RateLimit, now: ContinuousClock.Instant) -> (QuotaLeases.Ticket, Bool)? {
        state.withLock { state in
            state.limit = limit
            state.lastUse = now
            state.typicalCost = state.typicalCost * 0.9 + Double(limit.cost) * 0.1
            guard state.units >= limit.cost, now < state.expires else {
                state.taken += limit.cost
                return nil
            }
            state.units -= limit.cost
            state.taken += limit.cost
            if state.window != limit.window {
                state.window = limit.window
                state.margin = QuotaWindows.bucketWidth(limit.window) / 3
            }
            let low = !state.leasing && (state.units * 2 < state.target || state.expires - now < state.margin)
            return (QuotaLeases.Ticket(limit: limit, bucket: state.bucket, units: limit.cost), low)
        }
    }

    /// The exchange for a request that the lease could not serve: its own units, plus a new lease
    /// where allowed and no other exchange is asking for one; the rest of the current lease goes back.
    func plan(for limit: RateLimit, nodes: Int, now: ContinuousClock.Instant) -> Plan {
        state.withLock { state in
            state.limit = limit
            Self.returnRest(&state)
            state.target = Self.target(limit: limit, nodes: nodes, state: state)
            let leases = !state.leasing && state.target > 0
            if leases { state.leasing = true }
            let adjustments = state.adjustments
            state.adjustments = [:]
            return Plan(request: QuotaRequest(limit: limit, want: limit.cost + (leases ? state.target : 0),
                minimum: limit.cost, adjustments: adjustments), forRequest: limit.cost, leases: leases)
        }
    }

    /// What the loop should do with this lease now.
    func upkeep(nodes: Int, now: ContinuousClock.Instant, releasing: Bool) -> Upkeep {
        state.withLock { state in
            guard let limit = state.limit, !state.leasing else { return .nothing }
            let elapsed = now - state.lastPass
            if elapsed > .milliseconds(5) {
                let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                state.rate = state.rate * 0.5 + Double(state.taken) / seconds * 0.5
                state.taken = 0
                state.lastPass = now
            }
            let width = QuotaWindows.bucketWidth(limit.window)
            let active = now - state.lastUse < width * 2 && !releasing
            state.target = active ? Self.target(limit: limit, nodes: nodes, state: state) : 0
            let expiring = state.expires - now < width / 3
            let short = state.units * 2 < state.target
            // Near the limit (target 0: exact checks) a held rest goes back at once rather than at expiry:
            // units stranded here would refuse other nodes' requests while the window is not full.
            if state.units > 0 && (!active || state.target == 0) || now >= state.expires {
                Self.returnRest(&state)
            }
            let refill = active && state.target > 0 && (short || expiring)
            guard refill || !state.adjustments.isEmpty else {
                return state.units == 0 && now - state.lastUse > limit.window ? .forget : .nothing
            }
            // A refill keeps the current lease usable until the new one arrives (`received`).
            state.leasing = refill
            let adjustments = state.adjustments
            state.adjustments = [:]
            return .exchange(Plan(request: QuotaRequest(limit: limit, want: refill ? state.target : 0, minimum: 0,
                adjustments: adjustments), forRequest: 0, leases: refill))
        }
    }

    /// Takes in Redis's answer to `plan`, sent at `sent`: the request's ticket if its units were granted.
    func received(_ grant: QuotaGrant, for plan: Plan, limit: RateLimit, sent: ContinuousClock.Instant)
        -> QuotaLeases.Ticket?
    {
        state.withLock { state in
            if plan.leases { state.leasing = false }
            state.utilization = limit.limit > 0 ? Double(grant.used) / Double(limit.limit) : 1
            let granted = grant.granted
            guard plan.forRequest == 0 || granted >= plan.forRequest else { return nil }
            let leased = granted - plan.forRequest
            if leased > 0 {
                // The old lease's rest goes back; the new one is good for one bucket from when it was asked for.
                Self.returnRest(&state)
                state.units = leased
                state.bucket = grant.bucket
                state.expires = sent + QuotaWindows.bucketWidth(limit.window)
            }
            guard plan.forRequest > 0 else { return nil }
            return QuotaLeases.Ticket(limit: limit, bucket: grant.bucket, units: plan.forRequest)
        }
    }

    /// The exchange failed (Redis unreachable): its adjustments wait for the next one.
    func failed(_ plan: Plan) {
        state.withLock { state in
            if plan.leases { state.leasing = false }
            for (bucket, units) in plan.request.adjustments { state.adjustments[bucket, default: 0] += units }
        }
    }

    /// Changes a ticket's units by `units`: given back to the lease when it is the same, still valid
    /// lease, otherwise sent to Redis with the next exchange.
    func adjust(_ ticket: QuotaLeases.Ticket, by units: Int, now: ContinuousClock.Instant) {
        state.withLock { state in
            if units < 0, ticket.bucket == state.bucket, now < state.expires {
                state.units -= units
            } else {
                state.adjustments[ticket.bucket, default: 0] += units
            }
        }
    }

    func isIdle(now: ContinuousClock.Instant) -> Bool {
        state.withLock { state in
            state.units == 0 && state.adjustments.isEmpty && !state.leasing
                && now - state.lastUse > (state.limit?.window ?? .seconds(60))
        }
    }

    /// Moves what the lease holds into the adjustments to give back.
    private static func returnRest(_ state: inout State) {
        if state.units > 0 { state.adjustments[state.bucket, default: 0] -= state.units }
        state.units = 0
    }

    /// How much of its recent demand a lease holds: fewer refills against a larger stranded share.
    static let horizon = 0.5

    /// The lease to hold: about `horizon` seconds of demand, capped by the node's share of the limit and how
    /// full the window is; 0 where the limit is better checked exactly.
    private static func target(limit: RateLimit, nodes: Int, state: State) -> Int {
        let share = Double(limit.limit) / Double(nodes)
        let fraction = state.utilization < 0.5 ? 0.25 : state.utilization < 0.8 ? 0.10 : 0
        let cap = Int(share * fraction)
        let cost = max(1.0, state.typicalCost)
        guard Double(cap) >= 2 * cost else { return 0 }
        let demand = Int((state.rate * Self.horizon + cost * 2).rounded(.up))
        return min(cap, demand)
    }
}
