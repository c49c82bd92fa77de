ALTER TABLE tiktok_accounts DROP COLUMN refreshing_until;
