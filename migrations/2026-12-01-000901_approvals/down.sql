DELETE FROM notifications WHERE kind = 'awaiting_approval';
ALTER TABLE notifications DROP CONSTRAINT notifications_kind_check;
ALTER TABLE notifications ADD CONSTRAINT notifications_kind_check
    CHECK (kind IN ('post_failed', 'post_unconfirmed', 'account_needs_reconnect'));
ALTER TABLE posts DROP COLUMN approved_at, DROP COLUMN approved_by, DROP COLUMN approved_fingerprint, DROP COLUMN approval;
ALTER TABLE memberships DROP COLUMN can_approve;
ALTER TABLE teams DROP COLUMN approval_required;
