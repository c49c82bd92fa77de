-- When TikTok's user info (name, username, avatar) was last read for the account. TikTok's
-- avatar URLs are signed and expire within hours, so they are read again regularly.
ALTER TABLE tiktok_accounts ADD COLUMN profile_read_at timestamptz;
UPDATE tiktok_accounts SET profile_read_at = last_refreshed_at;
