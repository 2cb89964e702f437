import Foundation
import ScutumCluster
import Testing

/// The invalidation kinds the Swift side knows mirror the kinds the SQL triggers send.
@Suite("Invalidation kinds")
struct InvalidationKindTests {
    /// Every kind a migration's trigger sends on `scutum_invalidate`.
    static func kindsInMigrations() throws -> Set<String> {
        let sql = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("sql")
        var kinds: Set<String> = []
        for name in try FileManager.default.contentsOfDirectory(atPath: sql.path) where name.hasSuffix(".sql") {
            let text = try String(contentsOf: sql.appendingPathComponent(name), encoding: .utf8)
            // scutum_notify_change('team') and json_build_object('kind', 'key', ...).
            for pattern in [#"scutum_notify_change\('([a-z_]+)'\)"#, #"'kind',\s*'([a-z_]+)'"#] {
                let regex = try NSRegularExpression(pattern: pattern)
                for match in regex.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                    if let range = Range(match.range(at: 1), in: text) { kinds.insert(String(text[range])) }
                }
            }
        }
        return kinds
    }

    @Test("every kind a SQL trigger sends is an InvalidationKind case, and every case is sent by some trigger")
    func mirrorsTriggers() throws {
        let sent = try Self.kindsInMigrations()
        #expect(sent.count >= 10, "found only \(sent.sorted()) in sql/")
        #expect(sent == Set(InvalidationKind.allCases.map(\.rawValue)),
            "triggers send \(sent.sorted()); the enum has \(InvalidationKind.allCases.map(\.rawValue).sorted())")
    }

    @Test("a payload decodes to its kind; one of a kind this node does not know does not decode (it is ignored)")
    func decoding() throws {
        let key = try JSONDecoder().decode(Invalidation.self, from: Data(#"{"kind":"key","key_hash":"abc"}"#.utf8))
        #expect(key == Invalidation(kind: .key, key_hash: "abc"))
        let execution = try JSONDecoder().decode(Invalidation.self, from: Data(#"{"kind":"workflow_execution"}"#.utf8))
        #expect(execution.kind == .workflowExecution)
        #expect((try? JSONDecoder().decode(Invalidation.self, from: Data(#"{"kind":"from_the_future"}"#.utf8))) == nil)
    }
}
