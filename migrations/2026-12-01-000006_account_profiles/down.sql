ALTER TABLE tiktok_accounts DROP COLUMN profile_read_at;
