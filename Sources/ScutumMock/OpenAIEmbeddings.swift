import Foundation

/// OpenAI's embeddings wire format, with deterministic unit vectors derived from the input.
enum OpenAIEmbeddings {
    static func respond(body: [String: Any], model: String) -> String? {
        let inputs: [String]
        switch body["input"] {
        case let text as String: inputs = [text]
        case let texts as [String]: inputs = texts
        case let tokens as [Int]: inputs = [tokens.map(String.init).joined(separator: " ")]
        case let arrays as [[Int]]: inputs = arrays.map { $0.map(String.init).joined(separator: " ") }
        default: return nil
        }
        let dimensions = (body["dimensions"] as? Int) ?? (model.contains("large") ? 3072 : 1536)
        let base64 = body["encoding_format"] as? String == "base64"
        var data: [String] = []
        var tokens = 0
        for (index, input) in inputs.enumerated() {
            tokens += max(1, CannedAnswers.countTokens(input))
            let vector = embedding(of: input, dimensions: dimensions)
            let encoded: String
            if base64 {
                var bytes = [UInt8]()
                bytes.reserveCapacity(vector.count * 4)
                for value in vector {
                    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
                }
                encoded = "\"" + Data(bytes).base64EncodedString() + "\""
            } else {
                encoded = "[" + vector.map { String($0) }.joined(separator: ",") + "]"
            }
            data.append(#"{"object":"embedding","index":\#(index),"embedding":\#(encoded)}"#)
        }
        return #"{"object":"list","data":[\#(data.joined(separator: ","))],"model":\#(JSONText.quote(model)),"usage":{"prompt_tokens":\#(tokens),"total_tokens":\#(tokens)}}"#
    }

    /// A unit vector that depends only on the text (FNV-1a seeded xorshift).
    static func embedding(of text: String, dimensions: Int) -> [Float] {
        var seed: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { seed = (seed ^ UInt64(byte)) &* 0x100_0000_01b3 }
        var state = seed == 0 ? 1 : seed
        var vector = [Float](repeating: 0, count: max(1, dimensions))
        var norm: Float = 0
        for index in vector.indices {
            state ^= state << 13
            state ^= state >> 7
            state ^= state << 17
            let value = Float(Int64(bitPattern: state) % 2_000_000) / 1_000_000
            vector[index] = value
            norm += value * value
        }
        let scale = norm > 0 ? 1 / norm.squareRoot() : 1
        return vector.map { $0 * scale }
    }
}
