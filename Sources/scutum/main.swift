import Foundation
import NIOCore
import NIOPosix

// Swift concurrency's global executor runs on NIO's event loops (unless SCUTUM_NIO_EXECUTOR=off),
// so a request's handler, its Redis replies and its provider call do not hop between a thread
// pool and the event loops. It must be installed before any task runs, hence here.
if ProcessInfo.processInfo.environment["SCUTUM_NIO_EXECUTOR"]?.lowercased() != "off" {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}
let command: () async -> Void = Scutum.main
await command()
