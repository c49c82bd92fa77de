-- People, teams and what binds them; sessions; failed log-ins for rate limiting.

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL UNIQUE CHECK (email = lower(email)),
    password_hash text NOT NULL,
    display_name text NOT NULL,
    time_zone text NOT NULL DEFAULT 'UTC',
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN users.email IS 'Stored lower-cased so log-in is case-insensitive.';
COMMENT ON COLUMN users.password_hash IS 'argon2id PHC string; never leaves the server.';
COMMENT ON COLUMN users.time_zone IS 'IANA name, detected in the browser at sign-up; schedules are shown in it.';

CREATE TABLE teams (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE memberships (
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role text NOT NULL CHECK (role IN ('owner', 'admin', 'editor', 'viewer')),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX memberships_user_id_idx ON memberships (user_id);

CREATE TABLE invites (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    created_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    used_by uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at timestamptz
);
COMMENT ON COLUMN invites.token_hash IS 'SHA-256 of the link token; the token itself is shown once and never stored.';
CREATE INDEX invites_team_id_idx ON invites (team_id);

CREATE TABLE login_failures (
    id bigserial PRIMARY KEY,
    subject text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON COLUMN login_failures.subject IS '"account:<email>" or "ip:<address>"; rows older than the window are pruned.';
CREATE INDEX login_failures_subject_idx ON login_failures (subject, failed_at);

CREATE TABLE sessions (
    id text PRIMARY KEY,
    data jsonb NOT NULL,
    expiry_date timestamptz NOT NULL
);
COMMENT ON TABLE sessions IS 'tower-sessions records; the cookie holds only the id.';
CREATE INDEX sessions_expiry_date_idx ON sessions (expiry_date);
