-- Hashes cannot be turned back into ids: every session ends.
DELETE FROM sessions;
COMMENT ON COLUMN sessions.id IS NULL;
