import Foundation
import NIOCore
import ScutumCore
import ScutumTestSupport
import Testing

/// Whether the scanner accepts `bytes`.
func scans(_ bytes: [UInt8], indexedDepth: Int = 1) -> Bool {
    (try? JSONDocument(scanning: ByteBuffer(bytes: bytes), indexedDepth: indexedDepth)) != nil
}

/// Whether the tree parser accepts `bytes`.
func parses(_ bytes: [UInt8]) -> Bool {
    (try? JSONParser.parse(bytes)) != nil
}

@Suite("JSON structural scanner")
struct JSONScannerTests {
    static let valid: [String] = [
        #"{}"#, #"[]"#, #"0"#, #"-0"#, #"1.5e-3"#, #"-12.25E+2"#, #"true"#, #"false"#, #"null"#, #""""#,
        #" {"a" : [1, {"b": null}, "x"] } "#, "\t\r\n[\n]\n",
        #"{"s":"esc \" \\ \/ \b \f \n \r \t \u00e9 \uD83D\uDE00"}"#,
        #"{"long":"abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz with a \"quote\" inside"}"#,
        "{\"utf8\":\"héllo wörld – 漢字 😀 \u{10FFFF}\"}",
        #"[9223372036854775807, 9223372036854775808, 1e308, 1e-400, 0.000001]"#,
        #"{"k":1,"k":2}"#,
        String(repeating: "[", count: 512) + String(repeating: "]", count: 512),
    ]

    static let invalidText: [String] = [
        "", "   ", "{", "}", #"{"a":}"#, "tru", "[1,", #"{"a":1,}"#, "[1,]", #"{"a" 1}"#, "{a:1}", #"{'a':1}"#,
        #"{"a":1} x"#, "[] []", #""abc"#, #"{"a":"b}"#,
        #""\q""#, #""\u12G4""#, #""\u12""#, #""\"#,
        #""\uD800""#, #""\uDC00""#, #""\uD800\u0041""#, #""\uD800x""#,
        "\"a\u{01}b\"", "\"tab\there\"", "\"new\nline\"",
        "01", "1.", "-", "-a", ".5", "+1", "1e", "1e+", "1.e5", "0x10", "1e400", "-1e309", "NaN", "Infinity",
        "nul", "truex", "True",
        String(repeating: "[", count: 513) + String(repeating: "]", count: 513),
    ]

    static let invalid: [[UInt8]] = invalidText.map { Array($0.utf8) } + [
        [0x22, 0xFF, 0x22], [0x22, 0xC0, 0x80, 0x22], [0x22, 0xED, 0xA0, 0x80, 0x22], [0x22, 0xF5, 0x80, 0x80, 0x80, 0x22],
        [0x22, 0xE2, 0x82, 0x22], [0x22, 0xE0, 0x80, 0x80, 0x22], [0x22, 0xF0, 0x80, 0x80, 0x80, 0x22],
        [0x22, 0xF4, 0x90, 0x80, 0x80, 0x22], [0x22, 0x80, 0x22], [0xEF, 0xBB, 0xBF, 0x7B, 0x7D],
        [0x7B, 0x22, 0xFF, 0xFE, 0x22, 0x3A, 0x31, 0x7D],
    ]

    @Test("valid documents are accepted, as the parser accepts them", arguments: valid)
    func acceptsValid(_ text: String) {
        #expect(parses(Array(text.utf8)))
        #expect(scans(Array(text.utf8)))
        #expect(scans(Array(text.utf8), indexedDepth: 600))
    }

    @Test("invalid documents are refused, as the parser refuses them", arguments: invalid)
    func refusesInvalid(_ bytes: [UInt8]) {
        #expect(!parses(bytes))
        #expect(!scans(bytes))
    }

    @Test("a refusal says why and where, as the parser does", arguments: [
        (#"{"a":1} x"#, "Unexpected data after the JSON value at byte 8"),
        (#"{"a":"b\q"}"#, "Invalid escape '\\q' at byte 9"),
        (#"{"a":01}"#, "Leading zeros are not allowed at byte 6"),
    ])
    func failureDetail(_ text: String, _ expected: String) {
        do {
            _ = try JSONDocument(scanning: ByteBuffer(string: text))
            Issue.record("accepted \(text)")
        } catch {
            #expect(error.description == expected)
        }
        #expect((try? JSONParser.parse(Array(text.utf8))) == nil)
    }

    /// Valid documents whose mutants exercise every part of the grammar.
    static let seeds: [String] = [
        #"{"model":"gpt-4o","messages":[{"role":"user","content":"Hello \"there\" \u00e9\n"}],"temperature":0.7,"stream":true,"stop":null,"n":1}"#,
        #"[1,-2.5e+10,0.001,true,false,null,"a\\b",{"x":[[]],"y":{}},"\uD83D\uDE00"]"#,
        "{\"text\":\"漢字 and emoji 😀 and ascii text long enough to use the eight byte path\",\"k\":[0,1E2]}",
    ]

    @Test("agrees with the parser on a generated corpus of mutated documents")
    func agreesWithParser() {
        var generator = SeededGenerator(state: 14)
        let alphabet = Array(#"{}[]",:\/ubfnrtE.e+-0123456789 "#.utf8) + [0x00, 0x1F, 0x7F, 0x80, 0xC3, 0xA9, 0xED, 0xF0, 0xFF]
        var disagreements: [String] = []
        var accepted = 0
        for round in 0..<6000 {
            var bytes = Array(Self.seeds[round % Self.seeds.count].utf8)
            for _ in 0...Int.random(in: 0...2, using: &generator) {
                let position = Int.random(in: 0..<bytes.count, using: &generator)
                switch Int.random(in: 0..<3, using: &generator) {
                case 0: bytes.remove(at: position)
                case 1: bytes.insert(alphabet.randomElement(using: &generator)!, at: position)
                default: bytes[position] = alphabet.randomElement(using: &generator)!
                }
                if bytes.isEmpty { break }
            }
            let parsed = parses(bytes)
            if parsed { accepted += 1 }
            if parsed != scans(bytes) || parsed != scans(bytes, indexedDepth: 4) {
                disagreements.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
        // The corpus holds both outcomes in numbers.
        #expect(accepted > 300 && accepted < 5700, "accepted \(accepted)")
    }

    @Test("the index records members with their keys, kinds and byte ranges")
    func index() throws {
        let text = #" { "a" : 1, "b\u0021": [true, {"c": null}], "s": "x\"y", "a": -2 } "#
        let document = try JSONDocument(scanning: ByteBuffer(string: text), indexedDepth: 2)
        #expect(document.kind == .object)
        let members = Array(document.children(of: JSONDocument.root))
        #expect(members.map { document.key(of: $0) } == ["a", "b!", "s", "a"])
        #expect(members.map { document.entries[$0].kind } == [.number, .array, .string, .number])
        let bytes = Array(text.utf8)
        func source(of entry: Int) -> String { String(decoding: bytes[document.range(of: entry)], as: UTF8.self) }
        #expect(source(of: members[1]) == #"[true, {"c": null}]"#)
        #expect(source(of: members[2]) == #""x\"y""#)
        #expect(document.string(members[2]) == #"x"y"#)
        // The last of duplicate keys wins, as in the parser.
        #expect(document.member("a") == members[3])
        #expect(document.member("b!") == members[1])
        #expect(document.member("missing") == nil)
        #expect(document.duplicateMember() == members[3])
        // Depth 2 is indexed; the object inside the array is not.
        let elements = Array(document.children(of: members[1]))
        #expect(elements.count == 2)
        #expect(document.entries[members[1]].childrenIndexed)
        #expect(!document.entries[elements[1]].childrenIndexed)
        let inner = document.subdocument(elements[1])
        #expect(inner.member("c").map { inner.entries[$0].kind } == .null)
        #expect(document.value(members[1]) == [true, ["c": nil]])
    }

    @Test("escaped and plain spellings of a key are the same key")
    func escapedDuplicates() throws {
        let document = try JSONDocument(scanning: ByteBuffer(string: #"{"model":"a","mod\u0065l":"b"}"#))
        #expect(document.duplicateMember() != nil)
        #expect(document.member("model").flatMap(document.string) == "b")
        let many = "{" + (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + #","k7":0}"#
        #expect(try JSONDocument(scanning: ByteBuffer(string: many)).duplicateMember() != nil)
        let distinct = "{" + (0..<40).map { #""k\#($0)":\#($0)"# }.joined(separator: ",") + "}"
        #expect(try JSONDocument(scanning: ByteBuffer(string: distinct)).duplicateMember() == nil)
    }

    @Test("splicing replaces ranges and keeps every other byte")
    func splicing() throws {
        let document = try JSONDocument(scanning: ByteBuffer(string: #"{"model" : "a",  "x":[1]}"#))
        let model = try #require(document.member("model"))
        let out = document.splicing([(0..<0, ByteBuffer(string: "<")), (document.range(of: model), ByteBuffer(string: #""zz""#))])
        #expect(String(buffer: out) == #"<{"model" : "zz",  "x":[1]}"#)
    }

    @Test("a body read from the middle of a buffer is indexed relative to its reader index")
    func readerIndex() throws {
        var buffer = ByteBuffer(string: #"garbage{"model":"m"}"#)
        buffer.moveReaderIndex(forwardBy: 7)
        let document = try JSONDocument(scanning: buffer)
        let model = try #require(document.member("model"))
        #expect(document.string(model) == "m")
        #expect(String(buffer: document.replacingModel(with: "n", forcingUsage: false)!) == #"{"model":"n"}"#)
    }
}
