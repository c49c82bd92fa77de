-- Sessions are now keyed by the SHA-256 of their id (hex), never the id itself. Rows keyed by a
-- plain id could not be found any more, and keeping them would keep usable cookies in the table:
-- every session ends, and people log in again.
DELETE FROM sessions;
COMMENT ON COLUMN sessions.id IS 'SHA-256 (hex) of the session id; the id itself is only in the cookie.';
