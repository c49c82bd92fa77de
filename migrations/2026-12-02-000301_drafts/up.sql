-- Drafts: a video kept in the media store with the composer's choices, before it has a time or
-- even an account. Scheduling one turns it into a post (which takes its video over) and deletes it.
CREATE TABLE drafts (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    -- The account it is meant for, once chosen; a disconnected account leaves the draft without one.
    account_id uuid REFERENCES tiktok_accounts (id) ON DELETE SET NULL,
    -- The composer's choices (caption, audience, interactions, disclosure, cover) as JSON.
    choices jsonb NOT NULL,
    media_id uuid NOT NULL REFERENCES media (id),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX drafts_team_idx ON drafts (team_id, updated_at DESC);
