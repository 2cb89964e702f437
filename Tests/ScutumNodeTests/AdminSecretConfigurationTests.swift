import Foundation
import ScutumCore
import ScutumNode
import ScutumTestSupport
import Testing

/// `JWT_SECRET_KEY`: a node serving the Admin API signs tokens with a secret nobody else knows, or
/// does not start.
@Suite("Admin token secret configuration")
struct AdminSecretConfigurationTests {
    static let masterKey = "sk-test-master-key-0123456789abcdef"

    @Test("neither JWT_SECRET_KEY nor a master key: the node refuses to start, naming the variable")
    func refusedWithoutSecret() async throws {
        let configuration = try ConsoleConfigurationTests.configuration([:])
        #expect(configuration.jwtSecret == nil)
        do {
            let catalog = ModelCatalog(deployments: [], credentials: [:], supportedKinds: [])
            let node = try GatewayNode(configuration: configuration, catalog: catalog, logger: TestEnvironment.logger)
            Issue.record("a node without an admin token secret was built")
            try await node.http.shutdown()
        } catch {
            let message = "\(error)"
            #expect(message.contains("JWT_SECRET_KEY") && message.contains("SCUTUM_API_KEY"), "\(message)")
            #expect(message.contains("SCUTUM_ADMIN_ENABLED=false"), "\(message)")
        }
        // Without the Admin API no secret is needed.
        let proxyOnly = try ConsoleConfigurationTests.configuration(["SCUTUM_ADMIN_ENABLED": "false"])
        #expect(proxyOnly.admin == nil)
    }

    @Test("JWT_SECRET_KEY must hold at least 32 bytes; a master key alone derives a secret of its own")
    func secretSources() throws {
        #expect {
            try ConsoleConfigurationTests.configuration(["JWT_SECRET_KEY": String(repeating: "s", count: 31)])
        } throws: { error in
            "\(error)".contains("JWT_SECRET_KEY")
        }
        let explicit = String(repeating: "s", count: 32)
        let withSecret = try ConsoleConfigurationTests.configuration(["JWT_SECRET_KEY": explicit])
        #expect(try withSecret.adminTokenSecret() == Array(explicit.utf8))

        let fromMaster = try ConsoleConfigurationTests.configuration(["SCUTUM_API_KEY": Self.masterKey])
        let derived = try fromMaster.adminTokenSecret()
        #expect(derived.count == 32 && derived != Array(Self.masterKey.utf8))
        let otherMaster = try ConsoleConfigurationTests.configuration(["SCUTUM_API_KEY": Self.masterKey + "x"])
        #expect(try otherMaster.adminTokenSecret() != derived)
    }
}
