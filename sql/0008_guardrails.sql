-- Guardrail profiles, which teams they apply to, what they caught, and each key's opt-in or opt-out.
-- Every node keeps the active profiles and assignments in memory (`GuardrailSnapshot`) and reloads
-- them on NOTIFY 'guardrail'.

-- A profile: its detectors in `config` (a JSON object the detectors module parses: PII, secrets,
-- prompt injection, invisible text, banned topics, malicious URLs, max_input_tokens), plus where it
-- runs (`mode`) and what a hit does (`on_fail`). The default profile covers keys whose team has no
-- assignment; there is at most one.
CREATE TABLE guardrail_configs (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name         text NOT NULL UNIQUE,
    description  text,
    config       jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(config) = 'object'),
    mode         text NOT NULL DEFAULT 'both' CHECK (mode IN ('input', 'output', 'both')),
    on_fail      text NOT NULL DEFAULT 'block' CHECK (on_fail IN ('block', 'log')),
    is_default   boolean NOT NULL DEFAULT false,
    is_active    boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX guardrail_configs_one_default ON guardrail_configs (is_default) WHERE is_default;

-- guardrail_assignments (0002) named a guardrail by free text, before profiles existed. Each name
-- still assigned becomes an INACTIVE, empty placeholder profile of that name, so no assignment is
-- lost and none enforces anything until an operator fills the profile in and activates it. Rows
-- that still map to no profile are dropped (none can: every name gets a placeholder).
INSERT INTO guardrail_configs (name, description, is_active)
SELECT DISTINCT guardrail, 'Placeholder for an assignment made before guardrail profiles existed', false
FROM guardrail_assignments
ON CONFLICT (name) DO NOTHING;

ALTER TABLE guardrail_assignments
    ADD COLUMN guardrail_config_id uuid REFERENCES guardrail_configs (id) ON DELETE CASCADE,
    -- Lower runs first within a team.
    ADD COLUMN priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN 0 AND 1000000);

UPDATE guardrail_assignments a SET guardrail_config_id = c.id FROM guardrail_configs c WHERE c.name = a.guardrail;
DELETE FROM guardrail_assignments WHERE guardrail_config_id IS NULL;

-- Dropping the text column drops its UNIQUE (team_id, guardrail) with it.
ALTER TABLE guardrail_assignments
    DROP COLUMN guardrail,
    ALTER COLUMN guardrail_config_id SET NOT NULL,
    ADD CONSTRAINT guardrail_assignments_team_config_key UNIQUE (team_id, guardrail_config_id);

CREATE INDEX guardrail_assignments_config_idx ON guardrail_assignments (guardrail_config_id);

-- What the guardrails caught. Never the text itself: `details` holds counts by name only (the CHECK
-- refuses any value that is not a number), and `scanner`, `rule` and `model` are identifiers from the
-- profile and the request. No foreign keys: events outlive deleted profiles, teams and keys.
CREATE TABLE guardrail_events (
    id                   bigserial PRIMARY KEY,
    at                   timestamptz NOT NULL DEFAULT now(),
    request_id           text,
    key_id               text,
    team_id              text,
    guardrail_config_id  uuid,
    config_name          text,
    event_type           text NOT NULL
        CHECK (event_type IN ('input_blocked', 'output_blocked', 'pii_detected', 'pii_masked', 'flagged')),
    scanner              text NOT NULL CHECK (char_length(scanner) <= 100),
    rule                 text CHECK (char_length(rule) <= 200),
    model                text,
    risk_score           double precision CHECK (risk_score BETWEEN 0 AND 1),
    action               text NOT NULL CHECK (action IN ('block', 'mask', 'log')),
    details              jsonb NOT NULL DEFAULT '{}'::jsonb
        CHECK (jsonb_typeof(details) = 'object' AND NOT jsonb_path_exists(details, '$.* ? (@.type() != "number")'))
);

CREATE INDEX guardrail_events_team_idx ON guardrail_events (team_id, at);
CREATE INDEX guardrail_events_type_idx ON guardrail_events (event_type, at);

-- A key's guardrails: "inherit" (its team's assignments, else the default profile), "off" (none), or
-- a JSON array of profile ids run in addition to what it inherits. Ids of deleted or inactive
-- profiles are ignored. A change reaches the nodes through the key trigger (0001).
ALTER TABLE api_keys
    ADD COLUMN guardrails jsonb NOT NULL DEFAULT '"inherit"'::jsonb
        CHECK (guardrails IN ('"inherit"'::jsonb, '"off"'::jsonb) OR jsonb_typeof(guardrails) = 'array');

CREATE TRIGGER guardrail_configs_notify AFTER INSERT OR UPDATE OR DELETE ON guardrail_configs
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('guardrail');
CREATE TRIGGER guardrail_assignments_notify AFTER INSERT OR UPDATE OR DELETE ON guardrail_assignments
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('guardrail');
