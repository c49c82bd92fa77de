ALTER TABLE posts DROP COLUMN upload_started_at;
