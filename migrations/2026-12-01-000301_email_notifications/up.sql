-- What each member wants e-mailed, per team they belong to. No row means the defaults below.
CREATE TABLE email_preferences (
    team_id uuid NOT NULL,
    user_id uuid NOT NULL,
    post_failed boolean NOT NULL DEFAULT true,
    post_unconfirmed boolean NOT NULL DEFAULT true,
    account_reconnect boolean NOT NULL DEFAULT true,
    grant_ending boolean NOT NULL DEFAULT true,
    daily_digest boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (team_id, user_id) REFERENCES memberships (team_id, user_id) ON DELETE CASCADE
);

-- One row: whether this deployment sends e-mail (SMTP is configured). Every server writes it at
-- start, so notifications written anywhere queue e-mails only when something will send them.
CREATE TABLE email_delivery (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    enabled boolean NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);

-- E-mails to send, written in the same transaction as what they tell about; a job claims rows
-- under a lease, sends them and marks them sent.
CREATE TABLE email_outbox (
    id bigserial PRIMARY KEY,
    -- The Message-ID of every attempt: a resend after a crash between SMTP's "250 OK" and the
    -- mark is the same message to the receiving side.
    message_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    team_id uuid REFERENCES teams (id) ON DELETE CASCADE,
    recipient text NOT NULL,
    kind text NOT NULL,
    subject text NOT NULL,
    body text NOT NULL,
    -- Path of the page the e-mail points to; the sender prefixes the public origin.
    link_path text NOT NULL,
    -- Reminders (grant endings, digests) are queued once per key.
    dedupe_key text UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    sent_at timestamptz,
    gave_up_at timestamptz,
    last_error text
);
CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE sent_at IS NULL AND gave_up_at IS NULL;
