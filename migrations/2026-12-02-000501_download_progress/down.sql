ALTER TABLE posts DROP COLUMN downloaded_bytes;
