DROP TABLE post_comments;
