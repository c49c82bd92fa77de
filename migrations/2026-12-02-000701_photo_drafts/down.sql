DROP INDEX drafts_photo_media_ids;
DELETE FROM drafts WHERE photo_media_ids IS NOT NULL;
ALTER TABLE drafts
    DROP CONSTRAINT drafts_media_shape,
    DROP COLUMN photo,
    DROP COLUMN photo_media_ids,
    ALTER COLUMN media_id SET NOT NULL;
