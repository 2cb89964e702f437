import ScutumCore

/// Checks the alert settings of a settings update beyond their kind: the webhook is an http(s) URL,
/// the format is `json` or `slack`, every listed kind exists.
enum AlertSettingFields {
    static func problems(in changes: [String: JSONValue]) -> [FieldError] {
        var errors: [FieldError] = []
        if let url = changes[PlatformSettings.alertWebhookURL.name]?.stringValue {
            do {
                try AlertSettings.validate(url: url)
            } catch {
                errors.append(FieldError(location: ["body", .string(PlatformSettings.alertWebhookURL.name)],
                    message: error.description, type: "url_scheme"))
            }
        }
        if let format = changes[PlatformSettings.alertWebhookFormat.name]?.stringValue,
            AlertSettings.Format(rawValue: format) == nil
        {
            errors.append(FieldError(location: ["body", .string(PlatformSettings.alertWebhookFormat.name)],
                message: "Input should be " + AlertSettings.Format.allCases.map { "'\($0.rawValue)'" }
                    .joined(separator: " or "), type: "literal_error"))
        }
        for (index, kind) in (changes[PlatformSettings.alertKinds.name]?.arrayValue ?? []).enumerated()
        where kind.stringValue.flatMap(AlertKind.init) == nil {
            errors.append(FieldError(location: ["body", .string(PlatformSettings.alertKinds.name), .int(Int64(index))],
                message: "Input should be one of " + AlertKind.allCases.map(\.rawValue).joined(separator: ", "),
                type: "literal_error"))
        }
        return errors
    }
}
