import Foundation
import _CryptoExtras

/// A throwaway Google service account for the demo: a fresh RSA key and the mock's token endpoint,
/// so Vertex AI requests go through the real JWT exchange against the bundled mock.
public enum DemoServiceAccount {
    /// The key file's JSON; nil only if the system cannot generate an RSA key.
    public static func json(tokenURI: String) -> String? {
        guard let key = try? _RSA.Signing.PrivateKey(keySize: .bits2048) else { return nil }
        let fields: [String: String] = [
            "type": "service_account",
            "project_id": "scutum-demo",
            "private_key_id": "scutum-demo-key",
            "private_key": key.pemRepresentation,
            "client_email": "scutum-demo@scutum-demo.iam.gserviceaccount.com",
            "token_uri": tokenURI,
        ]
        guard let data = try? JSONSerialization.data(withJSONObject: fields) else { return nil }
        return String(decoding: data, as: UTF8.self)
    }
}
