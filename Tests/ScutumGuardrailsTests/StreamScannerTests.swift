import Testing

@testable import ScutumGuardrails

@Suite("Stream scanner: sliding window over output deltas")
struct StreamScannerTests {
    static let key = "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z"
    static let filler = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 8)

    /// Feeds `chunks`, then finishes: what was emitted, and the block verdict if any.
    static func run(_ scanner: GuardrailScanner, _ chunks: [String], holdBack: Int = GuardrailStreamScanner.defaultHoldBack)
        -> (String, GuardrailVerdict?)
    {
        var stream = GuardrailStreamScanner(scanner: scanner, holdBack: holdBack)
        var emitted = ""
        for chunk in chunks + [nil] as [String?] {
            switch chunk.map({ stream.feed($0) }) ?? stream.finish() {
            case .emit(let text): emitted += text
            case .block(let verdict): return (emitted, verdict)
            }
        }
        return (emitted, nil)
    }

    /// `text` cut at each offset in `cuts` (UTF-8 offsets on character boundaries).
    static func split(_ text: String, at cuts: [Int]) -> [String] {
        let bytes = Array(text.utf8)
        var pieces: [String] = []
        var start = 0
        for cut in cuts + [bytes.count] {
            pieces.append(String(decoding: bytes[start..<cut], as: UTF8.self))
            start = cut
        }
        return pieces
    }

    @Test("a key split across two deltas is caught at every split point, before any of it is sent")
    func secretAtEverySplit() {
        let blocking = scanner { $0.enableSecretsDetection = true }
        let text = Self.filler + "Your key is " + Self.key + " and that is all. " + Self.filler
        let keyStart = (Self.filler + "Your key is ").utf8.count
        for cut in 1..<text.utf8.count {
            let (emitted, verdict) = Self.run(blocking, Self.split(text, at: [cut]))
            #expect(verdict?.blocked?.finding.rule == "openai_api_key", "cut \(cut)")
            // A long enough prefix of the key already counts as a key, so the block can come before the rest.
            #expect(verdict?.blocked?.finding.range.lowerBound == keyStart, "cut \(cut)")
            #expect(!emitted.contains("sk-proj"), "cut \(cut)")
            #expect(emitted.utf8.count <= keyStart, "cut \(cut)")
        }
    }

    @Test("a key split into three pieces at every pair of points inside it is caught")
    func secretInThreePieces() {
        let blocking = scanner { $0.enableSecretsDetection = true }
        let prefix = Self.filler + "key="
        let text = prefix + Self.key + "\n" + Self.filler
        let start = prefix.utf8.count
        for first in start..<(start + Self.key.utf8.count) {
            for second in stride(from: first + 1, to: start + Self.key.utf8.count, by: 3) {
                let (emitted, verdict) = Self.run(blocking, Self.split(text, at: [first, second]))
                #expect(verdict?.isBlocked == true)
                #expect(!emitted.contains("sk-"))
            }
        }
    }

    @Test("masking rewrites the stream: the output equals the masked whole text, for every split and small deltas")
    func maskedStream() {
        let masking = scanner {
            $0.enablePIIDetection = true
            $0.enableSecretsDetection = true
            $0.secretsAction = .mask
        }
        let text = Self.filler + "Mail jane.doe@example.com, card 4111 1111 1111 1111, key " + Self.key + ". "
            + Self.filler + "Grüße, call +44 20 7946 0958 👋 end"
        guard case .mask(let expected) = masking.scan(text, direction: .output).decision else {
            Issue.record("expected masking")
            return
        }
        #expect(expected.contains("Mail <EMAIL_ADDRESS>, card <CREDIT_CARD>, key <SECRET>. "))
        let characterOffsets = text.indices.map { text.utf8.distance(from: text.utf8.startIndex, to: $0) }
        for cut in characterOffsets.dropFirst() {
            let (emitted, verdict) = Self.run(masking, Self.split(text, at: [cut]))
            #expect(verdict == nil)
            #expect(emitted == expected, "cut \(cut)")
        }
        for size in [1, 2, 5, 17] {
            let cuts = stride(from: size, to: characterOffsets.count, by: size).map { characterOffsets[$0] }
            #expect(Self.run(masking, Self.split(text, at: cuts)).0 == expected, "delta size \(size)")
        }
    }

    @Test("text is released once more than the hold-back has arrived, never splitting a character")
    func holdBack() {
        let masking = scanner { $0.enablePIIDetection = true }
        var stream = GuardrailStreamScanner(scanner: masking, holdBack: 16)
        #expect(stream.feed("0123456789") == .emit(""))
        #expect(stream.feed("abcdefghij") == .emit("0123"))
        #expect(stream.feed("é") == .emit("45"))
        #expect(stream.finish() == .emit("6789abcdefghijé"))
        #expect(stream.findings.isEmpty)
    }

    @Test("findings carry offsets into the whole output; once blocked, every call repeats the verdict")
    func offsetsAndStickyBlock() {
        let scanner = scanner {
            $0.enablePIIDetection = true
            $0.enableSecretsDetection = true
        }
        var stream = GuardrailStreamScanner(scanner: scanner, holdBack: 64)
        _ = stream.feed(Self.filler)
        _ = stream.feed("mail x@example.com then ")
        _ = stream.feed(Self.filler)
        let offset = Self.filler.utf8.count + 5
        #expect(stream.findings == [GuardrailFinding(scanner: .pii, rule: "EMAIL_ADDRESS", range: offset..<(offset + 13))])
        let step = stream.feed("AKIAIOSFODNN7EXAMPLE " + Self.filler)
        guard case .block(let verdict) = step else {
            Issue.record("expected a block, got \(step)")
            return
        }
        #expect(verdict.error?.type == "guardrail_error")
        #expect(stream.feed("more") == step)
        #expect(stream.finish() == step)
    }

    @Test("a profile that does not scan output passes deltas straight through")
    func inactive() {
        let inputOnly = scanner {
            $0.enableSecretsDetection = true
            $0.mode = .input
        }
        var stream = GuardrailStreamScanner(scanner: inputOnly)
        #expect(!stream.isActive)
        #expect(stream.feed(Self.key) == .emit(Self.key))
        #expect(stream.finish() == .emit(""))
    }
}
