//! Notifications in PostgreSQL: written when a post fails or cannot be confirmed and when an
//! account needs reconnecting; read and acknowledged per team.

use crate::{
    db::schema::{notifications, posts, teams, tiktok_accounts},
    error::{AppError, AppResult},
    notifications::types::{NotificationKind, NotificationView},
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// Records that `post_id` needs attention.
pub async fn notify_post(conn: &mut AsyncPgConnection, post_id: Uuid, kind: NotificationKind, message: &str) -> QueryResult<()> {
    let team_id: Uuid = posts::table.find(post_id).select(posts::team_id).first(conn).await?;
    diesel::insert_into(notifications::table)
        .values((
            notifications::team_id.eq(team_id),
            notifications::kind.eq(kind.as_str()),
            notifications::post_id.eq(Some(post_id)),
            notifications::message.eq(message),
        ))
        .execute(conn)
        .await?;
    queue_email(conn, team_id, kind, message, &format!("/posts/{post_id}")).await
}

/// Queues the e-mail of a notification for the members who want it, on the caller's
/// connection (so in the caller's transaction: no notification without its e-mail, and none
/// the other way round).
async fn queue_email(conn: &mut AsyncPgConnection, team_id: Uuid, kind: NotificationKind, message: &str, link_path: &str) -> QueryResult<()> {
    use crate::mail::{compose, outbox::{self, Audience}};
    let team: String = teams::table.find(team_id).select(teams::name).first(conn).await?;
    let (email_kind, subject, body) = compose::for_notification(kind, &team, message);
    // Only approvers can act on a post that waits for approval.
    let audience = if kind == NotificationKind::AwaitingApproval { Audience::Approvers } else { Audience::Everyone };
    let letter = compose::letter(email_kind, &subject, &body, link_path);
    outbox::enqueue_for_team(conn, team_id, audience, &letter, None).await.map(|_| ())
}

/// Records that an account needs reconnecting (once while it stays open).
pub async fn notify_account(conn: &mut AsyncPgConnection, account_id: Uuid, message: &str) -> QueryResult<()> {
    let open: i64 = notifications::table
        .filter(notifications::account_id.eq(account_id))
        .filter(notifications::acknowledged_at.is_null())
        .count()
        .get_result(conn)
        .await?;
    if open > 0 {
        return Ok(());
    }
    let (team_id, name): (Uuid, String) = tiktok_accounts::table
        .find(account_id)
        .select((tiktok_accounts::team_id, tiktok_accounts::display_name))
        .first(conn)
        .await?;
    let message = format!("{name}: {message}");
    diesel::insert_into(notifications::table)
        .values((
            notifications::team_id.eq(team_id),
            notifications::kind.eq(NotificationKind::AccountNeedsReconnect.as_str()),
            notifications::account_id.eq(Some(account_id)),
            notifications::message.eq(&message),
        ))
        .execute(conn)
        .await?;
    queue_email(conn, team_id, NotificationKind::AccountNeedsReconnect, &message, "/accounts").await
}

/// The team's notifications nobody acknowledged yet, newest first.
pub async fn open_for_team(conn: &mut AsyncPgConnection, team_id: Uuid) -> AppResult<Vec<NotificationView>> {
    let rows: Vec<(i64, String, String, Option<Uuid>, Option<Uuid>, OffsetDateTime)> = notifications::table
        .filter(notifications::team_id.eq(team_id))
        .filter(notifications::acknowledged_at.is_null())
        .order(notifications::id.desc())
        .limit(100)
        .select((
            notifications::id,
            notifications::kind,
            notifications::message,
            notifications::post_id,
            notifications::account_id,
            notifications::created_at,
        ))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, kind, message, post_id, account_id, created_at)| {
            Some(NotificationView { id, kind: NotificationKind::parse(&kind)?, message, post_id, account_id, created_at })
        })
        .collect())
}

/// Marks one of the team's notifications as seen by `user_id`.
pub async fn acknowledge(conn: &mut AsyncPgConnection, team_id: Uuid, id: i64, user_id: Uuid) -> AppResult<()> {
    let updated = diesel::update(
        notifications::table
            .filter(notifications::id.eq(id))
            .filter(notifications::team_id.eq(team_id))
            .filter(notifications::acknowledged_at.is_null()),
    )
    .set((notifications::acknowledged_at.eq(Some(OffsetDateTime::now_utc())), notifications::acknowledged_by.eq(Some(user_id))))
    .execute(conn)
    .await?;
    if updated == 0 {
        return Err(AppError::NotFound("Notification".into()));
    }
    Ok(())
}

/// Closes the open notifications of a post (it was retried) or an account (it was reconnected).
pub async fn resolve(conn: &mut AsyncPgConnection, post_id: Option<Uuid>, account_id: Option<Uuid>, user_id: Option<Uuid>) -> QueryResult<usize> {
    let now = OffsetDateTime::now_utc();
    let open = notifications::table.filter(notifications::acknowledged_at.is_null());
    match (post_id, account_id) {
        (Some(post), _) => {
            diesel::update(open.filter(notifications::post_id.eq(post)))
                .set((notifications::acknowledged_at.eq(Some(now)), notifications::acknowledged_by.eq(user_id)))
                .execute(conn)
                .await
        }
        (None, Some(account)) => {
            diesel::update(open.filter(notifications::account_id.eq(account)))
                .set((notifications::acknowledged_at.eq(Some(now)), notifications::acknowledged_by.eq(user_id)))
                .execute(conn)
                .await
        }
        (None, None) => Ok(0),
    }
}
