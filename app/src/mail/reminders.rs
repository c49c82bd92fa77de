//! E-mails nobody's action triggers: TikTok grants about to end (two weeks and three days
//! ahead, as the dashboard warns) and the daily digest for members who asked for it. Each is
//! queued once, by a key, however often and on however many servers the job runs.

use crate::{
    accounts::types::{RECONNECT_SOON, RECONNECT_URGENT},
    calendar::zone,
    mail::{compose, outbox::{self, EmailKind}},
};
use diesel::{
    QueryableByName,
    sql_types::{BigInt, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

#[derive(QueryableByName)]
struct EndingGrant {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    team_id: Uuid,
    #[diesel(sql_type = Text)]
    team_name: String,
    #[diesel(sql_type = Text)]
    display_name: String,
    #[diesel(sql_type = Timestamptz)]
    refresh_expires_at: OffsetDateTime,
}

/// Queues a warning for each connected account whose grant ends within two weeks, once for the
/// two-week mark and once for the three-day mark. Returns the e-mails queued.
pub async fn queue_grant_endings(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> diesel::QueryResult<usize> {
    let ending: Vec<EndingGrant> = diesel::sql_query(
        "SELECT a.id, a.team_id, t.name AS team_name, a.display_name, a.refresh_expires_at \
         FROM tiktok_accounts a JOIN teams t ON t.id = a.team_id \
         WHERE a.status = 'active' AND a.refresh_expires_at > $1 AND a.refresh_expires_at <= $2",
    )
    .bind::<Timestamptz, _>(now)
    .bind::<Timestamptz, _>(now + RECONNECT_SOON)
    .load(conn)
    .await?;
    let mut queued = 0;
    for grant in ending {
        let left = grant.refresh_expires_at - now;
        let stage = if left <= RECONNECT_URGENT { "urgent" } else { "soon" };
        let (subject, body) = compose::grant_ending(&grant.team_name, &grant.display_name, left.whole_days());
        // The grant's end is part of the key: a reconnected account gets a new end, and warnings anew.
        let key = format!("grant_ending:{}:{}:{stage}", grant.id, grant.refresh_expires_at.unix_timestamp());
        let letter = compose::letter(EmailKind::GrantEnding, &subject, &body, "/accounts");
        queued += outbox::enqueue_for_team(conn, grant.team_id, outbox::Audience::Everyone, &letter, Some(&key)).await?;
    }
    Ok(queued)
}

#[derive(QueryableByName)]
struct DigestReader {
    #[diesel(sql_type = SqlUuid)]
    team_id: Uuid,
    #[diesel(sql_type = SqlUuid)]
    user_id: Uuid,
    #[diesel(sql_type = Text)]
    email: String,
    #[diesel(sql_type = Text)]
    time_zone: String,
    #[diesel(sql_type = Text)]
    team_name: String,
}

#[derive(QueryableByName)]
struct Figures {
    #[diesel(sql_type = BigInt)]
    published: i64,
    #[diesel(sql_type = BigInt)]
    failed: i64,
    #[diesel(sql_type = BigInt)]
    scheduled_next_day: i64,
    #[diesel(sql_type = BigInt)]
    open_notifications: i64,
}

/// The hour on a member's wall clock from which their digest for the day goes out.
pub const DIGEST_HOUR: i8 = 8;

/// Queues the day's digest for every member who asked for one and whose wall clock has passed
/// [`DIGEST_HOUR`]; once per member, team and local date. Returns the e-mails queued.
pub async fn queue_digests(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> diesel::QueryResult<usize> {
    let readers: Vec<DigestReader> = diesel::sql_query(
        "SELECT m.team_id, m.user_id, u.email, u.time_zone, t.name AS team_name \
         FROM email_preferences p \
         JOIN memberships m ON m.team_id = p.team_id AND m.user_id = p.user_id \
         JOIN users u ON u.id = m.user_id JOIN teams t ON t.id = m.team_id \
         WHERE p.daily_digest AND EXISTS (SELECT 1 FROM email_delivery WHERE enabled)",
    )
    .load(conn)
    .await?;
    let mut queued = 0;
    for reader in readers {
        let local = zone::local(now, &zone::zone(&reader.time_zone));
        if local.hour() < DIGEST_HOUR {
            continue;
        }
        let date = local.date().to_string();
        let key = format!("daily_digest:{}:{}:{date}", reader.team_id, reader.user_id);
        let figures = figures(conn, reader.team_id, now).await?;
        let (subject, body) = compose::digest(&reader.team_name, &date, &figures);
        let letter = compose::letter(EmailKind::DailyDigest, &subject, &body, "/");
        queued += outbox::enqueue_to(conn, reader.team_id, &reader.email, &letter, Some(&key)).await?;
    }
    Ok(queued)
}

async fn figures(conn: &mut AsyncPgConnection, team_id: Uuid, now: OffsetDateTime) -> diesel::QueryResult<compose::DigestFigures> {
    let row: Figures = diesel::sql_query(
        "SELECT \
           (SELECT count(*) FROM posts WHERE team_id = $1 AND state = 'published' AND updated_at > $2 - interval '1 day') AS published, \
           (SELECT count(*) FROM posts WHERE team_id = $1 AND state = 'failed' AND updated_at > $2 - interval '1 day') AS failed, \
           (SELECT count(*) FROM posts WHERE team_id = $1 AND state = 'scheduled' AND scheduled_at <= $2 + interval '1 day') AS scheduled_next_day, \
           (SELECT count(*) FROM notifications WHERE team_id = $1 AND acknowledged_at IS NULL) AS open_notifications",
    )
    .bind::<SqlUuid, _>(team_id)
    .bind::<Timestamptz, _>(now)
    .get_result(conn)
    .await?;
    Ok(compose::DigestFigures {
        published: row.published,
        failed: row.failed,
        scheduled_next_day: row.scheduled_next_day,
        open_notifications: row.open_notifications,
    })
}
