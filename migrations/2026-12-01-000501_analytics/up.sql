-- Analytics from TikTok's Display API: every public video of a connected account (posted
-- through Cadence or in the TikTok app), snapshots of its counters over time, and snapshots of
-- the account's totals. Old snapshots are thinned out (hourly, then daily, then weekly), so a
-- year of data for a hundred accounts stays small.
CREATE TABLE tiktok_videos (
    account_id uuid NOT NULL REFERENCES tiktok_accounts (id) ON DELETE CASCADE,
    video_id text NOT NULL,
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    post_id uuid REFERENCES posts (id) ON DELETE SET NULL,
    title text NOT NULL DEFAULT '',
    share_url text,
    published_at timestamptz NOT NULL,
    first_seen_at timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    view_count bigint NOT NULL DEFAULT 0,
    like_count bigint NOT NULL DEFAULT 0,
    comment_count bigint NOT NULL DEFAULT 0,
    share_count bigint NOT NULL DEFAULT 0,
    views_48h bigint,
    PRIMARY KEY (account_id, video_id)
);
COMMENT ON COLUMN tiktok_videos.post_id IS 'The Cadence post this video is, matched by TikTok''s post id; NULL for videos posted outside Cadence.';
COMMENT ON COLUMN tiktok_videos.views_48h IS 'Views at the last reading within 48 hours of going live (what best times to post are judged by); NULL when Cadence first saw the video later.';
CREATE INDEX tiktok_videos_team_idx ON tiktok_videos (team_id, published_at);
CREATE INDEX tiktok_videos_post_idx ON tiktok_videos (post_id) WHERE post_id IS NOT NULL;

CREATE TABLE video_snapshots (
    account_id uuid NOT NULL,
    video_id text NOT NULL,
    taken_at timestamptz NOT NULL,
    view_count bigint NOT NULL,
    like_count bigint NOT NULL,
    comment_count bigint NOT NULL,
    share_count bigint NOT NULL,
    PRIMARY KEY (account_id, video_id, taken_at),
    FOREIGN KEY (account_id, video_id) REFERENCES tiktok_videos (account_id, video_id) ON DELETE CASCADE
);

CREATE TABLE account_snapshots (
    account_id uuid NOT NULL REFERENCES tiktok_accounts (id) ON DELETE CASCADE,
    taken_at timestamptz NOT NULL,
    follower_count bigint,
    following_count bigint,
    likes_count bigint,
    video_count bigint,
    -- Sums over the account's listed videos at this reading.
    view_total bigint NOT NULL DEFAULT 0,
    like_total bigint NOT NULL DEFAULT 0,
    comment_total bigint NOT NULL DEFAULT 0,
    share_total bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, taken_at)
);

ALTER TABLE tiktok_accounts ADD COLUMN analytics_collected_at timestamptz;
ALTER TABLE tiktok_accounts ADD COLUMN analytics_error text;
COMMENT ON COLUMN tiktok_accounts.analytics_collected_at IS 'When the last analytics collection of the account started (a claim: other servers skip it for an hour).';

-- The Display API's limit is counted across all accounts (the app-wide reading of TikTok's 600 a minute).
CREATE INDEX tiktok_calls_endpoint_idx ON tiktok_calls (endpoint, called_at);
