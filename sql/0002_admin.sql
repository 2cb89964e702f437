-- Teams, budgets, model overrides, settings, the audit log and spend logs: what the Admin API manages.

CREATE TABLE teams (
    team_id     text PRIMARY KEY,
    team_alias  text NOT NULL,
    models      text[] NOT NULL DEFAULT '{}',
    blocked     boolean NOT NULL DEFAULT false,
    metadata    jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE team_members (
    team_id     text NOT NULL REFERENCES teams (team_id) ON DELETE CASCADE,
    user_id     text NOT NULL,
    role        text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);

-- Which guardrail profiles apply to which team (the guardrails themselves come later).
CREATE TABLE guardrail_assignments (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id     text NOT NULL REFERENCES teams (team_id) ON DELETE CASCADE,
    guardrail   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, guardrail)
);

-- Keys gain an owner, a model allow-list and limits. Keys of a deleted team are deleted with it.
ALTER TABLE api_keys
    ADD COLUMN team_id text REFERENCES teams (team_id) ON DELETE CASCADE,
    ADD COLUMN user_id text,
    ADD COLUMN models text[] NOT NULL DEFAULT '{}',
    ADD COLUMN rpm_limit integer CHECK (rpm_limit > 0),
    ADD COLUMN tpm_limit integer CHECK (tpm_limit > 0),
    ADD COLUMN max_parallel_requests integer CHECK (max_parallel_requests > 0);

CREATE INDEX api_keys_team_idx ON api_keys (team_id);

-- One budget per subject: a key (its id), a team, a user, or everything (global).
CREATE TABLE budgets (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    scope            text NOT NULL CHECK (scope IN ('key', 'team', 'user', 'global')),
    scope_id         text NOT NULL DEFAULT '',
    max_budget       numeric(20, 6) CHECK (max_budget >= 0),
    soft_budget      numeric(20, 6) CHECK (soft_budget >= 0),
    budget_duration  text,
    -- The current period began here; spend counters are keyed by it, so a reset is a new period.
    period_start     timestamptz NOT NULL DEFAULT now(),
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (scope, scope_id),
    CHECK ((scope = 'global') = (scope_id = ''))
);

-- Operator changes to the catalog in config/models.yaml, by model name.
CREATE TABLE model_overrides (
    model_name             text PRIMARY KEY,
    input_cost_per_token   double precision CHECK (input_cost_per_token >= 0),
    output_cost_per_token  double precision CHECK (output_cost_per_token >= 0),
    rpm                    integer CHECK (rpm > 0),
    tpm                    integer CHECK (tpm > 0),
    active                 boolean,
    tier                   text,
    capabilities           jsonb,
    credentials            text,
    updated_at             timestamptz NOT NULL DEFAULT now()
);

-- Platform settings: one row holding a JSON object.
CREATE TABLE settings (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO settings (value) VALUES ('{
    "default_model": "gpt-5-mini",
    "global_rate_limit": 1000,
    "default_key_rpm": 100,
    "default_key_tpm": 100000,
    "enable_budget_enforcement": true,
    "enable_cost_tracking": true,
    "enable_guardrails": true,
    "enable_routing_policies": true,
    "maintenance_mode": false
}'::jsonb);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,
    action       text NOT NULL,
    target_type  text NOT NULL,
    target_id    text,
    details      jsonb NOT NULL DEFAULT '{}'::jsonb
);

CREATE INDEX audit_log_at_idx ON audit_log (at);

-- One row per proxied request; request_id makes a replayed write a no-op (exactly once).
CREATE TABLE spend_logs (
    request_id         text PRIMARY KEY,
    at                 timestamptz NOT NULL,
    key_id             text,
    key_alias          text,
    team_id            text,
    user_id            text,
    model_requested    text NOT NULL,
    model_served       text,
    provider           text,
    prompt_tokens      integer NOT NULL DEFAULT 0,
    completion_tokens  integer NOT NULL DEFAULT 0,
    cached_tokens      integer NOT NULL DEFAULT 0,
    cost               numeric(20, 10) NOT NULL DEFAULT 0,
    latency_ms         integer NOT NULL DEFAULT 0,
    status             integer NOT NULL,
    stream             boolean NOT NULL DEFAULT false
);

CREATE INDEX spend_logs_at_idx ON spend_logs (at);
CREATE INDEX spend_logs_key_idx ON spend_logs (key_id, at);
CREATE INDEX spend_logs_team_idx ON spend_logs (team_id, at);
CREATE INDEX spend_logs_user_idx ON spend_logs (user_id, at);

-- Every node caches teams, budgets, model overrides and settings; a change tells all of them.
CREATE FUNCTION scutum_notify_change() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('scutum_invalidate', json_build_object('kind', TG_ARGV[0])::text);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER teams_notify AFTER INSERT OR UPDATE OR DELETE ON teams
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('team');
CREATE TRIGGER budgets_notify AFTER INSERT OR UPDATE OR DELETE ON budgets
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('budget');
CREATE TRIGGER model_overrides_notify AFTER INSERT OR UPDATE OR DELETE ON model_overrides
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('model');
CREATE TRIGGER settings_notify AFTER INSERT OR UPDATE OR DELETE ON settings
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('settings');
