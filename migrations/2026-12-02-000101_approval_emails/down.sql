ALTER TABLE email_preferences DROP COLUMN approval_requested, DROP COLUMN approval_answered;
