-- The response cache (issue 19): a request answered from the cache is recorded with cost 0, and what
-- the answer cost when it was first bought (`saved_cost`, USD) so savings can be summed.
--
-- Nullable columns without defaults: catalog changes only, no table rewrite. NULL reads as "not a
-- cache hit" (rows written before the cache existed, and every miss).
ALTER TABLE spend_logs
    ADD COLUMN cache_hit boolean,
    ADD COLUMN saved_cost numeric(20, 10);
