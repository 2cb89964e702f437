import Foundation
import HTTPTypes
import Hummingbird

/// AWS Bedrock's runtime routes (`POST /model/{modelId}/converse|converse-stream|invoke|
/// invoke-with-response-stream`; InvokeModel for Claude takes Anthropic's Messages body), behind
/// a SigV4-shaped `Authorization` header. The signature itself is not verified (the mock has no
/// secret key); its form, the credential scope and the clock skew are.
enum BedrockRuntime {
    static let signatureMismatch = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    /// Largest accepted clock skew of `X-Amz-Date`.
    static let skew: TimeInterval = 15 * 60

    static func register(on router: Router<BasicRequestContext>, knobs: MockKnobs, log: MockRequestLog?) {
        router.post("/model/{modelId}/converse") { request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            if let failure = authenticate(request.headers) { return failure }
            return try await BedrockConverse.serve(bytes, stream: false, knobs: knobs)
        }
        router.post("/model/{modelId}/converse-stream") { request, _ in
            let bytes = try await MockUpstream.record(request, log: log)
            if let failure = authenticate(request.headers) { return failure }
            return try await BedrockConverse.serve(bytes, stream: true, knobs: knobs)
        }
        router.post("/model/{modelId}/invoke") { request, context in
            let bytes = try await MockUpstream.record(request, log: log)
            if let failure = authenticate(request.headers) { return failure }
            let modelID = MockUpstream.pathParameter(context, "modelId")
            if modelID.contains("anthropic.claude") {
                return try await AnthropicMessages.serve(bytes, knobs: knobs, pathModel: modelID, bedrock: true)
            }
            return try await BedrockEmbeddings.invoke(bytes, modelID: modelID, knobs: knobs)
        }
        router.post("/model/{modelId}/invoke-with-response-stream") { request, context in
            let bytes = try await MockUpstream.record(request, log: log)
            if let failure = authenticate(request.headers) { return failure }
            let modelID = MockUpstream.pathParameter(context, "modelId")
            guard modelID.contains("anthropic.claude") else {
                return ProviderErrors.bedrock(status: 400, type: "ValidationException",
                    message: "The model \(modelID) does not support streaming through InvokeModelWithResponseStream here.")
            }
            return try await AnthropicMessages.serve(bytes, knobs: knobs, pathModel: modelID, bedrock: true, bedrockStream: true)
        }
    }

    /// Nil when `Authorization` and `X-Amz-Date` look like a valid SigV4 signature for Bedrock
    /// made within 15 minutes of now; otherwise AWS's 403.
    static func authenticate(_ headers: HTTPFields, now: Date = Date()) -> Response? {
        func deny(_ type: String, _ message: String) -> Response {
            ProviderErrors.bedrock(status: 403, type: type, message: message, namespace: ProviderErrors.coralNamespace)
        }
        guard let authorization = headers[.authorization], !authorization.isEmpty else {
            return deny("MissingAuthenticationTokenException", "Missing Authentication Token")
        }
        let prefix = "AWS4-HMAC-SHA256 "
        guard authorization.hasPrefix(prefix) else { return deny("InvalidSignatureException", signatureMismatch) }
        var parameters: [String: String] = [:]
        for item in authorization.dropFirst(prefix.count).split(separator: ",") {
            let pair = item.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { parameters[pair[0]] = pair[1] }
        }
        guard let credential = parameters["Credential"], let signedHeaders = parameters["SignedHeaders"],
            let signature = parameters["Signature"]
        else {
            return deny("IncompleteSignatureException",
                "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters. Authorization=\(authorization)")
        }
        let scope = credential.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard scope.count == 5 else { return deny("InvalidSignatureException", signatureMismatch) }
        guard scope[0].count >= 16, scope[0].allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber) }) else {
            return deny("UnrecognizedClientException", "The security token included in the request is invalid.")
        }
        let signed = signedHeaders.split(separator: ";")
        guard scope[1].count == 8, scope[1].allSatisfy(\.isNumber), !scope[2].isEmpty, scope[3] == "bedrock",
            scope[4] == "aws4_request", signed.contains("host"), signed.contains("x-amz-date"),
            signature.count == 64, signature.allSatisfy(\.isHexDigit)
        else {
            return deny("InvalidSignatureException", signatureMismatch)
        }
        guard let amzDate = headers[HTTPField.Name("x-amz-date")!], let date = parseAmzDate(amzDate) else {
            return deny("IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=\(authorization)")
        }
        guard scope[1] == amzDate.prefix(8) else {
            return deny("InvalidSignatureException", "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '\(scope[1])' != '\(amzDate.prefix(8))', from '\(amzDate)'.")
        }
        if date < now.addingTimeInterval(-skew) {
            return deny("InvalidSignatureException", "Signature expired: \(amzDate) is now earlier than \(formatAmzDate(now.addingTimeInterval(-skew))) (\(formatAmzDate(now)) - 15 min.)")
        }
        if date > now.addingTimeInterval(skew) {
            return deny("InvalidSignatureException", "Signature not yet current: \(amzDate) is still later than \(formatAmzDate(now.addingTimeInterval(skew))) (\(formatAmzDate(now)) + 15 min.)")
        }
        return nil
    }

    static func amzDateFormatter() -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter
    }

    /// `20250101T120000Z` as a date.
    static func parseAmzDate(_ text: String) -> Date? {
        text.count == 16 ? amzDateFormatter().date(from: text) : nil
    }

    static func formatAmzDate(_ date: Date) -> String { amzDateFormatter().string(from: date) }
}
