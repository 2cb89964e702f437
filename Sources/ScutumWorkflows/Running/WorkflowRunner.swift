import Foundation
import Logging
import ScutumCore
import ScutumStore
import Synchronization

/// Runs workflow executions on the leader: claims queued (and orphaned) executions under the
/// leader's fence, runs their steps one at a time with a checkpoint after each, and resumes an
/// execution another leader started after its last completed step.
///
/// At most `concurrency` executions run at once; each step is bounded by its node's
/// `timeout_seconds`, else `stepTimeout`. A write refused by the fence (`FencedOut`) means this
/// node no longer leads: it stops and leaves the execution to the new leader.
///
/// `Caller` is who `llm` steps run as (the proxy's principal): the runner resolves it once per
/// execution from the key that queued it, and hands it to `complete` for each `llm` step.
public struct WorkflowRunner<Caller: Sendable>: Sendable {
    let executions: WorkflowExecutionStore
    /// The caller for the key id that queued an execution (nil: an operator, with the master key);
    /// throws `WorkflowRunError` when that key is gone or blocked.
    let caller: @Sendable (_ keyID: String?) async throws -> Caller
    /// Runs one chat completion (`body` is its OpenAI request) as `caller`.
    let complete: @Sendable (_ body: JSONValue, _ caller: Caller) async throws -> Completion
    /// Calls `tool` on the registered MCP server named `server`.
    let callTool: @Sendable (_ server: String, _ tool: String, _ arguments: JSONValue) async throws -> JSONValue
    let concurrency: Int
    let stepTimeout: Duration
    let wakeUps: WakeUps
    let logger: Logger

    public init(executions: WorkflowExecutionStore,
        caller: @escaping @Sendable (_ keyID: String?) async throws -> Caller,
        complete: @escaping @Sendable (_ body: JSONValue, _ caller: Caller) async throws -> Completion,
        callTool: @escaping @Sendable (_ server: String, _ tool: String, _ arguments: JSONValue) async throws -> JSONValue,
        concurrency: Int, stepTimeout: Duration, wakeUps: WakeUps, logger: Logger)
    {
        self.executions = executions
        self.caller = caller
        self.complete = complete
        self.callTool = callTool
        self.concurrency = concurrency
        self.stepTimeout = stepTimeout
        self.wakeUps = wakeUps
        self.logger = logger
    }

    /// What an `llm` step's completion answered.
    public struct Completion: Sendable {
        public var text: String
        public var usage: TokenUsage?
        public var cost: Double

        public init(text: String, usage: TokenUsage?, cost: Double) {
            self.text = text
            self.usage = usage
            self.cost = cost
        }
    }

    /// What a step produced.
    struct Outcome: Sendable {
        var output: JSONValue
        var inputTokens = 0
        var outputTokens = 0
        var cost = 0.0
    }

    /// Claims and runs executions until cancelled (leadership lost, or shutdown).
    public func run(fence: LeaderFence) async {
        let running = RunningExecutions()
        await withTaskGroup(of: Void.self) { group in
            while !Task.isCancelled {
                let free = concurrency - running.count
                if free > 0 {
                    do {
                        for claimed in try await executions.claim(fence: fence, limit: free) {
                            let id = claimed.execution.id
                            guard running.insert(id) else { continue }
                            group.addTask {
                                await execute(claimed, fence: fence)
                                running.remove(id)
                                wakeUps.wake()
                            }
                        }
                    } catch is FencedOut {
                        logger.warning("workflow runner stopped: fenced, this node is no longer the leader")
                        break
                    } catch {
                        logger.warning("could not claim workflow executions",
                            metadata: ["error": "\(String(reflecting: error))"])
                    }
                }
                await wakeUps.wait(atMost: .seconds(1))
            }
            group.cancelAll()
        }
    }

    /// Runs one claimed execution from where it stands to its end.
    func execute(_ claimed: ClaimedExecution, fence: LeaderFence) async {
        let id = claimed.execution.id
        let metadata: Logger.Metadata = ["execution": "\(id)", "workflow": "\(claimed.execution.workflowName)"]
        do {
            let graph = try claimed.graph()
            let planner = WorkflowPlanner(graph: graph)
            var context = claimed.context
            var visits = claimed.visits
            var order = claimed.nextStepOrder
            var node: String?
            if let last = claimed.lastCompletedNode {
                logger.info("resuming workflow execution after its last completed step",
                    metadata: metadata.merging(["completed_steps": "\(claimed.completedSteps.count)", "after": "\(last)"]) { $1 })
                node = try planner.next(after: last, context: context, visits: visits)
            } else {
                node = planner.entryPoint
            }
            let principal = try await caller(claimed.execution.keyID)
            while let current = node {
                try Task.checkCancellation()
                guard order < WorkflowPlanner.maximumSteps else {
                    throw WorkflowRunError("the execution ran \(WorkflowPlanner.maximumSteps) steps without reaching an end node")
                }
                let input = try planner.input(for: current, context: context)
                try await executions.startStep(fence: fence, execution: id, node: current, order: order, input: input.json)
                let started = ContinuousClock.now
                let outcome: Outcome
                do {
                    let timeout = graph.node(current)?.timeout ?? stepTimeout
                    outcome = try await withDeadline(timeout) { try await perform(input, as: principal) }
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    let message = error is DeadlineExceeded
                        ? "step '\(current)' took longer than its timeout" : "step '\(current)' failed: \(Self.describe(error))"
                    try await executions.failStep(fence: fence, execution: id, order: order, error: message,
                        durationMS: Self.milliseconds(since: started))
                    throw WorkflowRunError(message)
                }
                let status = try await executions.completeStep(fence: fence, execution: id, order: order,
                    output: outcome.output, inputTokens: outcome.inputTokens, outputTokens: outcome.outputTokens,
                    cost: outcome.cost, durationMS: Self.milliseconds(since: started))
                guard status == .running else {
                    logger.info("workflow execution was cancelled", metadata: metadata)
                    return
                }
                context.record(node: current, output: outcome.output)
                visits[current, default: 0] += 1
                order += 1
                node = try planner.next(after: current, context: context, visits: visits)
            }
            try await executions.finish(fence: fence, execution: id, status: .completed, output: context.last)
            logger.info("workflow execution completed", metadata: metadata)
        } catch let error as FencedOut {
            logger.warning("fenced: workflow execution left to the new leader", metadata: metadata.merging(["fence": "\(error.fence)"]) { $1 })
        } catch is CancellationError {
            // Leadership lost or shutting down: the next leader resumes after the last checkpoint.
            logger.info("workflow execution interrupted; the next leader resumes it", metadata: metadata)
            _ = try? await executions.release(fence: fence, execution: id)
        } catch WorkflowExecutionError.finished {
            logger.info("workflow execution ended elsewhere (cancelled)", metadata: metadata)
        } catch {
            logger.warning("workflow execution failed", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            do {
                try await executions.finish(fence: fence, execution: id, status: .failed, error: Self.describe(error))
            } catch {
                logger.warning("could not record the failure", metadata: metadata.merging(["error": "\(error)"]) { $1 })
            }
        }
    }

    /// Carries out one step.
    func perform(_ input: WorkflowStepInput, as principal: Caller) async throws -> Outcome {
        switch input {
        case .llm:
            guard let body = input.requestBody else { throw WorkflowRunError("the llm step has no request") }
            let answer = try await complete(body, principal)
            return Outcome(output: .string(answer.text), inputTokens: answer.usage?.promptTokens ?? 0,
                outputTokens: answer.usage?.completionTokens ?? 0, cost: answer.cost)
        case .tool(let server, let tool, let arguments):
            return Outcome(output: try await callTool(server, tool, arguments))
        case .router(let value):
            return Outcome(output: value)
        case .transform(let output):
            return Outcome(output: output)
        }
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? GatewayError { return "\(error.status) \(error.code ?? error.type): \(error.message)" }
        return "\(error)"
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int {
        let elapsed = ContinuousClock.now - start
        return Int(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// The executions this runner works on now.
final class RunningExecutions: Sendable {
    private let ids = Mutex<Set<UUID>>([])

    var count: Int { ids.withLock { $0.count } }
    func insert(_ id: UUID) -> Bool { ids.withLock { $0.insert(id).inserted } }
    func remove(_ id: UUID) { _ = ids.withLock { $0.remove(id) } }
}

/// A workflow failure with its reason.
public struct WorkflowRunError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Wakes the runner early: a new execution was queued (NOTIFY) or a slot came free. The runner
/// checks for a wake-up every 50 ms while it waits, which is cheap and only happens on the leader.
public final class WakeUps: Sendable {
    private let pending = Mutex(false)

    public init() {}

    public func wake() {
        pending.withLock { $0 = true }
    }

    /// Returns soon after a wake-up (or at once for one that came since the last wait), or after `limit`.
    public func wait(atMost limit: Duration) async {
        let deadline = ContinuousClock.now + limit
        while ContinuousClock.now < deadline {
            if pending.withLock({ state in defer { state = false }; return state }) { return }
            do { try await Task.sleep(for: .milliseconds(50)) } catch { return }
        }
    }
}
