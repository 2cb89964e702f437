import Foundation
import Logging
import ScutumNode
import Synchronization
import Testing

@Suite("JSON logs")
struct JSONLogTests {
    @Test("one JSON object per line: time, level, label, message, source and metadata (nested kept as JSON)")
    func lines() throws {
        let lines = Mutex<[[UInt8]]>([])
        var logger = Logger(label: "scutum.test") { label in
            JSONLogHandler(label: label) { line in lines.withLock { $0.append(line) } }
        }
        logger[metadataKey: "node"] = "n1"
        logger.info("stream \"blocked\"", metadata: ["request_id": "req-1", "findings": ["a", "b"], "n": "\(3)"])
        logger.debug("below the level")
        let written = lines.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.last == 0x0A && !line.dropLast().contains(0x0A))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line)) as? [String: Any])
        #expect(object["message"] as? String == "stream \"blocked\"" && object["level"] as? String == "info")
        #expect(object["label"] as? String == "scutum.test" && object["node"] as? String == "n1")
        #expect(object["request_id"] as? String == "req-1" && object["findings"] as? [String] == ["a", "b"])
        #expect((object["ts"] as? String)?.hasSuffix("Z") == true)
    }
}
