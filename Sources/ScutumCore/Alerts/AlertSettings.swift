import Foundation

/// Where and how alerts are delivered, read from the platform settings (`alert_webhook_url`,
/// `alert_webhook_format`, `alert_kinds`).
public struct AlertSettings: Sendable, Equatable {
    /// The body a webhook receives.
    public enum Format: String, Sendable, CaseIterable {
        /// `{"id", "kind", "subject", "message", "details", "at"}`.
        case json
        /// Slack's incoming-webhook body: `{"text": ...}` (Mattermost, Teams connectors and
        /// others accept it too).
        case slack
    }

    /// Why a webhook URL cannot be used.
    public struct InvalidURL: Error, Sendable, Equatable, CustomStringConvertible {
        public let url: String
        public var description: String { "alert_webhook_url must be an http:// or https:// URL with a host, not \(url)" }
    }

    /// The webhook, if one is set.
    public var webhookURL: String?
    public var format: Format
    /// The kinds to send; empty sends every kind.
    public var kinds: Set<AlertKind>

    public init(webhookURL: String? = nil, format: Format = .json, kinds: Set<AlertKind> = []) {
        self.webhookURL = webhookURL
        self.format = format
        self.kinds = kinds
    }

    /// The alert settings in a platform settings object (unknown formats read as `json`, unknown
    /// kinds are ignored).
    public init(settings: JSONValue) {
        webhookURL = PlatformSettings.alertWebhookURL.string(in: settings)
        format = PlatformSettings.alertWebhookFormat.string(in: settings).flatMap(Format.init) ?? .json
        kinds = Set(PlatformSettings.alertKinds.strings(in: settings).compactMap(AlertKind.init))
    }

    /// Whether alerts of `kind` go to the webhook.
    public func sends(_ kind: AlertKind) -> Bool {
        webhookURL != nil && (kinds.isEmpty || kinds.contains(kind))
    }

    /// Checks that `url` is an absolute http(s) URL with a host.
    public static func validate(url: String) throws(InvalidURL) {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty
        else { throw InvalidURL(url: url) }
    }
}
