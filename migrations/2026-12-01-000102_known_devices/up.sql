-- Browsers that logged in successfully: a flood of wrong passwords for an account pauses
-- log-ins from everywhere else, but not from a browser that proves it is one of these.
CREATE TABLE known_devices (
    -- SHA-256 (hex) of the random token in the browser's device cookie.
    token_hash text PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX known_devices_user_id_idx ON known_devices (user_id);
CREATE INDEX known_devices_last_used_at_idx ON known_devices (last_used_at);
COMMENT ON TABLE known_devices IS 'Browsers that logged in before; exempt from the per-account log-in pause.';
