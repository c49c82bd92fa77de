ALTER TABLE audit_events DROP CONSTRAINT audit_events_subject_check;
ALTER TABLE audit_events ADD CONSTRAINT audit_events_subject_check
    CHECK (subject IN ('post', 'account', 'member', 'invite', 'team')) NOT VALID;
ALTER TABLE post_comments DROP COLUMN guest_name, DROP COLUMN preview_link_id;
DROP TABLE preview_link_posts;
DROP TABLE preview_links;
