ALTER TABLE posts DROP COLUMN follow_until;
