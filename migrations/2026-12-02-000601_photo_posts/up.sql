-- Photo posts (carousels of 1 to 35 images, tiktok-api.md §4.5). TikTok takes them only by
-- PULL_FROM_URL, so every image is stored in the media store like a scheduled video, also for
-- "Post now". The images are media rows listed here in their order; a video post has none.
-- An array rather than a join table: the images belong to the post as one ordered value, are
-- copied whole when a post is duplicated, and are read with the post in the same row.
ALTER TABLE posts
    ADD COLUMN photo_media_ids uuid[],
    ADD COLUMN photo_cover_index integer,
    ADD COLUMN photo_title text,
    ADD COLUMN auto_add_music boolean NOT NULL DEFAULT false,
    ADD CONSTRAINT posts_photo_shape CHECK (
        (photo_media_ids IS NULL AND photo_cover_index IS NULL AND photo_title IS NULL)
        OR (cardinality(photo_media_ids) BETWEEN 1 AND 35
            AND photo_cover_index >= 0 AND photo_cover_index < cardinality(photo_media_ids)
            AND photo_title IS NOT NULL)
    );
-- A scheduled post needs its media: a video, or the images. The old check (unnamed, so found by
-- its definition) knew only videos.
DO $$
DECLARE old_check text;
BEGIN
    SELECT conname INTO old_check FROM pg_constraint
    WHERE conrelid = 'posts'::regclass AND contype = 'c'
      AND pg_get_constraintdef(oid) LIKE '%scheduled_at IS NOT NULL%media_id IS NOT NULL%';
    EXECUTE format('ALTER TABLE posts DROP CONSTRAINT %I', old_check);
END $$;
ALTER TABLE posts ADD CONSTRAINT posts_scheduled_has_media
    CHECK (state <> 'scheduled' OR (scheduled_at IS NOT NULL AND (media_id IS NOT NULL OR photo_media_ids IS NOT NULL)));
-- "Is this image still needed by a post?" when media is released.
CREATE INDEX posts_photo_media_ids ON posts USING gin (photo_media_ids) WHERE photo_media_ids IS NOT NULL;
