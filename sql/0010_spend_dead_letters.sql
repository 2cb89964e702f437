-- Spend records PostgreSQL refused for their data (a value out of range, say): the writer isolates
-- such a record from its batch and moves it here, so it is kept for an operator and blocks nothing.
-- `record` is the record's JSON as text (NUL removed), `error` what PostgreSQL answered. Keyed by
-- request id, so a batch replayed after a crash does not store its refused record twice.
CREATE TABLE spend_dead_letters (
    request_id  text PRIMARY KEY,
    record      text NOT NULL,
    error       text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX spend_dead_letters_at_idx ON spend_dead_letters (at);
