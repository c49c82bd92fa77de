-- Copied into each session at log-in and compared on every request: bumping it (a password
-- change) ends every other session, even one a racing request writes back after its row was
-- deleted.
ALTER TABLE users ADD COLUMN session_epoch integer NOT NULL DEFAULT 0;
