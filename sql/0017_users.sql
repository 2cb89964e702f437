-- People: users who sign in to the console (by single sign-on) or were invited by an admin, with a
-- global role (admin, viewer or none) and a role per team (team_admin or member, in team_members).

CREATE TABLE users (
    user_id        text PRIMARY KEY DEFAULT gen_random_uuid()::text,
    -- Lower-cased; null for users known only by an id (team members added before users existed).
    email          text UNIQUE CHECK (email = lower(email)),
    name           text,
    status         text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    source         text NOT NULL DEFAULT 'invited' CHECK (source IN ('sso', 'invited')),
    -- Everything (admin), read everything (viewer), or only what their teams give (null).
    role           text CHECK (role IN ('admin', 'viewer')),
    -- The identity provider's issuer and subject, once the user has signed in with it.
    sso_issuer     text,
    sso_subject    text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    last_login_at  timestamptz,
    UNIQUE (sso_issuer, sso_subject)
);

-- Every member and key owner named so far becomes a user, so memberships can refer to users.
INSERT INTO users (user_id)
    SELECT user_id FROM team_members
    UNION SELECT user_id FROM api_keys WHERE user_id IS NOT NULL
    ON CONFLICT DO NOTHING;

-- The per-team roles take the names the roles have everywhere else: admin -> team_admin.
ALTER TABLE team_members DROP CONSTRAINT team_members_role_check;
UPDATE team_members SET role = 'team_admin' WHERE role = 'admin';
ALTER TABLE team_members ADD CONSTRAINT team_members_role_check CHECK (role IN ('team_admin', 'member'));
ALTER TABLE team_members
    ADD CONSTRAINT team_members_user_fk FOREIGN KEY (user_id) REFERENCES users (user_id) ON DELETE CASCADE;
CREATE INDEX team_members_user_idx ON team_members (user_id);

-- What a team's members may give the keys they make themselves (null: no cap beyond the team's own).
ALTER TABLE teams
    ADD COLUMN key_max_budget numeric(20, 6) CHECK (key_max_budget >= 0),
    ADD COLUMN key_rpm_limit integer CHECK (key_rpm_limit > 0),
    ADD COLUMN key_tpm_limit integer CHECK (key_tpm_limit > 0);

CREATE INDEX api_keys_user_idx ON api_keys (user_id);
