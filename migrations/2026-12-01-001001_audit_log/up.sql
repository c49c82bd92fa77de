-- The team's audit log: every change to posts, accounts, members, roles, invites and team
-- settings, written in the same transaction as the change. Who (and their name then), when,
-- what, and the values before and after.
CREATE TABLE audit_events (
    id bigserial PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id),
    actor_id uuid REFERENCES users (id) ON DELETE SET NULL,
    actor_name text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    subject text NOT NULL CHECK (subject IN ('post', 'account', 'member', 'invite', 'team')),
    subject_id text,
    action text NOT NULL,
    summary text NOT NULL,
    before jsonb,
    after jsonb
);
-- The log page reads a team's newest first, filtered or not.
CREATE INDEX audit_events_team_idx ON audit_events (team_id, at DESC, id DESC);

-- Append-only: a row is never changed, and only the retention job (which says so for its own
-- transaction) removes rows, and only old ones.
CREATE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    IF coalesce(current_setting('cadence.audit_prune', true), '') <> 'on' THEN
        RAISE EXCEPTION 'the audit log is append-only';
    END IF;
    RETURN OLD;
END
$$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
