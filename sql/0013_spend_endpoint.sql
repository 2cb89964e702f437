-- Which front door a request came in by: its path (`/v1/chat/completions`, `/v1/embeddings`,
-- `/v1/messages`, `/v1/responses`) or `workflow` for a workflow step. Rows written before it was
-- recorded stay NULL (unknown). A nullable column without a default is a catalog change only: no
-- table rewrite, however many rows.
--
-- No index: a handful of values, filtered like `model` is, along `spend_logs_at_idx` newest first
-- until the page is full; another index would cost every spend write for a rarely used filter.
ALTER TABLE spend_logs ADD COLUMN endpoint text;
