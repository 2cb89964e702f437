import Foundation
import ScutumCore
import Testing

@Suite("Random ids")
struct UUIDWireTests {
    @Test("randomWire is a lowercase version-4 UUID that Foundation reads back as the same id")
    func randomWire() throws {
        var seen = Set<String>()
        for _ in 0..<2_000 {
            let id = UUID.randomWire()
            #expect(id.utf8.count == 36)
            let parsed = try #require(UUID(uuidString: id), "\(id) is not a UUID")
            #expect(parsed.wire == id)
            let bytes = parsed.uuid
            #expect(bytes.6 >> 4 == 4, "version nibble of \(id)")
            #expect(bytes.8 >> 6 == 0b10, "variant bits of \(id)")
            #expect(id.allSatisfy { $0 == "-" || $0.isHexDigit && !$0.isUppercase })
            seen.insert(id)
        }
        #expect(seen.count == 2_000)
    }
}
