-- Posts with their timeline, stored videos of scheduled posts, and the per-account call log
-- that keeps Cadence inside TikTok's rate limits on every server at once.

CREATE TABLE media (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    storage_key text NOT NULL UNIQUE,
    byte_size bigint NOT NULL CHECK (byte_size > 0),
    content_type text NOT NULL,
    duration_ms integer,
    width integer,
    height integer,
    codec text,
    uploaded_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    remove_after timestamptz
);
COMMENT ON COLUMN media.remove_after IS 'Set when the last post needing the file is published or cancelled; a job deletes the file after this time.';
CREATE INDEX media_removal_idx ON media (remove_after) WHERE remove_after IS NOT NULL;

CREATE TABLE posts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    account_id uuid NOT NULL REFERENCES tiktok_accounts (id) ON DELETE CASCADE,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    destination text NOT NULL CHECK (destination IN ('profile', 'inbox')),
    state text NOT NULL CHECK (state IN ('scheduled', 'uploading', 'processing', 'in_inbox', 'published', 'failed', 'cancelled', 'unconfirmed')),
    caption text NOT NULL DEFAULT '',
    privacy_level text,
    allow_comment boolean NOT NULL DEFAULT false,
    allow_duet boolean NOT NULL DEFAULT false,
    allow_stitch boolean NOT NULL DEFAULT false,
    your_brand boolean NOT NULL DEFAULT false,
    branded_content boolean NOT NULL DEFAULT false,
    is_aigc boolean NOT NULL DEFAULT false,
    cover_timestamp_ms integer,
    video_bytes bigint NOT NULL CHECK (video_bytes > 0),
    content_type text NOT NULL,
    duration_ms integer,
    media_id uuid REFERENCES media (id) ON DELETE SET NULL,
    scheduled_at timestamptz,
    publish_id text UNIQUE,
    tiktok_post_id text,
    fail_code text,
    fail_message text,
    attempts integer NOT NULL DEFAULT 0,
    lease_owner uuid,
    lease_expires_at timestamptz,
    next_check_at timestamptz,
    status_checks integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CHECK (destination = 'inbox' OR privacy_level IS NOT NULL),
    CHECK (state <> 'scheduled' OR (scheduled_at IS NOT NULL AND media_id IS NOT NULL))
);
COMMENT ON COLUMN posts.publish_id IS 'Stored before the first byte goes to TikTok, so a crash can always be reconciled through the status endpoint instead of posting again.';
COMMENT ON COLUMN posts.lease_owner IS 'The server process working on the post; the lease lets another server take over after lease_expires_at.';
CREATE INDEX posts_team_idx ON posts (team_id, created_at DESC);
CREATE INDEX posts_due_idx ON posts (scheduled_at) WHERE state = 'scheduled';
CREATE INDEX posts_status_check_idx ON posts (next_check_at) WHERE state IN ('processing', 'in_inbox');

CREATE TABLE post_events (
    id bigserial PRIMARY KEY,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    kind text NOT NULL,
    message text NOT NULL
);
CREATE INDEX post_events_post_idx ON post_events (post_id, id);

CREATE TABLE tiktok_calls (
    id bigserial PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES tiktok_accounts (id) ON DELETE CASCADE,
    endpoint text NOT NULL,
    called_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE tiktok_calls IS 'Calls made per account and endpoint in the last minute; rows are written under an advisory lock so servers never overrun a limit together.';
CREATE INDEX tiktok_calls_window_idx ON tiktok_calls (account_id, endpoint, called_at);
