-- One row per URL handed to TikTok for PULL_FROM_URL: only a hash of the unguessable token is
-- kept, so a database reader cannot fetch media. A URL serves exactly one stored file, only
-- once the publish id TikTok gave for it is recorded (so a lost init reply can never lead to a
-- post), only while its post is still on its way, and never after it expires.
CREATE TABLE media_pulls (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    token_hash bytea NOT NULL UNIQUE,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    media_id uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    publish_id text,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    requests integer NOT NULL DEFAULT 0,
    bytes_served bigint NOT NULL DEFAULT 0,
    last_pulled_at timestamptz
);
CREATE INDEX media_pulls_post_id ON media_pulls (post_id);
