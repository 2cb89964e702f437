import Crypto
import Foundation
import ScutumCore

/// Long-term or temporary AWS credentials.
public struct AWSCredentials: Sendable, Hashable, CustomStringConvertible {
    /// The access key id (`AKIA…` / `ASIA…`).
    public var accessKeyID: String
    /// The secret access key; only ever used as HMAC key material, never sent.
    public var secretAccessKey: String
    /// The session token of temporary (STS) credentials, sent as `X-Amz-Security-Token`.
    public var sessionToken: String?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
    }

    /// Names the key id only, so credentials can be logged without leaking the secret.
    public var description: String {
        "AWSCredentials(accessKeyID: \(accessKeyID), secretAccessKey: <redacted>, sessionToken: \(sessionToken == nil ? "none" : "<redacted>"))"
    }
}

/// Why a request could not be signed.
public enum AWSSigV4Error: Error, Sendable, Hashable, CustomStringConvertible {
    /// The URL is not absolute (`scheme://host[:port]/path?query`) or has no host.
    case invalidURL(String)

    public var description: String {
        switch self {
        case .invalidURL(let url): "cannot SigV4-sign a request to '\(url)': not an absolute URL with a host"
        }
    }
}

/// Signs HTTP requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256`, header form).
///
/// The canonical request follows the AWS specification: normalised and URI-encoded path,
/// sorted canonical query string, lower-cased/trimmed/sorted canonical headers including `host`,
/// the signed-headers list and the hex SHA-256 of the payload.
public struct AWSSigV4Signer: Sendable {
    /// The algorithm name that starts the string to sign and the `Authorization` header.
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// The payload hash to pass when the body is not signed (S3-style streaming).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// The hex SHA-256 of an empty body.
    public static let emptyPayloadHash = payloadHash([])

    /// The credentials that sign (and, with a session token, accompany) each request.
    public var credentials: AWSCredentials
    /// The signing region, e.g. `us-east-1`.
    public var region: String
    /// The signing service name, e.g. `bedrock` (also for `bedrock-runtime` endpoints).
    public var service: String
    /// Encode the request's (already percent-encoded) path a second time, as every service except
    /// S3 expects: a `%3A` in the URL becomes `%253A` in the canonical request. When `false` the
    /// path is percent-decoded first and encoded once (S3, and the generic AWS test suite).
    public var doubleEncodePath: Bool
    /// Remove `.`/`..` segments and collapse repeated slashes before encoding (all services but S3).
    public var normalizePath: Bool

    /// Creates a signer. The defaults (double encoding, normalised path) are right for every
    /// service except S3, which wants both `false`.
    public init(
        credentials: AWSCredentials,
        region: String,
        service: String,
        doubleEncodePath: Bool = true,
        normalizePath: Bool = true
    ) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.doubleEncodePath = doubleEncodePath
        self.normalizePath = normalizePath
    }

    /// Signs a request whose whole body is in memory.
    ///
    /// - Parameters:
    ///   - method: The HTTP method, e.g. `POST`.
    ///   - url: The absolute URL exactly as it will be requested (path percent-encoded, optional query).
    ///     The `Host` header the HTTP client sends must match it (port included unless default).
    ///   - headers: The headers that will be sent and must be signed (e.g. `Content-Type`). `Host` is
    ///     derived from the URL unless given here. Any `Authorization`, `X-Amz-Date`, and the
    ///     `X-Amz-Security-Token`/`x-amz-content-sha256` this signer adds, are ignored.
    ///   - body: The request body.
    ///   - date: The signing time; AWS rejects requests whose time is more than a few minutes off its clock.
    ///   - includeContentSHA256: Also add and sign `x-amz-content-sha256` (S3 needs it; Bedrock does not).
    /// - Returns: The headers to add to the request: `X-Amz-Date`, `x-amz-content-sha256` (if asked),
    ///   `X-Amz-Security-Token` (with temporary credentials) and `Authorization`.
    public func sign(
        method: String,
        url: String,
        headers: [(String, String)],
        body: [UInt8],
        date: Date,
        includeContentSHA256: Bool = false
    ) throws(AWSSigV4Error) -> [(String, String)] {
        try sign(
            method: method, url: url, headers: headers, payloadHash: Self.payloadHash(body),
            date: date, includeContentSHA256: includeContentSHA256)
    }

    /// Signs a request given the hex SHA-256 of its body (or ``unsignedPayload``).
    /// See ``sign(method:url:headers:body:date:includeContentSHA256:)`` for the parameters.
    public func sign(
        method: String,
        url: String,
        headers: [(String, String)],
        payloadHash: String,
        date: Date,
        includeContentSHA256: Bool = false
    ) throws(AWSSigV4Error) -> [(String, String)] {
        let request = try prepare(
            method: method, url: url, headers: headers, payloadHash: payloadHash,
            date: date, includeContentSHA256: includeContentSHA256)
        let signature = signature(stringToSign: stringToSign(canonicalRequest: request.canonical, date: date), date: date)
        let authorization = "\(Self.algorithm) Credential=\(credentials.accessKeyID)/\(credentialScope(date: date)), "
            + "SignedHeaders=\(request.signedHeaders), Signature=\(signature)"
        return request.added + [("Authorization", authorization)]
    }

    /// The canonical request that ``sign(method:url:headers:payloadHash:date:includeContentSHA256:)``
    /// signs for the same arguments (exposed for tests and debugging).
    public func canonicalRequest(
        method: String,
        url: String,
        headers: [(String, String)],
        payloadHash: String,
        date: Date,
        includeContentSHA256: Bool = false
    ) throws(AWSSigV4Error) -> String {
        try prepare(
            method: method, url: url, headers: headers, payloadHash: payloadHash,
            date: date, includeContentSHA256: includeContentSHA256
        ).canonical
    }

    /// The string to sign: algorithm, timestamp, credential scope and the hex SHA-256 of the canonical request.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        let stamp = AWSTimestamp(date)
        return "\(Self.algorithm)\n\(stamp.dateTime)\n\(credentialScope(date: date))\n"
            + Self.payloadHash(Array(canonicalRequest.utf8))
    }

    /// The hex HMAC-SHA256 of `stringToSign` under the key derived from the secret, date, region and service.
    public func signature(stringToSign: String, date: Date) -> String {
        var key = Array("AWS4\(credentials.secretAccessKey)".utf8)
        for part in [AWSTimestamp(date).date, region, service, "aws4_request"] {
            key = Self.hmac(key: key, message: part)
        }
        return Hex.lowercase(Self.hmac(key: key, message: stringToSign))
    }

    /// `yyyyMMdd/region/service/aws4_request`.
    public func credentialScope(date: Date) -> String {
        "\(AWSTimestamp(date).date)/\(region)/\(service)/aws4_request"
    }

    /// The lower-case hex SHA-256 of `body`, as used for the payload hash.
    public static func payloadHash(_ body: [UInt8]) -> String {
        Hex.lowercase(SHA256.hash(data: body))
    }

    // MARK: - Canonical request

    private struct Prepared {
        var canonical: String
        var signedHeaders: String
        var added: [(String, String)]
    }

    private func prepare(
        method: String,
        url: String,
        headers: [(String, String)],
        payloadHash: String,
        date: Date,
        includeContentSHA256: Bool
    ) throws(AWSSigV4Error) -> Prepared {
        let parsed = try AWSRequestURL(url)
        var added: [(String, String)] = [("X-Amz-Date", AWSTimestamp(date).dateTime)]
        if includeContentSHA256 { added.append(("x-amz-content-sha256", payloadHash)) }
        if let token = credentials.sessionToken { added.append(("X-Amz-Security-Token", token)) }

        var replaced: Set<String> = ["authorization"]
        for (name, _) in added { replaced.insert(name.lowercased()) }
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let name = name.trimmingCharacters(in: .whitespaces).lowercased()
            guard !replaced.contains(name) else { continue }
            values[name, default: []].append(Self.canonicalHeaderValue(value))
        }
        if values["host"] == nil { values["host"] = [parsed.hostHeader] }
        for (name, value) in added { values[name.lowercased(), default: []].append(value) }

        let names = values.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let canonicalHeaders = names.map { "\($0):\(values[$0, default: []].joined(separator: ","))\n" }.joined()
        let signedHeaders = names.joined(separator: ";")
        let canonical = [
            method.uppercased(),
            canonicalURI(parsed.path),
            Self.canonicalQuery(parsed.query),
            canonicalHeaders,
            signedHeaders,
            payloadHash,
        ].joined(separator: "\n")
        return Prepared(canonical: canonical, signedHeaders: signedHeaders, added: added)
    }

    /// Trims the value and collapses every run of whitespace (including folded line breaks) to one space.
    private static func canonicalHeaderValue(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" })
            .joined(separator: " ")
    }

    private func canonicalURI(_ path: Substring) -> String {
        let path = path.isEmpty ? "/" : path
        var segments = path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map { $0 }
        if normalizePath {
            let endsInDirectory = path.hasSuffix("/") || segments.last == "." || segments.last == ".."
            var kept: [Substring] = []
            for segment in segments {
                switch segment {
                case "", ".": continue
                case "..": _ = kept.popLast()
                default: kept.append(segment)
                }
            }
            if endsInDirectory, !kept.isEmpty { kept.append("") }
            segments = kept
        }
        let encoded = segments.map { segment in
            doubleEncodePath ? PercentEncoding.encode(segment.utf8) : PercentEncoding.encode(awsPercentDecode(segment))
        }
        return "/" + encoded.joined(separator: "/")
    }

    /// `key=value` pairs, each side percent-decoded then URI-encoded, sorted by key then value.
    private static func canonicalQuery(_ query: Substring?) -> String {
        guard let query, !query.isEmpty else { return "" }
        let pairs = query.split(separator: "&").map { pair -> (String, String) in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = PercentEncoding.encode(awsPercentDecode(parts[0]))
            let value = parts.count > 1 ? PercentEncoding.encode(awsPercentDecode(parts[1])) : ""
            return (key, value)
        }
        return pairs.sorted { lhs, rhs in
            lhs.0 == rhs.0
                ? lhs.1.utf8.lexicographicallyPrecedes(rhs.1.utf8)
                : lhs.0.utf8.lexicographicallyPrecedes(rhs.0.utf8)
        }
        .map { "\($0.0)=\($0.1)" }
        .joined(separator: "&")
    }

    private static func hmac(key: [UInt8], message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }
}

// MARK: - Helpers (file-private so they cannot clash with the host module)

/// The pieces of an absolute request URL that SigV4 needs, split without Foundation's URL so that
/// the path is taken exactly as it will be sent.
private struct AWSRequestURL {
    var hostHeader: String
    var path: Substring
    var query: Substring?

    init(_ url: String) throws(AWSSigV4Error) {
        guard let separator = url.range(of: "://") else { throw .invalidURL(url) }
        let scheme = url[..<separator.lowerBound].lowercased()
        let rest = url[separator.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        guard !authority.isEmpty, !scheme.isEmpty else { throw .invalidURL(url) }

        // Split off the port; an IPv6 literal keeps its brackets.
        var host = authority
        var port: Substring?
        if let colon = authority.lastIndex(of: ":"), !authority[colon...].contains("]") {
            host = authority[..<colon]
            port = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw .invalidURL(url) }
        let defaultPort = ["https": "443", "http": "80"][scheme]
        hostHeader = host.lowercased()
        if let port, !port.isEmpty, String(port) != defaultPort { hostHeader += ":\(port)" }

        var remainder = rest[authorityEnd...]
        if let hash = remainder.firstIndex(of: "#") { remainder = remainder[..<hash] }
        if let question = remainder.firstIndex(of: "?") {
            path = remainder[..<question]
            query = remainder[remainder.index(after: question)...]
        } else {
            path = remainder
            query = nil
        }
    }
}

/// `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd` in UTC, computed without a formatter.
private struct AWSTimestamp {
    var date: String
    var dateTime: String

    init(_ instant: Date) {
        let seconds = Int64(instant.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = seconds.quotientAndRemainder(dividingBy: 86_400)
        let (day, dayOffset) = secondOfDay < 0 ? (days - 1, secondOfDay + 86_400) : (days, secondOfDay)
        // Civil-from-days (H. Hinnant), proleptic Gregorian calendar.
        let z = day + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let dayOfMonth = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        date = pad(year, 4) + pad(month, 2) + pad(dayOfMonth, 2)
        dateTime = date + "T" + pad(dayOffset / 3_600, 2) + pad(dayOffset % 3_600 / 60, 2) + pad(dayOffset % 60, 2) + "Z"
    }
}

/// The bytes of `text` with each valid `%XX` replaced by its byte; malformed escapes are kept as they are.
private func awsPercentDecode(_ text: Substring) -> [UInt8] {
    func nibble(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    let bytes = Array(text.utf8)
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count)
    var index = 0
    while index < bytes.count {
        if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count,
            let high = nibble(bytes[index + 1]), let low = nibble(bytes[index + 2])
        {
            out.append(high << 4 | low)
            index += 3
        } else {
            out.append(bytes[index])
            index += 1
        }
    }
    return out
}
