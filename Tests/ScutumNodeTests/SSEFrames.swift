import Foundation

/// The frames of an SSE body as the proxy sent them.
struct SSEFrames {
    /// Each frame's text after `data: `, in order.
    var payloads: [String]
    /// Whether every frame had the exact form `data: ...\n\n`.
    var wellFormed: Bool

    init(_ body: String) {
        var payloads: [String] = []
        var wellFormed = body.hasSuffix("\n\n")
        for frame in body.components(separatedBy: "\n\n") where !frame.isEmpty {
            if frame.hasPrefix("data: ") && !frame.dropFirst(6).contains("\n") {
                payloads.append(String(frame.dropFirst(6)))
            } else {
                wellFormed = false
            }
        }
        self.payloads = payloads
        self.wellFormed = wellFormed
    }

    /// The JSON chunks (every payload except a final `[DONE]`).
    func chunks() throws -> [[String: Any]] {
        try payloads.filter { $0 != "[DONE]" }.map {
            guard let object = try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] else {
                throw TestFailure("chunk is not an object: \($0)")
            }
            return object
        }
    }

    var endsWithDone: Bool { payloads.last == "[DONE]" }

    /// The text of all content deltas, concatenated.
    func content() throws -> String {
        try chunks().compactMap { chunk -> String? in
            guard let choices = chunk["choices"] as? [[String: Any]], let first = choices.first,
                let delta = first["delta"] as? [String: Any]
            else { return nil }
            return delta["content"] as? String
        }.joined()
    }
}
