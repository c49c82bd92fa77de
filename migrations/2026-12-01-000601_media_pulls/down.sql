DROP TABLE media_pulls;
