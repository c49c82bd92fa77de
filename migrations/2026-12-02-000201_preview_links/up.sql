-- Client preview links: an approver shares one post or a few, read-only, with someone who has no
-- account. The link carries a random token; only its SHA-256 is stored.
CREATE TABLE preview_links (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    token_hash text NOT NULL UNIQUE,
    label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
    created_by uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by uuid REFERENCES users (id) ON DELETE SET NULL
);
CREATE INDEX preview_links_team_idx ON preview_links (team_id, created_at DESC);

-- The posts a link shows, and nothing else.
CREATE TABLE preview_link_posts (
    link_id uuid NOT NULL REFERENCES preview_links (id) ON DELETE CASCADE,
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    PRIMARY KEY (link_id, post_id)
);
CREATE INDEX preview_link_posts_post_idx ON preview_link_posts (post_id);

-- A comment written through a link has no user: the name the guest gave, and the link.
ALTER TABLE post_comments
    ADD COLUMN guest_name text CHECK (guest_name IS NULL OR char_length(guest_name) BETWEEN 1 AND 80),
    ADD COLUMN preview_link_id uuid REFERENCES preview_links (id) ON DELETE SET NULL;

-- Creating and revoking links goes into the audit log under its own subject.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_subject_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_subject_check
    CHECK (subject IN ('post', 'account', 'member', 'invite', 'team', 'preview_link'));
