-- How much of a pulled video TikTok reports having downloaded (PULL_FROM_URL's
-- `downloaded_bytes`), last seen by a status check; shown on the post page while it downloads.
ALTER TABLE posts ADD COLUMN downloaded_bytes bigint;
