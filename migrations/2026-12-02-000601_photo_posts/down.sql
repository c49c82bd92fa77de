DROP INDEX posts_photo_media_ids;
DELETE FROM posts WHERE photo_media_ids IS NOT NULL;
ALTER TABLE posts DROP CONSTRAINT posts_scheduled_has_media;
ALTER TABLE posts ADD CHECK (state <> 'scheduled' OR (scheduled_at IS NOT NULL AND media_id IS NOT NULL));
ALTER TABLE posts
    DROP CONSTRAINT posts_photo_shape,
    DROP COLUMN auto_add_music,
    DROP COLUMN photo_title,
    DROP COLUMN photo_cover_index,
    DROP COLUMN photo_media_ids;
