-- Where agentgateway's configuration stands: what any node asked for last, and what the leader
-- last deployed (under which fencing token). A request notifies the leader ('mcp_sync').
CREATE TABLE mcp_sync_state (
    id             integer PRIMARY KEY CHECK (id = 1),
    requested_at   timestamptz,
    deployed_at    timestamptz,
    deployed_by    text,
    fence_token    bigint,
    path           text,
    sha256         text,
    bytes          integer,
    active_servers integer,
    error          text
);
INSERT INTO mcp_sync_state (id) VALUES (1);

CREATE FUNCTION scutum_notify_mcp_sync() RETURNS trigger AS $$
BEGIN
    IF NEW.requested_at IS DISTINCT FROM OLD.requested_at THEN
        PERFORM pg_notify('scutum_invalidate', json_build_object('kind', 'mcp_sync')::text);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER mcp_sync_state_notify AFTER UPDATE ON mcp_sync_state
    FOR EACH ROW EXECUTE FUNCTION scutum_notify_mcp_sync();
