import Foundation

/// Small helpers to write JSON text directly, fast enough for a benchmark upstream.
enum JSONText {
    /// `text` as a JSON string literal, quotes included.
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20: out += String(format: "\\u%04x", scalar.value)
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }

    /// Parses a request body into a JSON object, nil if it is not one.
    static func object(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// `value` (a parsed JSON value) as compact JSON text with sorted keys.
    static func compact(_ value: Any) -> String {
        let options: JSONSerialization.WritingOptions = [.sortedKeys, .withoutEscapingSlashes, .fragmentsAllowed]
        guard let data = try? JSONSerialization.data(withJSONObject: value, options: options) else { return "null" }
        return String(decoding: data, as: UTF8.self)
    }

    /// A random id suffix like OpenAI's.
    static func randomID(_ length: Int = 24) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        return String((0..<length).map { _ in alphabet.randomElement()! })
    }
}

/// The text of a chat request that the mock looks at.
struct ChatPrompt {
    /// All message text, for directives and token counting.
    var allText: String
    /// The last user message's text.
    var lastUser: String
    var messageCount: Int

    init(_ body: [String: Any]) {
        var all: [String] = []
        var lastUser = ""
        let messages = body["messages"] as? [[String: Any]] ?? []
        for message in messages {
            var text = ""
            if let content = message["content"] as? String {
                text = content
            } else if let parts = message["content"] as? [[String: Any]] {
                text = parts.compactMap { $0["text"] as? String }.joined(separator: " ")
            }
            all.append(text)
            if message["role"] as? String == "user" { lastUser = text }
        }
        self.allText = all.joined(separator: "\n")
        self.lastUser = lastUser
        self.messageCount = messages.count
    }

    var promptTokens: Int { CannedAnswers.countTokens(MockDirectives.strip(allText)) + 3 * messageCount }
}
