import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import ScutumCore
import Synchronization
import _NIOFileSystem

/// Vertex AI endpoints and their access tokens: one token provider per service account, created
/// on first use from the key file (read without blocking) or inline JSON, then shared by every
/// request on this node so each account exchanges one JWT per token lifetime.
public final class VertexAuthenticator: Sendable {
    let http: UpstreamHTTP
    private let providers = Mutex<[String: Task<GoogleAccessTokenProvider, any Error>]>([:])

    public init(http: UpstreamHTTP) {
        self.http = http
    }

    /// The URL of `method` on a publisher's model, and a current access token.
    ///
    /// Credentials: `extra.credentials_file` (a service-account key file) or `extra.credentials_json`,
    /// `extra.project` (defaults to the key's project), `extra.location` (default `us-central1`),
    /// and optionally `api_base` to replace `https://{location}-aiplatform.googleapis.com`.
    func endpoint(publisher: String, model: String, method: String, credentials: ProviderCredentials)
        async throws(ProviderError) -> (url: String, token: String)
    {
        let provider = try await provider(for: credentials)
        let token: String
        do {
            token = try await provider.token()
        } catch let error as GoogleAuthError {
            switch error {
            case .tokenRequestFailed(let status, let message) where status < 500:
                throw ProviderError(.status(401), "Google refused the service account's token request: \(message)")
            case .tokenRequestFailed(let status, let message):
                throw ProviderError(.status(status), "Google's token endpoint failed: \(message)")
            default:
                throw ProviderError(.status(401), "could not get a Vertex AI access token: \(error)")
            }
        } catch {
            throw UpstreamHTTP.providerError(for: error)
        }
        let location = credentials.extra["location"] ?? "us-central1"
        let project = credentials.extra["project"] ?? provider.account.projectID
        let base = credentials.apiBase
            ?? (location == "global" ? "https://aiplatform.googleapis.com" : "https://\(location)-aiplatform.googleapis.com")
        let path = "v1/projects/\(URLPath.segment(project))/locations/\(URLPath.segment(location))"
            + "/publishers/\(publisher)/models/\(URLPath.segment(model, also: [UInt8(ascii: "@")])):\(method)"
        return (URLPath.join(base, path), token)
    }

    /// The token provider for these credentials, loading the service account once.
    func provider(for credentials: ProviderCredentials) async throws(ProviderError) -> GoogleAccessTokenProvider {
        let key = credentials.extra["credentials_json"].map { "json:" + SHA256.hash(data: Array($0.utf8)).description }
            ?? "file:\(credentials.extra["credentials_file"] ?? "")"
        let task = providers.withLock { providers in
            if let existing = providers[key] { return existing }
            let task = Task { [http] in
                let json = try await Self.serviceAccountJSON(credentials)
                let account = try GoogleServiceAccount(json: json)
                return GoogleAccessTokenProvider(account: account) { exchange in
                    try await Self.send(exchange, with: http)
                }
            }
            providers[key] = task
            return task
        }
        do {
            return try await task.value
        } catch {
            providers.withLock { _ = $0.removeValue(forKey: key) }
            throw ProviderError(.status(401), "the Vertex AI service account is unusable: \(error)")
        }
    }

    static func serviceAccountJSON(_ credentials: ProviderCredentials) async throws -> [UInt8] {
        if let inline = credentials.extra["credentials_json"] { return Array(inline.utf8) }
        guard let path = credentials.extra["credentials_file"] else {
            throw GoogleAuthError.invalidServiceAccount("set VERTEX_CREDENTIALS_FILE to a service-account key file")
        }
        let bytes = try await FileSystem.shared.withFileHandle(forReadingAt: FilePath(path)) { handle in
            try await handle.readToEnd(maximumSizeAllowed: .mebibytes(1))
        }
        return Array(bytes.readableBytesView)
    }

    /// Performs the OAuth token exchange over the gateway's HTTP client.
    static func send(_ exchange: GoogleAccessTokenProvider.TokenExchange, with http: UpstreamHTTP) async throws
        -> (status: Int, body: [UInt8])
    {
        var request = HTTPClientRequest(url: exchange.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: exchange.contentType)
        request.headers.add(name: "Accept", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: exchange.body))
        let response = try await http.client.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 256 * 1024)
        return (Int(response.status.code), Array(body.readableBytesView))
    }
}
