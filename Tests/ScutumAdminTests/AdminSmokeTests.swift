import Testing

@testable import ScutumAdmin

@Suite("Admin API placeholder")
struct AdminSmokeTests {
    @Test("configuration defaults: port 8086, 1 MB bodies, 8 h tokens")
    func defaults() {
        let configuration = AdminConfiguration()
        #expect(configuration.port == 8086)
        #expect(configuration.maximumBodyBytes == 1024 * 1024)
        #expect(configuration.tokenLifetime == .seconds(28800))
    }
}
