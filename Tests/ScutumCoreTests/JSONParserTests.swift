import Foundation
import NIOCore
import ScutumCore
import Testing

@Suite("JSON parser and writer")
struct JSONParserTests {
    static func parse(_ text: String) throws -> JSONValue {
        try JSONParser.parse(Array(text.utf8))
    }

    @Test("values of every kind")
    func values() throws {
        #expect(try Self.parse(#" {"a": [1, -2, 3.5, -0.25e2, 1E3, true, false, null], "b": {"c": ""}} "#) == [
            "a": [1, -2, 3.5, -25.0, 1000.0, true, false, nil], "b": ["c": ""],
        ])
        #expect(try Self.parse("9223372036854775807") == .int(Int64.max))
        #expect(try Self.parse("9223372036854775808") == .double(9223372036854775808))
        #expect(try Self.parse(#"{"k":1,"k":2}"#) == ["k": 2])
    }

    @Test("string escapes, including surrogate pairs, and raw UTF-8")
    func strings() throws {
        #expect(try Self.parse(#""a\"b\\c\/d\n\t\r\b\f""#) == .string("a\"b\\c/d\n\t\r\u{08}\u{0C}"))
        #expect(try Self.parse(#""\u00e9\u4e2d\ud83d\ude00""#) == .string("é中😀"))
        #expect(try Self.parse("\"héllo 😀\"") == .string("héllo 😀"))
    }

    @Test("invalid documents are refused with where and why", arguments: [
        ("", "Unexpected end of input"), ("{", "Unexpected end of input"), ("{1}", "Expected a string key"), ("{\"a\" 1}", "Expected ':'"),
        ("[1,]", "Unexpected character ']'"), ("[1 2]", "Expected ',' or ']'"), ("01", "Leading zeros"),
        ("1.", "Invalid number"), ("-", "Invalid number"), ("tru", "Unexpected end of input"), ("nul1", "Invalid literal"),
        ("\"abc", "Unterminated string"), ("\"a\u{01}\"", "Unescaped control character"), (#""\x""#, "Invalid escape"),
        (#""\ud83d""#, "Unpaired surrogate"), (#""\u12G4""#, "Invalid hex digit"), ("{} x", "Unexpected data after"),
        ("1e999", "Number out of range"),
    ])
    func invalid(text: String, reason: String) {
        do {
            _ = try Self.parse(text)
            Issue.record("accepted \(text)")
        } catch let error as JSONParser.Failure {
            #expect(error.reason.hasPrefix(reason) || error.reason.contains(reason), "\(error)")
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test("invalid UTF-8 inside a string is refused")
    func invalidUTF8() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0xFF]) }
    }

    @Test("nesting beyond the limit is refused without exhausting the stack")
    func depth() throws {
        let deep = String(repeating: "[", count: JSONParser.maximumDepth + 1) + String(repeating: "]", count: JSONParser.maximumDepth + 1)
        #expect(throws: JSONParser.Failure.self) { try Self.parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try Self.parse(fine).arrayValue != nil)
    }

    @Test("what the writer writes, the parser reads back; Foundation agrees on both")
    func roundTrip() throws {
        let value: JSONValue = ["text": "quote \" backslash \\ newline \n tab \t bell \u{07} é 😀", "n": [0, -1, 2.5, 1e-7],
            "nested": ["t": true, "f": false, "z": nil], "empty": [:], "list": []]
        let bytes = value.jsonBytes
        #expect(try JSONParser.parse(bytes.readableBytesView) == value)
        let foundation = try JSONSerialization.jsonObject(with: Data(bytes.readableBytesView)) as? [String: Any]
        #expect(foundation?["text"] as? String == value["text"]?.stringValue)
        #expect(String(buffer: JSONValue(dictionaryLiteral: ("b", 1), ("a", 2)).jsonBytes) == #"{"a":2,"b":1}"#)
    }
}
