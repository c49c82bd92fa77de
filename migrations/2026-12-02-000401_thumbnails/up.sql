-- A small JPEG of each post's and draft's video (a frame the browser drew from it: the cover
-- frame the person chose), shown by the calendar, the posts list and the drafts list. Kept on
-- the post rather than on the media row: a published post's video is deleted after a grace
-- period, a "Post now" video is never stored at all, and the calendar still shows both.
-- PostgreSQL keeps values this size out of line (TOAST), so lists that do not read them stay
-- as narrow as before.
ALTER TABLE posts ADD COLUMN thumbnail_jpeg bytea
    CHECK (thumbnail_jpeg IS NULL OR octet_length(thumbnail_jpeg) <= 65536);
ALTER TABLE drafts ADD COLUMN thumbnail_jpeg bytea
    CHECK (thumbnail_jpeg IS NULL OR octet_length(thumbnail_jpeg) <= 65536);
