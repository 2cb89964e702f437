import Yams

/// `router_settings` and `litellm_settings`: routing strategy, retries, timeouts, aliases and
/// fallback chains.
extension LiteLLMConfig {
    /// LiteLLM's routing strategies by name, and the catalog's equivalent.
    static let strategies: [String: RoutingRules.Strategy] = [
        "simple-shuffle": .simpleShuffle,
        "least-busy": .leastBusy,
        "latency-based-routing": .latencyBased,
        "usage-based-routing": .usageBased,
        "usage-based-routing-v2": .usageBased,
        "cost-based-routing": .costBased,
    ]

    /// The fields of LiteLLM's `retry_policy` and the catalog's error class for each.
    static let retryClasses: [String: RetryPolicy.ErrorClass] = [
        "BadRequestErrorRetries": .badRequest,
        "AuthenticationErrorRetries": .authentication,
        "TimeoutErrorRetries": .timeout,
        "RateLimitErrorRetries": .rateLimit,
        "ContentPolicyViolationErrorRetries": .contentPolicy,
        "InternalServerErrorRetries": .serverError,
    ]

    mutating func readRouting(router: LiteLLMSection?, module: LiteLLMSection?, reader: LiteLLMReader) {
        defer {
            router?.finish()
            module?.finish()
        }
        if let name = router?.string("routing_strategy") {
            if let strategy = Self.strategies[name] {
                catalog.routing_strategy = strategy.rawValue
            } else {
                reader.reject("router_settings.routing_strategy",
                    "'\(name)' has no equivalent (known: \(Self.strategies.keys.sorted().joined(separator: ", ")))")
            }
        }
        var policy = RetryPolicyEntry()
        if let (retries, path) = Self.preferred(router, "num_retries", over: module, "num_retries", reader: reader, read: {
            $0.int($1)
        }) {
            policy.retries = retries
            if !(0...10).contains(retries) { reader.reject(path, "must be between 0 and 10 in Scutum") }
        }
        if let (timeout, path) = Self.preferred(router, "timeout", over: module, "request_timeout", reader: reader, read: {
            $0.double($1)
        }) {
            policy.timeout_seconds = timeout
            Self.checkTimeout(timeout, at: path, reader: reader)
        }
        if let pause = router?.double("retry_after") {
            if (0...60).contains(pause) {
                policy.backoff_ms = Int((pause * 1000).rounded())
            } else {
                reader.reject("router_settings.retry_after", "must be between 0 and 60 seconds in Scutum")
            }
        }
        if let classes = router?.section("retry_policy") { policy = Self.retryPolicy(classes, over: policy, reader: reader) }
        if policy.retries != nil || policy.timeout_seconds != nil || policy.backoff_ms != nil || policy.on != nil {
            catalog.retry_policy = policy
        }
        if let perModel = router?.section("model_group_retry_policy") {
            for model in perModel.keys {
                guard let classes = perModel.section(model) else { continue }
                let entry = Self.retryPolicy(classes, over: catalog.retry_policies?[model] ?? RetryPolicyEntry(), reader: reader)
                catalog.retry_policies = (catalog.retry_policies ?? [:]).merging([model: entry]) { $1 }
            }
            perModel.finish()
        }
        readAliases(router?.section("model_group_alias"), reader: reader)
        readFallbacks(router: router, module: module, reader: reader)
        readRouterRedis(router)
        if module?.bool("drop_params") == true { Self.refuseDropParams("litellm_settings.drop_params", reader: reader) }
        jsonLogs = module?.bool("json_logs") ?? false
        module?.accept("set_verbose", note: "accepted without effect (SCUTUM_LOG_LEVEL=debug logs more)")
    }

    /// The value under `key` of `router` (LiteLLM's router wins), else of `module`, with its path;
    /// notes a conflict.
    private static func preferred<T: Equatable>(_ router: LiteLLMSection?, _ key: String, over module: LiteLLMSection?,
        _ moduleKey: String, reader: LiteLLMReader, read: (LiteLLMSection, String) -> T?) -> (T, String)?
    {
        let fromRouter = router.flatMap { read($0, key) }
        let fromModule = module.flatMap { read($0, moduleKey) }
        if let fromRouter, let fromModule, fromRouter != fromModule {
            reader.note("router_settings.\(key) is used; litellm_settings.\(moduleKey) differs and is ignored, as in LiteLLM's router")
        }
        if let fromRouter { return (fromRouter, "router_settings.\(key)") }
        return fromModule.map { ($0, "litellm_settings.\(moduleKey)") }
    }

    /// LiteLLM's per-error retry counts as catalog actions: a class with retries is retried (the
    /// policy has one count: the largest); a class with none that Scutum would retry moves on to
    /// the next deployment instead.
    private static func retryPolicy(_ section: LiteLLMSection, over base: RetryPolicyEntry,
        reader: LiteLLMReader) -> RetryPolicyEntry
    {
        var entry = base
        var counts: [Int] = []
        for key in section.keys {
            guard let errorClass = retryClasses[key] else { continue }
            guard let count = section.int(key) else { continue }
            guard (0...10).contains(count) else {
                reader.reject(section.path(key), "must be between 0 and 10 in Scutum")
                continue
            }
            var on = entry.on ?? [:]
            if count > 0 {
                counts.append(count)
                on[errorClass.rawValue] = RetryPolicy.Action.retry.rawValue
            } else if RetryPolicy.defaultActions[errorClass] == .retry {
                on[errorClass.rawValue] = RetryPolicy.Action.nextDeployment.rawValue
            }
            entry.on = on
        }
        section.finish()
        if let largest = counts.max() {
            if Set(counts + (base.retries.map { [$0] } ?? [])).count > 1 {
                reader.note("\(section.path): Scutum has one retry count per policy; the largest, \(largest), applies to every class that retries")
            }
            entry.retries = max(largest, base.retries ?? 0)
        }
        return entry
    }

    /// `model_group_alias`: an alias for one model (`{alias: model}` or `{alias: {model: ...}}`).
    private mutating func readAliases(_ section: LiteLLMSection?, reader: LiteLLMReader) {
        guard let section else { return }
        defer { section.finish() }
        for alias in section.keys {
            guard let node = section.node(alias) else { continue }
            if node.scalar != nil, let model = node.string {
                catalog.aliases = (catalog.aliases ?? [:]).merging([alias: [model]]) { $1 }
            } else if let details = reader.section(node, at: section.path(alias)) {
                if let model = details.string("model") {
                    catalog.aliases = (catalog.aliases ?? [:]).merging([alias: [model]]) { $1 }
                }
                if details.bool("hidden") == true {
                    reader.refuse(details.path("hidden"), "Scutum lists every alias in /v1/models")
                }
                details.finish()
            }
        }
    }

    /// `fallbacks` and `context_window_fallbacks` of both sections, then `default_fallbacks` for
    /// every model without a chain.
    private mutating func readFallbacks(router: LiteLLMSection?, module: LiteLLMSection?, reader: LiteLLMReader) {
        var chains: [String: [String]] = [:]
        func add(_ model: String, _ chain: [String]) {
            var merged = chains[model] ?? []
            for member in chain where !merged.contains(member) && member != model { merged.append(member) }
            chains[model] = merged
        }
        for section in [router, module].compactMap({ $0 }) {
            for (model, chain) in Self.chains(section, "fallbacks", reader: reader) { add(model, chain) }
        }
        for section in [router, module].compactMap({ $0 }) {
            for (model, chain) in Self.chains(section, "context_window_fallbacks", reader: reader) {
                reader.note("context_window_fallbacks of \(model): merged into its fallback chain; on a context-window error Scutum tries only the chain's models with a larger max_input_tokens, on other errors every model of the chain")
                add(model, chain)
            }
        }
        let defaults = (router?.strings("default_fallbacks") ?? []) + (module?.strings("default_fallbacks") ?? [])
        if !defaults.isEmpty {
            for name in catalog.models.map(\.model_name) where chains[name] == nil && !defaults.contains(name) {
                add(name, defaults)
            }
        }
        catalog.fallbacks = chains.isEmpty ? nil : chains
    }

    /// A LiteLLM fallback list: `[{model: [fallback, ...]}, ...]`.
    private static func chains(_ section: LiteLLMSection, _ key: String, reader: LiteLLMReader) -> [(String, [String])] {
        guard let node = section.node(key) else { return [] }
        guard let items = node.sequence else {
            reader.reject(section.path(key), "must be a list of {model: [fallbacks]}")
            return []
        }
        var result: [(String, [String])] = []
        for (index, item) in items.enumerated() {
            guard let entry = reader.section(item, at: "\(section.path(key))[\(index)]") else { continue }
            for model in entry.keys {
                if let chain = entry.strings(model) { result.append((model, chain)) }
            }
            entry.finish()
        }
        return result
    }

    /// `router_settings.redis_url`, or `redis_host`, `redis_port` and `redis_password`.
    private mutating func readRouterRedis(_ router: LiteLLMSection?) {
        guard let router else { return }
        let (url, host) = (router.string("redis_url"), router.string("redis_host"))
        let (port, password) = (router.string("redis_port"), router.string("redis_password"))
        if let url {
            redis = .url(url)
        } else if let host {
            redis = .host(host, port: port, password: password)
        }
    }
}
