-- Alerts: what the leader's monitor detected (budgets, expiring keys, breakers, nodes cut off from
-- Redis or PostgreSQL, leader changes) and how its webhook delivery went.

-- One row per alert. `dedup_key` names the event (a budget's period, a key's expiry, a breaker's
-- episode, an outage's start, a leader's term), so a condition seen on every monitor pass, or by
-- the next leader, is recorded once. Delivery state: `pending` (to send at `next_attempt_at`),
-- `delivered`, `failed` (gave up after the last attempt) or `not_sent` (no webhook, or its kind
-- is not one the settings send).
CREATE TABLE alerts (
    id              bigserial PRIMARY KEY,
    kind            text NOT NULL,
    subject         text NOT NULL,
    dedup_key       text NOT NULL UNIQUE,
    message         text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivered', 'failed', 'not_sent')),
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE status = 'pending';
CREATE INDEX alerts_kind ON alerts (kind, id DESC);

-- Since when the node has been unable to reach Redis (null while it can), from its heartbeat.
ALTER TABLE cluster_nodes ADD COLUMN redis_unreachable_since timestamptz;
