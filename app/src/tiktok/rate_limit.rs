//! TikTok's per-token rate limits and per-creator daily caps (tiktok-api.md §5), kept before
//! calling rather than learned from 429s and spam-risk refusals. Recent calls per account and
//! endpoint live in PostgreSQL and are counted and recorded under a transaction-scoped advisory
//! lock, so several servers sharing one database never overrun a limit together (no
//! read-then-write race).

use diesel::{prelude::*, sql_types::Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tiktok_calls;

/// The sliding window of the per-minute limits.
pub const MINUTE: Duration = Duration::from_secs(60);
/// The window of the daily caps.
pub const DAY: Duration = Duration::from_secs(24 * 3600);

/// An endpoint with a documented per-token limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitedEndpoint {
    /// `video/init` and `inbox/video/init`: 6 per minute.
    PublishInit,
    /// `creator_info/query`: 20 per minute.
    CreatorInfo,
    /// `status/fetch`: 30 per minute.
    PublishStatus,
    /// Direct posts per creator: about 15 a day across every app.
    DirectPostsPerDay,
    /// A draft being sent to the inbox, holding its place among the 5 pending shares until its
    /// publish id is stored (`publishing::inbox_cap`); lapses if its server dies mid-send.
    InboxShareSending,
}

impl LimitedEndpoint {
    pub fn name(self) -> &'static str {
        match self {
            Self::PublishInit => "publish_init",
            Self::CreatorInfo => "creator_info",
            Self::PublishStatus => "publish_status",
            Self::DirectPostsPerDay => "direct_posts_per_day",
            Self::InboxShareSending => "inbox_share_sending",
        }
    }

    pub fn window(self) -> Duration {
        match self {
            Self::DirectPostsPerDay => DAY,
            // An init and its answer take seconds; this is a server that died mid-send.
            Self::InboxShareSending => Duration::from_secs(10 * 60),
            _ => MINUTE,
        }
    }

    /// Calls allowed within one [`LimitedEndpoint::window`].
    pub fn allowed(self) -> i64 {
        match self {
            Self::PublishInit => 6,
            Self::CreatorInfo => 20,
            Self::PublishStatus => 30,
            Self::DirectPostsPerDay => 15,
            // Counted together with the pending drafts themselves (`publishing::inbox_cap`).
            Self::InboxShareSending => 5,
        }
    }
}

/// Takes the transaction-scoped advisory lock named `name`: every count-then-write of shared
/// limits (TikTok's per-account windows, the inbox cap, post ids, a team's media quota) goes
/// through here, so servers sharing the database take turns rather than race. Held until the
/// surrounding transaction ends; outside one it would be released at once.
pub async fn lock_for(conn: &mut AsyncPgConnection, name: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(name)
        .execute(conn)
        .await
        .map(|_| ())
}

/// The lock name of `endpoint`'s calls for `account_id`.
pub fn calls_lock(account_id: Uuid, endpoint: LimitedEndpoint) -> String {
    format!("tiktok_calls:{account_id}:{}", endpoint.name())
}

/// Records one call to `endpoint` for `account_id` at `at`.
pub async fn record_call(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    endpoint: LimitedEndpoint,
    at: OffsetDateTime,
) -> QueryResult<()> {
    diesel::insert_into(tiktok_calls::table)
        .values((
            tiktok_calls::account_id.eq(account_id),
            tiktok_calls::endpoint.eq(endpoint.name()),
            tiktok_calls::called_at.eq(at),
        ))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Records one call to `endpoint` for `account_id` if the window has room; otherwise says how
/// long until it will.
pub async fn try_acquire(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    endpoint: LimitedEndpoint,
    now: OffsetDateTime,
) -> QueryResult<Result<(), Duration>> {
    conn.transaction(async |conn| {
        lock_for(conn, &calls_lock(account_id, endpoint)).await?;
        let window_start = now - endpoint.window();
        let in_window = tiktok_calls::table
            .filter(tiktok_calls::account_id.eq(account_id))
            .filter(tiktok_calls::endpoint.eq(endpoint.name()))
            .filter(tiktok_calls::called_at.gt(window_start));
        let recent: Vec<OffsetDateTime> =
            in_window.select(tiktok_calls::called_at).order(tiktok_calls::called_at.asc()).load(conn).await?;
        if recent.len() as i64 >= endpoint.allowed() {
            // Room opens when the oldest call in the window leaves it.
            let wait = (recent[0] + endpoint.window()) - now;
            return Ok(Err(Duration::from_millis(wait.whole_milliseconds().max(1) as u64)));
        }
        record_call(conn, account_id, endpoint, now).await?;
        Ok(Ok(()))
    })
    .await
}

/// Gives back the most recent call recorded for `endpoint` (the call it stood for did not
/// happen after all, e.g. TikTok refused the init a daily slot was taken for).
pub async fn release_latest(conn: &mut AsyncPgConnection, account_id: Uuid, endpoint: LimitedEndpoint) -> QueryResult<usize> {
    let latest: Option<i64> = tiktok_calls::table
        .filter(tiktok_calls::account_id.eq(account_id))
        .filter(tiktok_calls::endpoint.eq(endpoint.name()))
        .order(tiktok_calls::id.desc())
        .select(tiktok_calls::id)
        .first(conn)
        .await
        .optional()?;
    match latest {
        Some(id) => diesel::delete(tiktok_calls::table.find(id)).execute(conn).await,
        None => Ok(0),
    }
}

/// Deletes calls that left their window (a scheduler job).
pub async fn prune(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    let longer = [LimitedEndpoint::DirectPostsPerDay.name(), LimitedEndpoint::InboxShareSending.name()];
    let minutely = diesel::delete(
        tiktok_calls::table.filter(tiktok_calls::endpoint.ne_all(longer)).filter(tiktok_calls::called_at.lt(now - MINUTE)),
    )
    .execute(conn)
    .await?;
    let sending = LimitedEndpoint::InboxShareSending;
    let lapsed = diesel::delete(
        tiktok_calls::table
            .filter(tiktok_calls::endpoint.eq(sending.name()))
            .filter(tiktok_calls::called_at.lt(now - sending.window())),
    )
    .execute(conn)
    .await?;
    // Everything else older than a day, including rows of names no longer used.
    let daily = diesel::delete(tiktok_calls::table.filter(tiktok_calls::called_at.lt(now - DAY))).execute(conn).await?;
    Ok(minutely + lapsed + daily)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_tiktoks_documented_ones() {
        assert_eq!(LimitedEndpoint::PublishInit.allowed(), 6);
        assert_eq!(LimitedEndpoint::CreatorInfo.allowed(), 20);
        assert_eq!(LimitedEndpoint::PublishStatus.allowed(), 30);
        assert_eq!((LimitedEndpoint::DirectPostsPerDay.allowed(), LimitedEndpoint::DirectPostsPerDay.window()), (15, DAY));
    }
}
