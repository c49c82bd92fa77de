ALTER TABLE drafts DROP COLUMN thumbnail_jpeg;
ALTER TABLE posts DROP COLUMN thumbnail_jpeg;
