DROP INDEX posts_status_check_idx;
CREATE INDEX posts_status_check_idx ON posts (next_check_at) WHERE state IN ('processing', 'in_inbox');
ALTER TABLE posts DROP COLUMN follow_until;
