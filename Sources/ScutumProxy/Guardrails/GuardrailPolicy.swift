import Foundation
import Logging
import ScutumGuardrails
import ScutumStore

/// The guardrail profiles a node enforces, compiled once from a `GuardrailSnapshot` (keyword
/// automata and patterns built) and swapped whole on every reload.
public struct GuardrailPolicy: Sendable {
    /// A compiled profile with the id and name its events are recorded under.
    public struct Profile: Sendable {
        public let id: UUID
        public let scanner: GuardrailScanner
        public var name: String { scanner.profile.name }
    }

    public let snapshot: GuardrailSnapshot
    let profiles: [UUID: Profile]

    /// No profiles: every request passes untouched.
    public static let empty = GuardrailPolicy(snapshot: .empty, profiles: [:])

    /// Compiles every profile of `snapshot`; one that does not parse (stored before a validation
    /// rule existed) is left out, with an error in the log.
    public init(snapshot: GuardrailSnapshot, logger: Logger) {
        var profiles: [UUID: Profile] = [:]
        for (id, config) in snapshot.configs {
            do {
                profiles[id] = Profile(id: id, scanner: GuardrailScanner(profile: try GuardrailProfile(config: config)))
            } catch {
                logger.error("guardrail profile does not parse; it is not enforced",
                    metadata: ["guardrail": "\(config.name)", "problems": "\(error.description)"])
            }
        }
        self.init(snapshot: snapshot, profiles: profiles)
    }

    init(snapshot: GuardrailSnapshot, profiles: [UUID: Profile]) {
        self.snapshot = snapshot
        self.profiles = profiles
    }

    /// The profiles a caller's requests go through, in order: the key's team's assignments (or the
    /// default profile), then the key's own extras; none when the key opted out. The master key
    /// gets the default profile.
    public func profiles(for key: AuthenticatedKey?) -> [Profile] {
        guard !profiles.isEmpty else { return [] }
        return snapshot.configs(forTeam: key?.teamID, key: key?.guardrails ?? .inherit).compactMap { profiles[$0.id] }
    }
}
