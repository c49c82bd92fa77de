-- A published post waiting for TikTok's moderation (its public id) or a draft in the creator's
-- inbox is still asked about, until this time; NULL when nothing is being followed after
-- publishing. `next_check_at` says when the next question is due.
ALTER TABLE posts ADD COLUMN follow_until timestamptz;
