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
    }
}

diesel::table! {
    teams (id) {
        id -> Uuid,
        name -> Text,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    memberships (team_id, user_id) {
        team_id -> Uuid,
        user_id -> Uuid,
        role -> Text,
        created_at -> Timestamptz,
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

diesel::joinable!(memberships -> teams (team_id));
diesel::joinable!(memberships -> users (user_id));
diesel::joinable!(invites -> teams (team_id));

diesel::allow_tables_to_appear_in_same_query!(users, teams, memberships, invites, login_failures, sessions);
