-- MCP servers an operator registers through the Admin API; the leader turns the active ones into
-- agentgateway's configuration. `env` and `headers` hold secrets (tokens, API keys): the Admin API
-- never returns their values.
CREATE TABLE mcp_servers (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL UNIQUE,
    server_type     text NOT NULL CHECK (server_type IN ('stdio', 'http', 'sse')),
    command         text,
    args            jsonb NOT NULL DEFAULT '[]',
    env             jsonb NOT NULL DEFAULT '{}',
    url             text,
    headers         jsonb NOT NULL DEFAULT '{}',
    tools           jsonb NOT NULL DEFAULT '[]',
    is_active       boolean NOT NULL DEFAULT true,
    last_tested_at  timestamptz,
    last_test_error text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    CHECK (server_type <> 'stdio' OR command IS NOT NULL),
    CHECK (server_type = 'stdio' OR url IS NOT NULL)
);

CREATE TRIGGER mcp_servers_notify AFTER INSERT OR UPDATE OR DELETE ON mcp_servers
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('mcp');
