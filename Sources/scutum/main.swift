import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

// With SCUTUM_NIO_EXECUTOR=on, Swift concurrency's global executor runs on NIO's event loops, so a
// request's handler, its Redis replies and its provider call do not hop between a thread pool and
// the event loops. Off by default: measured side by side (`make bench`), it gave the same throughput
// and time to first byte within noise but a worse p99 under load (c=32: 22.5 ms against 8.8 ms).
// It must be installed before any task runs, hence here.
if ProcessInfo.processInfo.environment["SCUTUM_NIO_EXECUTOR"]?.lowercased() == "on" {
    _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
}

// What `AsyncParsableCommand.main()` does, spelled out: that name also matches the synchronous
// `ParsableCommand.main()`, which would not run async subcommands.
/// Parses the command line and runs the command, async ones awaited.
func runCommand() async {
    do {
        var command = try Scutum.parseAsRoot()
        if var asynchronous = command as? any AsyncParsableCommand {
            try await asynchronous.run()
        } else {
            try command.run()
        }
    } catch {
        Scutum.exit(withError: error)
    }
}

await runCommand()
