-- When TikTok accepted the init (by the database's clock). An upload URL lives an hour from
-- then, so recovery knows when an old upload can no longer complete and a resend is safe.
ALTER TABLE posts ADD COLUMN upload_started_at timestamptz;
