-- Routing policies an operator sets through the Admin API; every node applies them on its next request.
CREATE TABLE routing_policies (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name        text NOT NULL,
    type        text NOT NULL CHECK (type IN ('fallback', 'model_group', 'routing_strategy', 'conditional')),
    config      jsonb NOT NULL,
    enabled     boolean NOT NULL DEFAULT true,
    priority    integer NOT NULL DEFAULT 0,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER routing_policies_notify AFTER INSERT OR UPDATE OR DELETE ON routing_policies
    FOR EACH STATEMENT EXECUTE FUNCTION scutum_notify_change('routing');
