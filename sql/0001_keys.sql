-- Gateway API keys. Only the SHA-256 of a key is stored; the plaintext is shown once at creation.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    key_hash     text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
    key_display  text NOT NULL,
    key_alias    text,
    role         text NOT NULL DEFAULT 'user' CHECK (role IN ('admin', 'user')),
    blocked      boolean NOT NULL DEFAULT false,
    expires_at   timestamptz,
    metadata     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX api_keys_alias_idx ON api_keys (key_alias);

-- Every change to a key tells every node to drop it from its auth cache, whichever path wrote it.
CREATE FUNCTION scutum_notify_key_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM pg_notify('scutum_invalidate', json_build_object('kind', 'key', 'key_hash', OLD.key_hash)::text);
        RETURN OLD;
    END IF;
    PERFORM pg_notify('scutum_invalidate', json_build_object('kind', 'key', 'key_hash', NEW.key_hash)::text);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER api_keys_notify
    AFTER INSERT OR UPDATE OR DELETE ON api_keys
    FOR EACH ROW EXECUTE FUNCTION scutum_notify_key_change();
