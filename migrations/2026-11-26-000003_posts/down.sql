DROP TABLE tiktok_calls;
DROP TABLE post_events;
DROP TABLE posts;
DROP TABLE media;
