DROP INDEX posts_team_state_idx;
DROP INDEX posts_listed_idx;
ALTER TABLE posts DROP COLUMN listed_at;
