DROP TABLE tiktok_webhook_events;
DROP TABLE oauth_states;
DROP TABLE tiktok_accounts;
