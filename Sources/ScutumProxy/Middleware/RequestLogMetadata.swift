import Logging

/// Puts the proxy request's id (`request_id`) on every log line written while the request is
/// handled, whichever logger writes it: the id lives in a task-local set by `RequestIDMiddleware`,
/// read by `provider` (install it with `LoggingSystem.bootstrap(_:metadataProvider:)`).
public enum RequestLogMetadata {
    @TaskLocal static var requestID: String?

    /// Adds `request_id` when a proxy request is being handled.
    public static let provider = Logger.MetadataProvider {
        guard let id = requestID else { return [:] }
        return ["request_id": .string(id)]
    }
}
