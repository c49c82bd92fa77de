-- Approvals: a team may require that an approver approves each post before it goes out.
ALTER TABLE teams ADD COLUMN approval_required boolean NOT NULL DEFAULT false;
-- Who may approve: NULL lets the role decide (owners and admins do, editors do not); true or
-- false is set for this member. Viewers never approve, whatever is stored.
ALTER TABLE memberships ADD COLUMN can_approve boolean;
-- Where a post stands, and the fingerprint of everything of it that reaches TikTok (account,
-- video, caption, settings, time) when it was approved: it goes out only while it still matches.
ALTER TABLE posts
    ADD COLUMN approval text NOT NULL DEFAULT 'none'
        CHECK (approval IN ('none', 'pending', 'approved', 'changes_requested')),
    ADD COLUMN approved_fingerprint text,
    ADD COLUMN approved_by uuid REFERENCES users (id) ON DELETE SET NULL,
    ADD COLUMN approved_at timestamptz;
-- The team is told when a post's time came while it still waited for an approver.
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('post_failed', 'post_unconfirmed', 'account_needs_reconnect', 'awaiting_approval'));
