-- Things a person must look at: failed or unconfirmed posts and accounts that need
-- reconnecting. Shown on the dashboard until someone acknowledges them.

CREATE TABLE notifications (
    id bigserial PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    kind text NOT NULL CHECK (kind IN ('post_failed', 'post_unconfirmed', 'account_needs_reconnect')),
    post_id uuid REFERENCES posts (id) ON DELETE CASCADE,
    account_id uuid REFERENCES tiktok_accounts (id) ON DELETE CASCADE,
    message text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    acknowledged_at timestamptz,
    acknowledged_by uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX notifications_open_idx ON notifications (team_id, created_at DESC) WHERE acknowledged_at IS NULL;
