-- The executions trigger was statement-level, so it fired for every claim attempt, even one that
-- changed no row, and its notification woke the leader's runner to claim again: on an idle leader a
-- loop of about 40 claims (240 statements) a second. Row-level, it fires only for rows whose status
-- is set; PostgreSQL sends one notification per transaction for identical payloads.
DROP TRIGGER workflow_executions_notify ON workflow_executions;
CREATE TRIGGER workflow_executions_notify AFTER INSERT OR UPDATE OF status ON workflow_executions
    FOR EACH ROW EXECUTE FUNCTION scutum_notify_change('workflow_execution');
