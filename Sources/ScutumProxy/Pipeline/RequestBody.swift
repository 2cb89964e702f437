import Hummingbird
import NIOCore
import ScutumCore

extension Request {
    /// The whole body, refusing more than `limit` bytes with a 413 before reading it when the
    /// client declared its length, and as soon as the limit is crossed otherwise.
    func collectBody(limit: Int) async throws -> ByteBuffer {
        if let length = headers[.contentLength].flatMap(Int.init), length > limit {
            throw GatewayError.requestTooLarge(limit: limit)
        }
        do {
            return try await body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw GatewayError.requestTooLarge(limit: limit)
        }
    }
}
