-- Workflows: definitions operators save through the Admin API, and their executions, which the
-- leader runs step by step, checkpointing after every step.

CREATE TABLE workflows (
    id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name             text NOT NULL UNIQUE,
    description      text,
    template_type    text,
    graph_definition jsonb NOT NULL,
    input_schema     jsonb,
    is_active        boolean NOT NULL DEFAULT true,
    created_by       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER workflows_notify AFTER INSERT OR UPDATE OR DELETE ON workflows
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('workflow');

-- An execution keeps a snapshot of the workflow's name and graph taken when it was queued: editing
-- a workflow never changes a run in flight (nor the one a new leader resumes), and deleting a
-- workflow keeps its executions' history and spend (workflow_id becomes NULL).
-- claimed_by / fence_token: the leader running it and the fencing token it claimed it under; a new
-- leader (a new token) reclaims pending and running executions and resumes after the last
-- completed step.
CREATE TABLE workflow_executions (
    id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    workflow_id         uuid REFERENCES workflows (id) ON DELETE SET NULL,
    workflow_name       text NOT NULL,
    graph_definition    jsonb NOT NULL,
    status              text NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    input_data          jsonb NOT NULL DEFAULT '{}',
    output_data         jsonb,
    error               text,
    key_id              text,
    team_id             text,
    created_by          text,
    claimed_by          text,
    fence_token         bigint,
    current_node        text,
    total_input_tokens  integer NOT NULL DEFAULT 0,
    total_output_tokens integer NOT NULL DEFAULT 0,
    total_cost          double precision NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    started_at          timestamptz,
    completed_at        timestamptz,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_executions_status_idx ON workflow_executions (status, created_at);
CREATE INDEX workflow_executions_workflow_idx ON workflow_executions (workflow_id, created_at);

-- Wakes the leader when an execution is queued or its status changes (a cancel, say); step
-- checkpoints do not touch status and stay quiet.
CREATE TRIGGER workflow_executions_notify AFTER INSERT OR UPDATE OF status ON workflow_executions
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('workflow_execution');

CREATE TABLE workflow_steps (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    execution_id  uuid NOT NULL REFERENCES workflow_executions (id) ON DELETE CASCADE,
    node_name     text NOT NULL,
    step_order    integer NOT NULL,
    status        text NOT NULL DEFAULT 'running' CHECK (status IN ('running', 'completed', 'failed', 'skipped')),
    input_data    jsonb,
    output_data   jsonb,
    input_tokens  integer NOT NULL DEFAULT 0,
    output_tokens integer NOT NULL DEFAULT 0,
    cost          double precision NOT NULL DEFAULT 0,
    duration_ms   integer,
    error         text,
    started_at    timestamptz NOT NULL DEFAULT now(),
    completed_at  timestamptz,
    UNIQUE (execution_id, step_order)
);
