import Foundation

/// `model_list`: each entry a catalog model (entries sharing a `model_name` form a pool).
extension LiteLLMConfig {
    /// A deployment read from one `model_list` entry, with its per-call timeout.
    struct Deployment {
        var model: CatalogFile.Model
        var provider: LiteLLMProvider
        var timeout: Double?
    }

    mutating func readModels(_ file: LiteLLMSection, reader: LiteLLMReader) {
        guard let items = file.node("model_list")?.sequence, !items.isEmpty else {
            reader.reject("model_list", "must be a list of at least one model")
            return
        }
        var credentials: [String: CatalogFile.Credentials] = [:]
        var timeouts: [String: [Double]] = [:]
        for (index, item) in items.enumerated() {
            let path = "model_list[\(index)]"
            guard let entry = reader.section(item, at: path) else {
                if item.isNull { reader.reject(path, "must be a mapping") }
                continue
            }
            guard let deployment = Self.deployment(entry, reader: reader) else { continue }
            catalog.models.append(deployment.model)
            credentials[deployment.provider.credentials] = deployment.provider.defaults
            if let timeout = deployment.timeout { timeouts[deployment.model.model_name, default: []].append(timeout) }
        }
        catalog.credentials = credentials.isEmpty ? nil : credentials
        for (name, values) in timeouts.sorted(by: { $0.key < $1.key }) {
            let longest = values.max() ?? 0
            if Set(values).count > 1 {
                reader.note("model \(name): its deployments' timeouts differ; Scutum has one per model, the longest (\(longest) s)")
            }
            catalog.retry_policies = (catalog.retry_policies ?? [:]).merging([name: RetryPolicyEntry(timeout_seconds: longest)]) { $1 }
        }
    }

    /// One `model_list` entry; nil (with the reason recorded) when it cannot be used.
    static func deployment(_ entry: LiteLLMSection, reader: LiteLLMReader) -> Deployment? {
        let name = entry.string("model_name")
        let entryRPM = entry.int("rpm")
        let entryTPM = entry.int("tpm")
        let params = entry.section("litellm_params")
        let info = entry.section("model_info")
        defer {
            params?.finish()
            info?.finish()
            entry.finish()
        }
        guard let params else {
            reader.reject(entry.path("litellm_params"), "is required")
            info?.discard()
            return nil
        }
        /// Records why the entry is unusable; its other keys are not reported on top.
        func abandon(_ path: String, _ why: String) -> Deployment? {
            reader.reject(path, why)
            params.discard()
            info?.discard()
            return nil
        }
        guard let name, !name.isEmpty else { return abandon(entry.path("model_name"), "is required") }
        guard let target = params.string("model") else { return abandon(params.path("model"), "is required") }
        let provider: LiteLLMProvider
        var model: CatalogFile.Model
        switch LiteLLMProvider.route(target) {
        case .success(let route):
            provider = route.provider
            model = CatalogFile.Model(model_name: name, provider: route.provider.kind.rawValue, model: route.model)
        case .failure(let error):
            return abandon(params.path("model"), error.reason)
        }
        model.credentials = provider.credentials
        model.api_key = params.string("api_key")
        model.api_base = params.string("api_base").map { base in
            let trimmed = base.hasSuffix("/") ? String(base.dropLast()) : base
            guard let suffix = provider.basePathSuffix, !trimmed.hasSuffix(suffix) else { return trimmed }
            return trimmed + suffix
        }
        model.api_version = params.string("api_version")
        model.rpm = params.int("rpm") ?? entryRPM
        model.tpm = params.int("tpm") ?? entryTPM
        model.weight = params.double("weight")
        model.priority = params.int("order")
        model.input_cost_per_token = params.double("input_cost_per_token")
        model.output_cost_per_token = params.double("output_cost_per_token")
        let timeout = params.double("timeout")
        if let timeout { checkTimeout(timeout, at: params.path("timeout"), reader: reader) }
        if params.bool("drop_params") == true { refuseDropParams(params.path("drop_params"), reader: reader) }
        readProviderSettings(params, into: &model, kind: provider.kind, reader: reader)
        if let info { readModelInfo(info, into: &model, reader: reader) }
        return Deployment(model: model, provider: provider, timeout: timeout)
    }

    /// Bedrock's AWS keys and region, Vertex's project, location and service account.
    private static func readProviderSettings(_ params: LiteLLMSection, into model: inout CatalogFile.Model,
        kind: ProviderKind, reader: LiteLLMReader)
    {
        var extra: [String: String] = [:]
        switch kind {
        case .bedrock:
            if let key = params.string("aws_access_key_id") {
                if model.api_key != nil {
                    reader.reject(params.path("aws_access_key_id"), "give the key once, not also as api_key")
                }
                model.api_key = key
            }
            extra["secret_key"] = params.string("aws_secret_access_key")
            extra["session_token"] = params.string("aws_session_token")
            model.region = params.string("aws_region_name")
        case .vertex:
            extra["project"] = params.string("vertex_project")
            extra["location"] = params.string("vertex_location")
            if let account = params.string("vertex_credentials") {
                // LiteLLM takes the service account's JSON itself or the path of a file holding it.
                let isJSON = account.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("{")
                extra[isJSON ? "credentials_json" : "credentials_file"] = account
            }
        default:
            break
        }
        model.extra = extra.isEmpty ? nil : extra
    }

    /// `model_info`: deployment id, mode, prices and token limits.
    private static func readModelInfo(_ info: LiteLLMSection, into model: inout CatalogFile.Model,
        reader: LiteLLMReader)
    {
        model.id = info.string("id")
        if let mode = info.string("mode") {
            if let known = ModelMode(rawValue: mode) {
                model.mode = known
            } else {
                reader.reject(info.path("mode"), "'\(mode)' has no equivalent (Scutum serves chat and embedding)")
            }
        }
        model.input_cost_per_token = info.double("input_cost_per_token") ?? model.input_cost_per_token
        model.output_cost_per_token = info.double("output_cost_per_token") ?? model.output_cost_per_token
        model.cache_read_input_token_cost = info.double("cache_read_input_token_cost")
        model.cache_creation_input_token_cost = info.double("cache_creation_input_token_cost")
        model.cache_creation_input_token_cost_above_1hr = info.double("cache_creation_input_token_cost_above_1hr")
        model.output_cost_per_reasoning_token = info.double("output_cost_per_reasoning_token")
        model.context_window = info.int("max_input_tokens")
        let maxTokens = info.int("max_tokens")
        model.max_output_tokens = info.int("max_output_tokens") ?? maxTokens
        for key in info.keys where key.hasPrefix("supports_") {
            info.accept(key, note: nil)
            reader.note("model_info.supports_*: accepted as information only; Scutum does not check capabilities before a call")
        }
    }

    /// Refuses `drop_params: true`: Scutum forwards an OpenAI-compatible upstream the caller's
    /// parameters unchanged (its translating adapters send only what the provider has).
    static func refuseDropParams(_ path: String, reader: LiteLLMReader) {
        reader.refuse(path, "true: Scutum passes an OpenAI-compatible provider the caller's parameters unchanged")
    }

    /// Scutum's per-attempt timeout is above 0 and at most an hour.
    static func checkTimeout(_ seconds: Double, at path: String, reader: LiteLLMReader) {
        if !(seconds > 0 && seconds <= 3_600) {
            reader.reject(path, "must be above 0 and at most 3600 seconds (Scutum's per-attempt timeout)")
        }
    }
}
