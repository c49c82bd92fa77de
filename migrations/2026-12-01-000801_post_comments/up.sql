-- A thread on each post for its team: who wrote what, when. A member who leaves keeps their
-- name on what they wrote (the user row stays); a deleted user's comments say "a former member".
CREATE TABLE post_comments (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    post_id uuid NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id uuid REFERENCES users (id) ON DELETE SET NULL,
    body text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 2000),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- A post's thread, oldest first.
CREATE INDEX post_comments_post_idx ON post_comments (post_id, created_at, id);
