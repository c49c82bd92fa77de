//! Diesel's view of the tables in `migrations/` (kept in step with them by hand; the
//! `migrations_match_the_schema` integration test fails when they drift).

diesel::table! {
    users (id) {
        id -> Uuid,
        email -> Text,
        password_hash -> Text,
        display_name -> Text,
        time_zone -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        session_epoch -> Int4,
    }
}

diesel::table! {
    teams (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
        approval_required -> Bool,
    }
}

diesel::table! {
    memberships (team_id, user_id) {
        team_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
        can_approve -> Nullable<Bool>,
    }
}

diesel::table! {
    invites (id) {
        id -> Uuid,
        team_id -> Uuid,
        token_hash -> Text,
        role -> Text,
        created_by -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        used_at -> Nullable<Timestamptz>,
        used_by -> Nullable<Uuid>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        subject -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        data -> Jsonb,
        expiry_date -> Timestamptz,
    }
}

diesel::table! {
    tiktok_accounts (id) {
        id -> Uuid,
        team_id -> Uuid,
        open_id -> Text,
        display_name -> Text,
        username -> Nullable<Text>,
        avatar_url -> Nullable<Text>,
        scopes -> Text,
        status -> Text,
        status_reason -> Nullable<Text>,
        encrypted_access_token -> Nullable<Text>,
        encrypted_refresh_token -> Nullable<Text>,
        access_expires_at -> Nullable<Timestamptz>,
        refresh_expires_at -> Nullable<Timestamptz>,
        last_refreshed_at -> Nullable<Timestamptz>,
        creator_info -> Nullable<Jsonb>,
        creator_info_at -> Nullable<Timestamptz>,
        connected_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        profile_read_at -> Nullable<Timestamptz>,
        refreshing_until -> Nullable<Timestamptz>,
        analytics_collected_at -> Nullable<Timestamptz>,
        analytics_error -> Nullable<Text>,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Text,
        team_id -> Uuid,
        user_id -> Uuid,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
    }
}

diesel::table! {
    tiktok_webhook_events (id) {
        id -> Int8,
        body_sha256 -> Text,
        event -> Text,
        user_openid -> Text,
        content -> Jsonb,
        created_time -> Int8,
        received_at -> Timestamptz,
        processed_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    media (id) {
        id -> Uuid,
        team_id -> Uuid,
        storage_key -> Text,
        byte_size -> Int8,
        content_type -> Text,
        duration_ms -> Nullable<Int4>,
        width -> Nullable<Int4>,
        height -> Nullable<Int4>,
        codec -> Nullable<Text>,
        uploaded_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        remove_after -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    posts (id) {
        id -> Uuid,
        team_id -> Uuid,
        account_id -> Uuid,
        created_by -> Nullable<Uuid>,
        destination -> Text,
        state -> Text,
        caption -> Text,
        privacy_level -> Nullable<Text>,
        allow_comment -> Bool,
        allow_duet -> Bool,
        allow_stitch -> Bool,
        your_brand -> Bool,
        branded_content -> Bool,
        is_aigc -> Bool,
        cover_timestamp_ms -> Nullable<Int4>,
        video_bytes -> Int8,
        content_type -> Text,
        duration_ms -> Nullable<Int4>,
        media_id -> Nullable<Uuid>,
        scheduled_at -> Nullable<Timestamptz>,
        publish_id -> Nullable<Text>,
        tiktok_post_id -> Nullable<Text>,
        fail_code -> Nullable<Text>,
        fail_message -> Nullable<Text>,
        attempts -> Int4,
        lease_owner -> Nullable<Uuid>,
        lease_expires_at -> Nullable<Timestamptz>,
        next_check_at -> Nullable<Timestamptz>,
        status_checks -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        follow_until -> Nullable<Timestamptz>,
        upload_started_at -> Nullable<Timestamptz>,
        /// `coalesce(scheduled_at, created_at)`, kept by PostgreSQL (a generated column).
        listed_at -> Timestamptz,
        approval -> Text,
        approved_fingerprint -> Nullable<Text>,
        approved_by -> Nullable<Uuid>,
        approved_at -> Nullable<Timestamptz>,
        thumbnail_jpeg -> Nullable<Bytea>,
        downloaded_bytes -> Nullable<Int8>,
        /// A photo post's images in their order (media rows); `None` for a video post.
        photo_media_ids -> Nullable<Array<Uuid>>,
        photo_cover_index -> Nullable<Int4>,
        photo_title -> Nullable<Text>,
        auto_add_music -> Bool,
    }
}

diesel::table! {
    post_events (id) {
        id -> Int8,
        post_id -> Uuid,
        at -> Timestamptz,
        kind -> Text,
        message -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> Int8,
        team_id -> Uuid,
        kind -> Text,
        post_id -> Nullable<Uuid>,
        account_id -> Nullable<Uuid>,
        message -> Text,
        created_at -> Timestamptz,
        acknowledged_at -> Nullable<Timestamptz>,
        acknowledged_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    tiktok_calls (id) {
        id -> Int8,
        account_id -> Uuid,
        endpoint -> Text,
        called_at -> Timestamptz,
    }
}

diesel::table! {
    known_devices (token_hash) {
        token_hash -> Text,
        user_id -> Uuid,
        created_at -> Timestamptz,
        last_used_at -> Timestamptz,
    }
}

diesel::table! {
    tiktok_videos (account_id, video_id) {
        account_id -> Uuid,
        video_id -> Text,
        team_id -> Uuid,
        post_id -> Nullable<Uuid>,
        title -> Text,
        share_url -> Nullable<Text>,
        published_at -> Timestamptz,
        first_seen_at -> Timestamptz,
        last_seen_at -> Timestamptz,
        view_count -> Int8,
        like_count -> Int8,
        comment_count -> Int8,
        share_count -> Int8,
        views_48h -> Nullable<Int8>,
    }
}

diesel::table! {
    video_snapshots (account_id, video_id, taken_at) {
        account_id -> Uuid,
        video_id -> Text,
        taken_at -> Timestamptz,
        view_count -> Int8,
        like_count -> Int8,
        comment_count -> Int8,
        share_count -> Int8,
    }
}

diesel::table! {
    account_snapshots (account_id, taken_at) {
        account_id -> Uuid,
        taken_at -> Timestamptz,
        follower_count -> Nullable<Int8>,
        following_count -> Nullable<Int8>,
        likes_count -> Nullable<Int8>,
        video_count -> Nullable<Int8>,
        view_total -> Int8,
        like_total -> Int8,
        comment_total -> Int8,
        share_total -> Int8,
    }
}

diesel::table! {
    post_comments (id) {
        id -> Uuid,
        post_id -> Uuid,
        author_id -> Nullable<Uuid>,
        body -> Text,
        created_at -> Timestamptz,
        guest_name -> Nullable<Text>,
        preview_link_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    preview_links (id) {
        id -> Uuid,
        team_id -> Uuid,
        token_hash -> Text,
        label -> Text,
        created_by -> Nullable<Uuid>,
        created_at -> Timestamptz,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        revoked_by -> Nullable<Uuid>,
    }
}

diesel::table! {
    drafts (id) {
        id -> Uuid,
        team_id -> Uuid,
        created_by -> Nullable<Uuid>,
        account_id -> Nullable<Uuid>,
        choices -> Jsonb,
        media_id -> Nullable<Uuid>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        thumbnail_jpeg -> Nullable<Bytea>,
        photo_media_ids -> Nullable<Array<Uuid>>,
        photo -> Nullable<Jsonb>,
    }
}

diesel::table! {
    preview_link_posts (link_id, post_id) {
        link_id -> Uuid,
        post_id -> Uuid,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        team_id -> Uuid,
        actor_id -> Nullable<Uuid>,
        actor_name -> Text,
        at -> Timestamptz,
        subject -> Text,
        subject_id -> Nullable<Text>,
        action -> Text,
        summary -> Text,
        before -> Nullable<Jsonb>,
        after -> Nullable<Jsonb>,
    }
}

diesel::joinable!(memberships -> teams (team_id));
diesel::joinable!(tiktok_accounts -> teams (team_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(invites -> teams (team_id));
diesel::joinable!(posts -> tiktok_accounts (account_id));
diesel::joinable!(posts -> media (media_id));
diesel::joinable!(post_events -> posts (post_id));
diesel::joinable!(post_comments -> posts (post_id));
diesel::joinable!(post_comments -> users (author_id));
diesel::joinable!(tiktok_videos -> tiktok_accounts (account_id));
diesel::joinable!(account_snapshots -> tiktok_accounts (account_id));
diesel::joinable!(preview_links -> teams (team_id));
diesel::joinable!(drafts -> media (media_id));
diesel::joinable!(drafts -> tiktok_accounts (account_id));
diesel::joinable!(preview_link_posts -> preview_links (link_id));
diesel::joinable!(preview_link_posts -> posts (post_id));

diesel::allow_tables_to_appear_in_same_query!(
    users,
    teams,
    memberships,
    invites,
    login_failures,
    sessions,
    tiktok_accounts,
    oauth_states,
    tiktok_webhook_events,
    media,
    posts,
    post_events,
    post_comments,
    notifications,
    tiktok_calls,
    known_devices,
    tiktok_videos,
    video_snapshots,
    account_snapshots,
    preview_links,
    preview_link_posts,
    drafts
);

diesel::table! {
    email_preferences (team_id, user_id) {
        team_id -> Uuid,
        user_id -> Uuid,
        post_failed -> Bool,
        post_unconfirmed -> Bool,
        account_reconnect -> Bool,
        grant_ending -> Bool,
        daily_digest -> Bool,
        updated_at -> Timestamptz,
        approval_requested -> Bool,
        approval_answered -> Bool,
    }
}

diesel::table! {
    email_delivery (singleton) {
        singleton -> Bool,
        enabled -> Bool,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Int8,
        message_id -> Uuid,
        team_id -> Nullable<Uuid>,
        recipient -> Text,
        kind -> Text,
        subject -> Text,
        body -> Text,
        link_path -> Text,
        dedupe_key -> Nullable<Text>,
        created_at -> Timestamptz,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        locked_until -> Nullable<Timestamptz>,
        sent_at -> Nullable<Timestamptz>,
        gave_up_at -> Nullable<Timestamptz>,
        last_error -> Nullable<Text>,
    }
}

diesel::table! {
    media_pulls (id) {
        id -> Uuid,
        token_hash -> Bytea,
        post_id -> Uuid,
        media_id -> Uuid,
        publish_id -> Nullable<Text>,
        expires_at -> Timestamptz,
        revoked_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        requests -> Int4,
        bytes_served -> Int8,
        last_pulled_at -> Nullable<Timestamptz>,
    }
}
