-- `default_model` now serves chat requests that omit `model`. The value the first migration seeded
-- was never read, so it is unset: a request without `model` stays a 400 until an operator chooses one.
UPDATE settings SET value = jsonb_set(value, '{default_model}', 'null'::jsonb)
    WHERE value->>'default_model' = 'gpt-5-mini';
