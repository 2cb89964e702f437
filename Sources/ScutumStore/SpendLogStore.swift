import Foundation
import Logging
import PostgresNIO
import ScutumCore

/// The `spend_logs` table: one row per proxied request, written in batches.
public struct SpendLogStore: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Writes records in one statement, however many (each column travels as one array parameter
    /// and `unnest` turns the arrays back into rows); a record whose request id is already stored is
    /// skipped, so a batch replayed after a failure is written exactly once.
    ///
    /// Text from clients (the model asked for, key aliases...) is made storable first: NUL removed,
    /// at most `textLimit` characters. A batch PostgreSQL still refuses fails as a whole.
    public func insert(_ records: [SpendRecord]) async throws {
        guard !records.isEmpty else { return }
        try await insertBatch(records.map(Self.storable))
    }

    /// Whether PostgreSQL failed for a reason that passes (a connection lost, shutting down, out of
    /// resources, read-only during a failover, a serialization conflict): what it refused may be
    /// taken on a later try.
    public static func isPassing(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState] else { return true }
        return state.hasPrefix("08") || state.hasPrefix("53") || state.hasPrefix("57") || state.hasPrefix("40")
            || state == "25006"
    }

    /// An error about the data (SQLSTATE class 22, or a check/not-null violation), not the connection:
    /// retrying the same rows cannot succeed.
    public static func isDataError(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError, let state = error.serverInfo?[.sqlState] else { return false }
        return state.hasPrefix("22") || state == "23502" || state == "23514"
    }

    /// Longest text kept from a client-supplied field.
    public static let textLimit = String.storableIdentifierLimit

    /// A record whose text PostgreSQL can store: no NUL (which `text` cannot hold), bounded length.
    public static func storable(_ record: SpendRecord) -> SpendRecord {
        var record = record
        record.requestID = record.requestID.storableIdentifier
        record.keyID = record.keyID?.storableIdentifier
        record.keyAlias = record.keyAlias?.storableIdentifier
        record.teamID = record.teamID?.storableIdentifier
        record.userID = record.userID?.storableIdentifier
        record.modelRequested = record.modelRequested.storableIdentifier
        record.modelServed = record.modelServed?.storableIdentifier
        record.provider = record.provider?.storableIdentifier
        record.endpoint = record.endpoint?.storableIdentifier
        record.deploymentID = record.deploymentID?.storableIdentifier
        return record
    }

    private func insertBatch(_ records: [SpendRecord]) async throws {
        let ids = records.map(\.requestID)
        let times = records.map(\.at)
        let keys = PostgresNullableArray(records.map(\.keyID))
        let aliases = PostgresNullableArray(records.map(\.keyAlias))
        let teams = PostgresNullableArray(records.map(\.teamID))
        let users = PostgresNullableArray(records.map(\.userID))
        let requested = records.map(\.modelRequested)
        let served = PostgresNullableArray(records.map(\.modelServed))
        let providers = PostgresNullableArray(records.map(\.provider))
        let prompt = records.map(\.promptTokens)
        let completion = records.map(\.completionTokens)
        let cached = records.map(\.cachedTokens)
        let costs = records.map(\.cost)
        let latencies = records.map(\.latencyMilliseconds)
        let statuses = records.map(\.status)
        let streams = records.map(\.stream)
        let endpoints = PostgresNullableArray(records.map(\.endpoint))
        let cacheWrites = records.map(\.cacheWriteTokens)
        let reasoning = records.map(\.reasoningTokens)
        let inputCosts = PostgresNullableArray(records.map(\.costParts?.input))
        let outputCosts = PostgresNullableArray(records.map(\.costParts?.output))
        let readCosts = PostgresNullableArray(records.map(\.costParts?.cacheRead))
        let writeCosts = PostgresNullableArray(records.map(\.costParts?.cacheWrite))
        let deployments = PostgresNullableArray(records.map(\.deploymentID))
        let hits = PostgresNullableArray(records.map { $0.cacheHit ? true : nil })
        let saved = PostgresNullableArray(records.map { $0.cacheHit ? $0.savedCost : nil })
        // A request id repeated within the batch is skipped like a stored one (DO NOTHING, unlike DO
        // UPDATE, accepts a row that conflicts with one the same statement inserted).
        try await client.query(
            """
            INSERT INTO spend_logs (request_id, at, key_id, key_alias, team_id, user_id, model_requested,
                model_served, provider, prompt_tokens, completion_tokens, cached_tokens, cost, latency_ms, status,
                stream, endpoint, cache_write_tokens, reasoning_tokens, input_cost, output_cost, cache_read_cost,
                cache_write_cost, deployment_id, cache_hit, saved_cost)
            SELECT * FROM unnest(\(ids)::text[], \(times)::timestamptz[], \(keys)::text[],
                \(aliases)::text[], \(teams)::text[], \(users)::text[], \(requested)::text[], \(served)::text[],
                \(providers)::text[], \(prompt)::int8[], \(completion)::int8[], \(cached)::int8[], \(costs)::float8[],
                \(latencies)::int8[], \(statuses)::int8[], \(streams)::bool[], \(endpoints)::text[],
                \(cacheWrites)::int8[], \(reasoning)::int8[], \(inputCosts)::float8[], \(outputCosts)::float8[],
                \(readCosts)::float8[], \(writeCosts)::float8[], \(deployments)::text[], \(hits)::bool[], \(saved)::float8[])
                AS batch (request_id, at, key_id, key_alias, team_id, user_id, model_requested, model_served,
                    provider, prompt_tokens, completion_tokens, cached_tokens, cost, latency_ms, status, stream,
                    endpoint, cache_write_tokens, reasoning_tokens, input_cost, output_cost, cache_read_cost,
                    cache_write_cost, deployment_id, cache_hit, saved_cost)
            ON CONFLICT (request_id) DO NOTHING
            """, logger: logger)
    }

    /// The rows a team-scoped caller may see: their administered teams' rows and their own.
    public struct Scope: Sendable, Equatable {
        public var teamIDs: [String]
        public var userID: String?

        public init(teamIDs: [String], userID: String?) {
            self.teamIDs = teamIDs
            self.userID = userID
        }
    }

    /// Which rows a query covers.
    public struct Filter: Sendable {
        public var keyID: String?
        public var teamID: String?
        public var userID: String?
        public var model: String?
        /// A `FrontDoor` name: only rows that came in by it.
        public var endpoint: String?
        public var from: Date?
        public var to: Date?
        public var limit: Int
        /// Nil: every row.
        public var scope: Scope?

        public init(keyID: String? = nil, teamID: String? = nil, userID: String? = nil, model: String? = nil,
            endpoint: String? = nil, from: Date? = nil, to: Date? = nil, limit: Int = 100, scope: Scope? = nil)
        {
            self.scope = scope
            self.keyID = keyID
            self.teamID = teamID
            self.userID = userID
            self.model = model
            self.endpoint = endpoint
            self.from = from
            self.to = to
            self.limit = limit
        }
    }

    /// Matching rows, newest first.
    public func logs(_ filter: Filter) async throws -> [SpendRecord] {
        let rows = try await client.query(
            """
            SELECT request_id, at, key_id, key_alias, team_id, user_id, model_requested, model_served, provider,
                prompt_tokens, completion_tokens, cached_tokens, cost::float8, latency_ms, status, stream,
                endpoint, coalesce(cache_write_tokens, 0), coalesce(reasoning_tokens, 0), input_cost::float8,
                output_cost::float8, cache_read_cost::float8, cache_write_cost::float8, deployment_id,
                coalesce(cache_hit, false), coalesce(saved_cost, 0)::float8
            FROM spend_logs
            WHERE (\(filter.keyID)::text IS NULL OR key_id = lower(\(filter.keyID)))
              AND (\(filter.teamID)::text IS NULL OR team_id = \(filter.teamID))
              AND (\(filter.userID)::text IS NULL OR user_id = \(filter.userID))
              AND (\(filter.model)::text IS NULL OR model_requested = \(filter.model) OR model_served = \(filter.model))
              AND (\(filter.endpoint)::text IS NULL OR endpoint = \(filter.endpoint))
              AND (\(filter.from)::timestamptz IS NULL OR at >= \(filter.from))
              AND (\(filter.to)::timestamptz IS NULL OR at < \(filter.to))
              AND (\(filter.scope == nil) OR team_id = ANY(\(filter.scope?.teamIDs ?? [])::text[])
                OR user_id = \(filter.scope?.userID))
            ORDER BY at DESC, request_id LIMIT \(filter.limit)
            """, logger: logger)
        var records: [SpendRecord] = []
        for try await (id, at, key, alias, team, user, requested, served, provider, prompt, completion, cached, cost,
            latency, status, stream, endpoint, cacheWrites, reasoning, input, output, read, write, deployment, hit, saved) in rows.decode(
                (String, Date, String?, String?, String?, String?, String, String?, String?, Int, Int, Int, Double, Int,
                    Int, Bool, String?, Int, Int, Double?, Double?, Double?, Double?, String?, Bool, Double).self)
        {
            var parts: SpendRecord.CostParts?
            if let input, let output, let read, let write {
                parts = SpendRecord.CostParts(input: input, output: output, cacheRead: read, cacheWrite: write)
            }
            records.append(SpendRecord(requestID: id, at: at, keyID: key, keyAlias: alias, teamID: team, userID: user,
                modelRequested: requested, modelServed: served, provider: provider, promptTokens: prompt,
                completionTokens: completion, cachedTokens: cached, cost: cost, latencyMilliseconds: latency,
                status: status, stream: stream, endpoint: endpoint, cacheWriteTokens: cacheWrites,
                reasoningTokens: reasoning, costParts: parts, deploymentID: deployment, cacheHit: hit, savedCost: saved))
        }
        return records
    }

    /// Totals grouped by `key_id`, `team_id`, `user_id`, `model_served` or `endpoint`, within the filter's time range.
    public struct Total: Sendable, Equatable {
        public var group: String?
        public var requests: Int
        public var promptTokens: Int
        public var completionTokens: Int
        public var cost: Double
    }

    public enum Grouping: String, Sendable {
        case key = "key_id"
        case team = "team_id"
        case user = "user_id"
        case model = "model_served"
        case endpoint
    }

    /// `scope` nil: every row.
    public func totals(by grouping: Grouping, from: Date? = nil, to: Date? = nil, scope: Scope? = nil) async throws
        -> [Total]
    {
        let rows = try await client.query(
            """
            SELECT \(unescaped: grouping.rawValue), count(*)::int8, coalesce(sum(prompt_tokens), 0)::int8,
                coalesce(sum(completion_tokens), 0)::int8, coalesce(sum(cost), 0)::float8
            FROM spend_logs
            WHERE (\(from)::timestamptz IS NULL OR at >= \(from)) AND (\(to)::timestamptz IS NULL OR at < \(to))
              AND (\(scope == nil) OR team_id = ANY(\(scope?.teamIDs ?? [])::text[]) OR user_id = \(scope?.userID))
            GROUP BY 1 ORDER BY 5 DESC
            """, logger: logger)
        var totals: [Total] = []
        for try await (group, count, prompt, completion, cost) in rows.decode((String?, Int, Int, Int, Double).self) {
            totals.append(Total(group: group, requests: count, promptTokens: prompt, completionTokens: completion,
                cost: cost))
        }
        return totals
    }
}
