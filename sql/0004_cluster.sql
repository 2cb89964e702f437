-- The cluster: one leader at a time by a lease with a fencing token, and the nodes' heartbeats.

-- A single row. A node becomes leader by taking the lease when it has expired; the token grows
-- with every change of hands, and every leader-only write checks (node_id, token) in its own
-- transaction (SELECT ... FOR SHARE), so a leader that lost the lease cannot write any more.
CREATE TABLE cluster_leader (
    id          integer PRIMARY KEY CHECK (id = 1),
    node_id     text NOT NULL,
    token       bigint NOT NULL,
    acquired_at timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
INSERT INTO cluster_leader (id, node_id, token, acquired_at, expires_at) VALUES (1, '', 0, now(), '-infinity');

CREATE TABLE cluster_nodes (
    node_id        text PRIMARY KEY,
    address        text NOT NULL,
    admin_address  text,
    version        text NOT NULL,
    started_at     timestamptz NOT NULL,
    last_heartbeat timestamptz NOT NULL
);
CREATE INDEX cluster_nodes_heartbeat ON cluster_nodes (last_heartbeat);
