-- A published post waiting for TikTok's moderation (its public id) or a draft in the creator's
-- inbox is still asked about, until this time; NULL when nothing is being followed after
-- publishing. `next_check_at` says when the next question is due.
ALTER TABLE posts ADD COLUMN follow_until timestamptz;

-- The status poller now also asks about followed published posts; published posts that are not
-- followed (the great majority) have no next check and stay out of the index.
DROP INDEX posts_status_check_idx;
CREATE INDEX posts_status_check_idx ON posts (next_check_at)
    WHERE next_check_at IS NOT NULL AND state IN ('processing', 'published', 'in_inbox');
