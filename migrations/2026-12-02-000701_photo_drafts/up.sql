-- Photo drafts: a carousel kept before it has a time or an account, like a video draft. A draft
-- holds either one video or its images in order; `photo` is the photo post's own choices
-- (title, cover, "add music automatically") as JSON, beside the composer's `choices`.
ALTER TABLE drafts
    ALTER COLUMN media_id DROP NOT NULL,
    ADD COLUMN photo_media_ids uuid[],
    ADD COLUMN photo jsonb,
    ADD CONSTRAINT drafts_media_shape CHECK (
        (media_id IS NOT NULL AND photo_media_ids IS NULL AND photo IS NULL)
        OR (media_id IS NULL AND cardinality(photo_media_ids) BETWEEN 1 AND 35 AND photo IS NOT NULL)
    );
-- "Is this image still needed by a draft?" when media is released.
CREATE INDEX drafts_photo_media_ids ON drafts USING gin (photo_media_ids) WHERE photo_media_ids IS NOT NULL;
