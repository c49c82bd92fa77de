-- Connected TikTok accounts with their encrypted tokens, OAuth states in flight, and received
-- webhook events.

CREATE TABLE tiktok_accounts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    open_id text NOT NULL,
    display_name text NOT NULL,
    username text,
    avatar_url text,
    scopes text NOT NULL,
    status text NOT NULL CHECK (status IN ('active', 'needs_reconnect', 'disconnected')),
    status_reason text,
    encrypted_access_token text,
    encrypted_refresh_token text,
    access_expires_at timestamptz,
    refresh_expires_at timestamptz,
    last_refreshed_at timestamptz,
    creator_info jsonb,
    creator_info_at timestamptz,
    connected_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, open_id),
    CHECK ((status = 'disconnected') = (encrypted_refresh_token IS NULL))
);
COMMENT ON COLUMN tiktok_accounts.encrypted_access_token IS 'TokenCipher value sealed with this row''s id as associated data; NULL once disconnected.';
COMMENT ON COLUMN tiktok_accounts.scopes IS 'Comma-separated scopes the creator actually granted.';
COMMENT ON COLUMN tiktok_accounts.status IS 'needs_reconnect: TikTok refused the refresh token; nothing is deleted until a person reconnects or disconnects.';
-- One live connection per TikTok account across all teams, so two teams never hold competing
-- refresh tokens for the same creator (with rotation, one would silently kill the other).
CREATE UNIQUE INDEX tiktok_accounts_live_open_id_key ON tiktok_accounts (open_id) WHERE status <> 'disconnected';
CREATE INDEX tiktok_accounts_refresh_due_idx ON tiktok_accounts (access_expires_at) WHERE status = 'active';

CREATE TABLE oauth_states (
    state_hash text PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
COMMENT ON TABLE oauth_states IS 'Single-use OAuth state values (SHA-256 only); the session holds the same hash, binding the state to one browser.';

CREATE TABLE tiktok_webhook_events (
    id bigserial PRIMARY KEY,
    body_sha256 text NOT NULL UNIQUE,
    event text NOT NULL,
    user_openid text NOT NULL,
    content jsonb NOT NULL,
    created_time bigint NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    processed_at timestamptz
);
COMMENT ON COLUMN tiktok_webhook_events.body_sha256 IS 'Deduplicates TikTok''s at-least-once deliveries and replays of a signed body.';
