-- Where a post sits in the calendar and the list: at its time, or when it was made if it has
-- none (a post sent at once). Stored, so that both read it from an index: the list pages
-- through a team's history by (listed_at, id), and the calendar takes one month's range.
ALTER TABLE posts ADD COLUMN listed_at timestamptz GENERATED ALWAYS AS (coalesce(scheduled_at, created_at)) STORED;
CREATE INDEX posts_listed_idx ON posts (team_id, listed_at DESC, id DESC);
-- The dashboard's counts by state read this index alone (an index-only scan), not every row of
-- a long history.
CREATE INDEX posts_team_state_idx ON posts (team_id, state);
