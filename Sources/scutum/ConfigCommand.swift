import ArgumentParser
import Foundation
import ScutumCore

/// `scutum config`: work with models files.
struct Config: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Work with models files.", subcommands: [Convert.self])

    /// `scutum config convert LITELLM.yaml [-o models.yaml]`: a LiteLLM proxy config as Scutum's catalog.
    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the Scutum models.yaml equivalent of a LiteLLM proxy config.yaml.",
            discussion: """
                Refuses (exit status 1) a config with settings Scutum has no equivalent for, naming each. \
                general_settings (master key, database URL) are not part of models.yaml: set SCUTUM_API_KEY \
                and DATABASE_URL, or serve the LiteLLM file itself with `scutum serve --config`.
                """)
        @Argument(help: "The LiteLLM config.yaml.") var input: String
        @Option(name: .shortAndLong, help: "Where to write models.yaml (default: standard output).") var output: String?

        func run() throws {
            let text: String
            do {
                text = try String(contentsOfFile: input, encoding: .utf8)
            } catch {
                throw ValidationError("cannot read \(input): \(error.localizedDescription)")
            }
            let config = try LiteLLMConfig.parse(text)
            // The same checks `scutum serve` makes (pool modes, unknown names in chains and aliases...).
            _ = try config.catalog.catalog(environment: [:], supportedKinds: Set(ProviderKind.allCases))
            var comments = ["Converted from the LiteLLM config \(input) by `scutum config convert`."]
            comments += config.notes.map { "Note: \($0)" }
            let variables = [
                (config.masterKey != nil, "SCUTUM_API_KEY (general_settings.master_key)"),
                (config.databaseURL != nil, "DATABASE_URL (general_settings.database_url)"),
                (config.redis != nil, "REDIS_URL (router_settings' Redis)"),
                (config.jsonLogs, "SCUTUM_LOG_FORMAT=json (litellm_settings.json_logs)"),
            ].filter(\.0).map(\.1)
            if !variables.isEmpty {
                comments.append("Not part of this file; set in config/.env: \(variables.joined(separator: ", ")).")
            }
            if !config.environment.isEmpty {
                comments.append("environment_variables are not part of this file: set \(config.environment.keys.sorted().joined(separator: ", ")) in config/.env.")
            }
            let yaml = try config.catalog.yaml(comments: comments)
            if let output {
                try yaml.write(toFile: output, atomically: true, encoding: .utf8)
                FileHandle.standardError.write(Data("Wrote \(output) (\(config.catalog.models.count) deployments).\n".utf8))
            } else {
                print(yaml, terminator: "")
            }
        }
    }
}
