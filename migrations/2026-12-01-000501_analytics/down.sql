DROP INDEX tiktok_calls_endpoint_idx;
ALTER TABLE tiktok_accounts DROP COLUMN analytics_error;
ALTER TABLE tiktok_accounts DROP COLUMN analytics_collected_at;
DROP TABLE account_snapshots;
DROP TABLE video_snapshots;
DROP TABLE tiktok_videos;
