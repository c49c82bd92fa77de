-- A token refresh claims the account until this instant (by the database's clock) instead of
-- holding a row lock across TikTok's call, so the new grant is written by a short statement
-- that can be retried, and two servers still never spend the same refresh token.
ALTER TABLE tiktok_accounts ADD COLUMN refreshing_until timestamptz;
