import Foundation
import Yams

/// A LiteLLM proxy `config.yaml`, read as its Scutum equivalent: `model_list` becomes the catalog's
/// models (several entries of one `model_name` a pool), `router_settings` and `litellm_settings`
/// its routing strategy, retry policy, aliases and fallback chains, and `general_settings` the
/// master key and database a node would otherwise read from its environment.
///
/// Whatever has no equivalent is refused, all of it at once, by key path
/// (`litellm config: no equivalent for litellm_settings.callbacks, model_list[2].litellm_params.foo`),
/// so nothing a LiteLLM operator relied on is silently dropped.
public struct LiteLLMConfig: Sendable {
    /// The equivalent Scutum catalog (what `scutum config convert` writes).
    public var catalog: CatalogFile
    /// `general_settings.master_key` (`os.environ/NAME` as `${NAME}`).
    public var masterKey: String?
    /// `general_settings.database_url`.
    public var databaseURL: String?
    /// `router_settings.redis_url`, or one built from `redis_host`, `redis_port` and `redis_password`.
    public var redis: RedisLocation?
    /// `environment_variables`: variables for the node when its environment does not set them.
    public var environment: [String: String]
    /// `litellm_settings.json_logs`.
    public var jsonLogs: Bool
    /// Settings accepted without effect or mapped with a loss, one line each, for the start-up log.
    public var notes: [String]

    /// Where `router_settings` says Redis is.
    public enum RedisLocation: Sendable, Equatable {
        case url(String)
        case host(String, port: String?, password: String?)

        /// The `redis://` URL, `${NAME}`s read from `variables`.
        func url(_ variables: [String: String]) -> String {
            switch self {
            case .url(let url):
                return CatalogFile.interpolate(url, environment: variables)
            case .host(let host, let port, let password):
                let expand = { (text: String) in CatalogFile.interpolate(text, environment: variables) }
                let secret = password.map(expand).flatMap { $0.isEmpty ? nil : $0 }
                    .map { ":" + ($0.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? $0) + "@" }
                return "redis://\(secret ?? "")\(expand(host)):\(port.map(expand) ?? "6379")"
            }
        }
    }

    /// Why a LiteLLM file cannot be served: every key path with no equivalent and every value
    /// that cannot be used.
    public struct Refused: Error, CustomStringConvertible, Sendable {
        /// Key paths with no equivalent (`litellm_settings.callbacks`).
        public var unsupported: [String]
        /// Values that cannot be used, as `path: why`.
        public var invalid: [String]

        public var description: String {
            var parts: [String] = []
            if !unsupported.isEmpty { parts.append("no equivalent for \(unsupported.joined(separator: ", "))") }
            if !invalid.isEmpty { parts.append("cannot use \(invalid.joined(separator: "; "))") }
            return "litellm config: " + parts.joined(separator: "; ")
        }
    }

    /// Whether `yaml` is a LiteLLM config (a mapping with a top-level `model_list`) rather than a
    /// Scutum catalog.
    public static func isLiteLLM(_ yaml: String) -> Bool {
        guard let root = try? Yams.compose(yaml: yaml)?.mapping else { return false }
        return root["model_list"] != nil
    }

    /// The Scutum equivalent of a LiteLLM config; throws naming everything that has none.
    public static func parse(_ yaml: String) throws(Refused) -> LiteLLMConfig {
        let reader = LiteLLMReader()
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw Refused(unsupported: [], invalid: ["config.yaml: \(error)"])
        }
        guard let file = reader.section(root, at: "") else {
            throw Refused(unsupported: [], invalid: reader.invalid.isEmpty ? ["config.yaml: the file is empty"] : reader.invalid)
        }
        var config = LiteLLMConfig(catalog: CatalogFile(models: []), environment: [:], jsonLogs: false, notes: [])
        config.readModels(file, reader: reader)
        config.readRouting(router: file.section("router_settings"), module: file.section("litellm_settings"),
            reader: reader)
        if let general = file.section("general_settings") {
            config.masterKey = general.string("master_key")
            config.databaseURL = general.string("database_url")
            general.finish()
        }
        if let variables = file.section("environment_variables") {
            for key in variables.keys {
                if let value = variables.string(key) { config.environment[key] = value }
            }
        }
        file.finish()
        config.notes = reader.notes
        guard reader.unsupported.isEmpty, reader.invalid.isEmpty else {
            throw Refused(unsupported: reader.unsupported, invalid: reader.invalid)
        }
        return config
    }

    /// `given` with what this config supplies for variables it leaves unset (empty counts as unset):
    /// `SCUTUM_API_KEY` from `general_settings.master_key`, `DATABASE_URL` from its `database_url`,
    /// `REDIS_URL` from `router_settings`, `SCUTUM_LOG_FORMAT=json` from `json_logs`, and each of
    /// `environment_variables`. Values set in `given` always win.
    public func variables(over given: [String: String]) throws(Refused) -> [String: String] {
        var merged = given
        func isUnset(_ name: String) -> Bool { merged[name]?.trimmingCharacters(in: .whitespaces).isEmpty ?? true }
        for (name, value) in environment where isUnset(name) {
            merged[name] = CatalogFile.interpolate(value, environment: given)
        }
        if isUnset("SCUTUM_API_KEY"), let masterKey {
            let key = CatalogFile.interpolate(masterKey, environment: merged)
            if !key.isEmpty {
                guard key.count >= 16 else {
                    throw Refused(unsupported: [], invalid: [
                        "general_settings.master_key: it is \(key.count) characters; Scutum needs at least 16 random characters (or set SCUTUM_API_KEY)",
                    ])
                }
                merged["SCUTUM_API_KEY"] = key
            }
        }
        if isUnset("DATABASE_URL"), let databaseURL {
            merged["DATABASE_URL"] = CatalogFile.interpolate(databaseURL, environment: merged)
        }
        if isUnset("REDIS_URL"), let redis { merged["REDIS_URL"] = redis.url(merged) }
        if isUnset("SCUTUM_LOG_FORMAT"), jsonLogs { merged["SCUTUM_LOG_FORMAT"] = "json" }
        return merged
    }
}
