import Foundation
import ScutumCore
import ScutumRedis

/// Rebuilding budget counters Redis lost, from the spend log, during a refresh (never on the
/// request path): see `LiveSpend` and `SpendScripts`.
extension LiveSpend {
    enum SeedWork {
        /// Create the missing counter (ttl: seconds it lives), then read the log for it.
        case establish(key: String, ttl: Int?)
        /// Read the log again for a counter in its seeding window.
        case topUp(key: String, base: Int64, delay: Duration)
    }

    /// The counters to create or seed now, at most `seedsPerRefresh`: missing ones first.
    func dueSeeds(now: ContinuousClock.Instant, date: Date) -> [SeedWork] {
        state.withLock { state in
            var work: [SeedWork] = []
            for (key, counter) in state.counters where counter.missing && counter.seed == nil {
                guard work.count < seedsPerRefresh else { break }
                // Only a counter this node asked for has a budget to create it with; a charged one is
                // created by its flush.
                guard let budget = counter.budget, ledger.counterKey(budget, at: date) == key else { continue }
                work.append(.establish(key: key, ttl: ledger.counters(for: [budget], at: date).first?.ttl))
            }
            for (key, counter) in state.counters {
                guard work.count < seedsPerRefresh else { break }
                if let seed = counter.seed, seed.due <= now {
                    work.append(.topUp(key: key, base: seed.base, delay: seed.delay))
                }
            }
            return work
        }
    }

    /// Creates missing counters and seeds rebuilt ones from `history`; failures wait for a later refresh.
    func seed(from history: any BudgetSpendHistory) async {
        let now = ContinuousClock.now
        for work in dueSeeds(now: now, date: Date()) {
            do {
                let key: String
                let base: Int64
                var delay = seedDelay
                switch work {
                case .establish(let counterKey, let ttl):
                    key = counterKey
                    let counter = try await ledger.establish(key, ttl: ttl)
                    guard let seedBase = counter.seedBase else {
                        record(counter, key: key, delay: delay)
                        continue
                    }
                    base = seedBase
                case .topUp(let counterKey, let seedBase, let last):
                    key = counterKey
                    base = seedBase
                    delay = last
                }
                guard let scope = ledger.counterScope(key) else {
                    record(SpendLedger.CounterState(total: nil, seedBase: nil), key: key, delay: delay)
                    continue
                }
                do {
                    let logged = try await history.spend(of: scope.subject, from: scope.periodStart,
                        before: SpendLedger.date(milliseconds: base))
                    let counter = try await ledger.topUp(key, base: base, logged: logged)
                    record(counter, key: key, delay: delay)
                } catch {
                    // Created but not seeded: read the log again later.
                    record(SpendLedger.CounterState(total: nil, seedBase: base), key: key, delay: delay)
                    throw error
                }
            } catch {
                warnQuietly("a budget counter was not rebuilt from the spend log yet", error: error)
            }
        }
    }

    /// Takes what seeding found: the counter's total (kept from going down while it is rebuilt),
    /// and when to read the log for it again (`delay` from now, doubled for the time after).
    private func record(_ counter: SpendLedger.CounterState, key: String, delay: Duration) {
        state.withLock { state in
            guard var tracked = state.counters[key] else { return }
            if let total = counter.total {
                tracked.remote = max(tracked.remote ?? 0, total)
                tracked.missing = false
            }
            tracked.seed = counter.seedBase.map { base in
                Seeding(base: base, due: .now + delay, delay: min(delay * 2, .seconds(30)))
            }
            state.counters[key] = tracked
        }
    }
}
