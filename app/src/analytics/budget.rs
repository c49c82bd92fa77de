//! The Display API's 600 calls a minute, kept before calling. TikTok does not say whether the
//! limit is per token or per app (tiktok-api.md §5), so Cadence takes the reading that can
//! never overrun: one budget for the whole app, shared by every account and every server, and
//! counted in PostgreSQL under an advisory lock like the posting limits. Within it each account
//! gets at most a fair share per minute, so one account with thousands of videos cannot starve
//! the others.

use diesel::{prelude::*, sql_types::Text};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::db::schema::tiktok_calls;
use crate::tiktok::rate_limit::MINUTE;

/// TikTok's documented limit for each Display API endpoint.
pub const PER_MINUTE: i64 = 600;
/// The least share of an endpoint's minute an account may use: one full listing of 400 videos.
pub const MIN_SHARE: i64 = 20;

/// A Display API endpoint with its own 600-a-minute window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DisplayCall {
    /// `/v2/video/list/`
    VideoList,
    /// `/v2/user/info/`
    UserInfo,
}

impl DisplayCall {
    /// The `tiktok_calls.endpoint` name. Minute-long, so the rate-limit pruning job clears it.
    pub fn name(self) -> &'static str {
        match self {
            Self::VideoList => "display_video_list",
            Self::UserInfo => "display_user_info",
        }
    }
}

/// An account's share of a minute when `accounts` accounts are collected: an equal part,
/// never below [`MIN_SHARE`] nor above the whole budget.
pub fn fair_share(accounts: i64) -> i64 {
    (PER_MINUTE / accounts.max(1)).clamp(MIN_SHARE, PER_MINUTE)
}

/// Records one call for `account_id` if both the app's minute and the account's share have
/// room; otherwise says how long until they will.
pub async fn try_acquire(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    call: DisplayCall,
    share: i64,
    now: OffsetDateTime,
) -> QueryResult<Result<(), Duration>> {
    conn.transaction(async |conn| {
        // One lock per endpoint for the whole app: every server counts and records in turn.
        diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
            .bind::<Text, _>(format!("tiktok_calls:app:{}", call.name()))
            .execute(conn)
            .await?;
        let window_start = now - MINUTE;
        let recent: Vec<(Uuid, OffsetDateTime)> = tiktok_calls::table
            .filter(tiktok_calls::endpoint.eq(call.name()))
            .filter(tiktok_calls::called_at.gt(window_start))
            .order(tiktok_calls::called_at.asc())
            .select((tiktok_calls::account_id, tiktok_calls::called_at))
            .load(conn)
            .await?;
        let wait_for = |oldest: OffsetDateTime| {
            let wait = (oldest + MINUTE) - now;
            Duration::from_millis(wait.whole_milliseconds().max(1) as u64)
        };
        if recent.len() as i64 >= PER_MINUTE {
            return Ok(Err(wait_for(recent[0].1)));
        }
        let own: Vec<OffsetDateTime> = recent.iter().filter(|(id, _)| *id == account_id).map(|(_, at)| *at).collect();
        if own.len() as i64 >= share {
            return Ok(Err(wait_for(own[0])));
        }
        diesel::insert_into(tiktok_calls::table)
            .values((
                tiktok_calls::account_id.eq(account_id),
                tiktok_calls::endpoint.eq(call.name()),
                tiktok_calls::called_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(Ok(()))
    })
    .await
}

/// Calls recorded for `call` in the minute before `now`, across the app (tests and metrics).
pub async fn calls_in_minute(conn: &mut AsyncPgConnection, call: DisplayCall, now: OffsetDateTime) -> QueryResult<i64> {
    tiktok_calls::table
        .filter(tiktok_calls::endpoint.eq(call.name()))
        .filter(tiktok_calls::called_at.gt(now - MINUTE))
        .filter(tiktok_calls::called_at.le(now))
        .count()
        .get_result(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_equal_parts_within_bounds() {
        assert_eq!(fair_share(1), 600);
        assert_eq!(fair_share(0), 600);
        assert_eq!(fair_share(10), 60);
        assert_eq!(fair_share(100), MIN_SHARE, "never less than one account's full listing");
        assert_eq!(DisplayCall::VideoList.name(), "display_video_list");
    }
}
