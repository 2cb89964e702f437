/// The gateway's front doors: the names a request's spend row, its `/metrics` series and the Admin
/// API's `endpoint` filter give the door it came in by (the request path; `workflow` for workflow steps).
public enum FrontDoor {
    /// `POST /v1/chat/completions`, through the router or the direct lane.
    public static let chat = "/v1/chat/completions"
    /// `POST /v1/embeddings`.
    public static let embeddings = "/v1/embeddings"
    /// `POST /v1/messages` (Anthropic's Messages API).
    public static let messages = "/v1/messages"
    /// `POST /v1/responses` (OpenAI's Responses API).
    public static let responses = "/v1/responses"
    /// A workflow's `llm` step (no HTTP request of its own).
    public static let workflow = "workflow"

    /// Every front door, in the order reports list them.
    public static let all = [chat, embeddings, messages, responses, workflow]
}
