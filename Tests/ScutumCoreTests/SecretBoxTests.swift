import ScutumCore
import Testing

@Suite("Secrets sealed for storage")
struct SecretBoxTests {
    @Test("a sealed secret opens with the same key material only, and differs every time")
    func roundTrip() throws {
        let box = SecretBox(material: Array("node-shared-master-key-0123456789".utf8))
        let sealed = try box.seal("sk-live-secret")
        #expect(SecretBox.isSealed(sealed) && !sealed.contains("sk-live-secret"))
        #expect(try box.seal("sk-live-secret") != sealed, "a fresh nonce each time")
        #expect(try box.open(sealed) == "sk-live-secret")
        #expect(try SecretBox(material: Array("node-shared-master-key-0123456789".utf8)).open(sealed) == "sk-live-secret")
        #expect(throws: (any Error).self) { try SecretBox(material: Array("another-key-entirely-0123456789".utf8)).open(sealed) }
        #expect(throws: SecretBoxError.self) { try box.open("enc:v1:not base64!") }
        // Values stored before encryption was on are read as they are.
        #expect(try box.open("plain-value") == "plain-value")
    }
}
