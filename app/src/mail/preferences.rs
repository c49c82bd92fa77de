//! Which e-mails each member gets from each of their teams (`email_preferences`).

use crate::{db::schema::email_preferences, notifications::types::EmailPreferences};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// The member's choices in `team_id`, or the defaults if they never chose.
pub async fn load(conn: &mut AsyncPgConnection, team_id: Uuid, user_id: Uuid) -> QueryResult<EmailPreferences> {
    let row: Option<(bool, bool, bool, bool, bool, bool, bool)> = email_preferences::table
        .find((team_id, user_id))
        .select((
            email_preferences::post_failed,
            email_preferences::post_unconfirmed,
            email_preferences::account_reconnect,
            email_preferences::grant_ending,
            email_preferences::daily_digest,
            email_preferences::approval_requested,
            email_preferences::approval_answered,
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(row.map_or_else(
        EmailPreferences::default,
        |(post_failed, post_unconfirmed, account_reconnect, grant_ending, daily_digest, approval_requested, approval_answered)| {
            EmailPreferences { post_failed, post_unconfirmed, account_reconnect, grant_ending, daily_digest, approval_requested, approval_answered }
        },
    ))
}

/// Stores the member's choices in `team_id` (they must be a member: the row refers to it).
pub async fn save(conn: &mut AsyncPgConnection, team_id: Uuid, user_id: Uuid, choices: EmailPreferences) -> QueryResult<()> {
    let values = || {
        (
            email_preferences::post_failed.eq(choices.post_failed),
            email_preferences::post_unconfirmed.eq(choices.post_unconfirmed),
            email_preferences::account_reconnect.eq(choices.account_reconnect),
            email_preferences::grant_ending.eq(choices.grant_ending),
            email_preferences::daily_digest.eq(choices.daily_digest),
            email_preferences::approval_requested.eq(choices.approval_requested),
            email_preferences::approval_answered.eq(choices.approval_answered),
            email_preferences::updated_at.eq(diesel::dsl::now),
        )
    };
    diesel::insert_into(email_preferences::table)
        .values((email_preferences::team_id.eq(team_id), email_preferences::user_id.eq(user_id), values()))
        .on_conflict((email_preferences::team_id, email_preferences::user_id))
        .do_update()
        .set(values())
        .execute(conn)
        .await
        .map(|_| ())
}
