-- Approvers are e-mailed when a post waits for them, and authors when an approver decided.
ALTER TABLE email_preferences
    ADD COLUMN approval_requested boolean NOT NULL DEFAULT true,
    ADD COLUMN approval_answered boolean NOT NULL DEFAULT true;
