import ScutumCore

/// A workflow definition (or part of one) that does not validate; every problem found.
public struct WorkflowValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var problems: [FieldProblem]

    public init(_ problems: [FieldProblem]) {
        self.problems = problems
    }

    public var description: String { problems.map(\.description).joined(separator: "; ") }
}
