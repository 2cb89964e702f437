-- Exact cost, cache-aware (issue 18): the parts of each request's cost as the provider bills them,
-- the token counts they come from, and the deployment of the model's pool that served.
--
-- cache_write_tokens: prompt tokens written to the provider's cache (5-minute and 1-hour writes);
-- reasoning_tokens: completion tokens spent reasoning; input_cost, output_cost, cache_read_cost,
-- cache_write_cost: USD, summing to `cost`; deployment_id: `ModelDeployment.id` (several deployments
-- may share a model name).
--
-- Nullable columns without defaults are catalog changes only: no table rewrite, however many rows.
-- Rows written before stay NULL: unknown, not zero.
ALTER TABLE spend_logs
    ADD COLUMN cache_write_tokens integer,
    ADD COLUMN reasoning_tokens integer,
    ADD COLUMN input_cost numeric(20, 10),
    ADD COLUMN output_cost numeric(20, 10),
    ADD COLUMN cache_read_cost numeric(20, 10),
    ADD COLUMN cache_write_cost numeric(20, 10),
    ADD COLUMN deployment_id text;
