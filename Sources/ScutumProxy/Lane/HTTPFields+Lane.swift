import HTTPTypes

extension HTTPFields {
    /// The value of `name` as the subscript gives it (repeated fields joined with ", "; not for
    /// `Cookie`), without the subscript's generic lazy join, which builds a new string even for the
    /// one value a header usually has: the lane reads a few headers of every request.
    func laneValue(_ name: HTTPField.Name) -> String? {
        var found: String?
        for field in self where field.name == name {
            found = found.map { $0 + ", " + field.value } ?? field.value
        }
        return found
    }
}
