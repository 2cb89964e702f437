-- Responses of OpenAI's Responses API (`POST /v1/responses` with `store`), kept so that any node can
-- answer `GET /v1/responses/{id}` and continue a conversation from `previous_response_id`.
--   owner        the key that created it (its id; 'master' for the master key): only it may read,
--                continue or delete it
--   response     the response object as it was returned
--   input_items  this request's input items, with their ids, in order (`GET .../input_items`)
--   context      every item the model was given for this turn (earlier turns' inputs and outputs,
--                then this turn's input), so a continuation reads one row: context + output
--   expires_at   retention (`SCUTUM_RESPONSES_RETENTION_DAYS`): an expired response is gone for
--                every read, and deleted by the leader's sweep
CREATE TABLE responses (
    id           text PRIMARY KEY,
    owner        text NOT NULL,
    model        text NOT NULL,
    response     jsonb NOT NULL,
    input_items  jsonb NOT NULL,
    context      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);

CREATE INDEX responses_expires_at_idx ON responses (expires_at);
