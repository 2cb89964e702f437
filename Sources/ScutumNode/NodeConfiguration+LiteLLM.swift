import Foundation
import ScutumCore

extension NodeConfiguration {
    /// The models file `variables` choose: `SCUTUM_MODELS_FILE`, else `config/models.yaml`.
    static func modelsFilePath(_ variables: [String: String]) -> String {
        let chosen = variables["SCUTUM_MODELS_FILE"]?.trimmingCharacters(in: .whitespaces) ?? ""
        return chosen.isEmpty ? "config/models.yaml" : chosen
    }

    /// `variables`, and the models file read as a LiteLLM config when it is one, with what that
    /// config's `general_settings`, `router_settings` and `environment_variables` supply for
    /// variables left unset (the master key, `DATABASE_URL`, `REDIS_URL`...).
    ///
    /// - Throws: `Invalid` naming the file and everything in it with no Scutum equivalent.
    static func applyingLiteLLMConfig(to variables: [String: String]) throws(Invalid)
        -> (variables: [String: String], litellm: LiteLLMConfig?)
    {
        let path = modelsFilePath(variables)
        // A file that cannot be read is reported when the catalog is loaded.
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), LiteLLMConfig.isLiteLLM(text) else {
            return (variables, nil)
        }
        do {
            let config = try LiteLLMConfig.parse(text)
            return (try config.variables(over: variables), config)
        } catch {
            throw Invalid(description: "\(path): \(error)")
        }
    }
}
