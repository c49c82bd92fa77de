//! TikTok's cap on pending inbox shares (tiktok-api.md §5, `spam_risk_too_many_pending_share`):
//! at most 5 drafts shared in the last 24 h that the creator has not posted yet and that did not
//! fail. Counted from the posts themselves, so a draft the creator posts, or one that fails,
//! frees its place at once, as it does at TikTok.
//!
//! A draft being sent has no publish id yet, so it cannot be counted by its state; it holds a
//! place as a short-lived row in `tiktok_calls` from the check until its publish id is stored.
//! The count and that row are taken under the same per-account advisory lock as
//! `tiktok::rate_limit`, so servers sharing the database never send a sixth together.

use crate::{
    db::schema::{posts, tiktok_calls},
    posts::types::{Destination, PostState},
    tiktok::rate_limit::{DAY, LimitedEndpoint, calls_lock, lock_for, record_call, release_latest},
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// Drafts a creator may have pending at once.
pub const PENDING_ALLOWED: usize = 5;
/// A waiting draft asks again at least this often: a pending share frees up whenever the
/// creator posts it, which no clock can foresee.
pub const RECHECK: Duration = Duration::from_secs(5 * 60);
/// States of a draft TikTok counts as pending: on its way (it counts from the init) or in the
/// inbox. Published (posted by the creator), failed and cancelled ones do not count.
const PENDING_STATES: [PostState; 3] = [PostState::Uploading, PostState::Processing, PostState::InInbox];

/// Takes a place for one more draft of `account_id`, or says how long to wait before asking
/// again (never more than [`RECHECK`]).
pub async fn try_reserve(conn: &mut AsyncPgConnection, account_id: Uuid, now: OffsetDateTime) -> QueryResult<Result<(), Duration>> {
    let sending = LimitedEndpoint::InboxShareSending;
    conn.transaction(async |conn| {
        lock_for(conn, &calls_lock(account_id, sending)).await?;
        // When each counted draft stops counting at the latest: 24 h after its upload started,
        // or, for one being sent, when its place lapses.
        let shared: Vec<OffsetDateTime> = posts::table
            .filter(posts::account_id.eq(account_id))
            .filter(posts::destination.eq(Destination::Inbox.as_str()))
            .filter(posts::state.eq_any(PENDING_STATES.map(PostState::as_str)))
            .filter(posts::upload_started_at.gt(now - DAY))
            .select(posts::upload_started_at.assume_not_null())
            .load(conn)
            .await?;
        let being_sent: Vec<OffsetDateTime> = tiktok_calls::table
            .filter(tiktok_calls::account_id.eq(account_id))
            .filter(tiktok_calls::endpoint.eq(sending.name()))
            .filter(tiktok_calls::called_at.gt(now - sending.window()))
            .select(tiktok_calls::called_at)
            .load(conn)
            .await?;
        let lapses = shared.iter().map(|at| *at + DAY).chain(being_sent.iter().map(|at| *at + sending.window()));
        if shared.len() + being_sent.len() >= PENDING_ALLOWED {
            let first = lapses.min().map_or(RECHECK, |at| Duration::from_millis((at - now).whole_milliseconds().max(1) as u64));
            return Ok(Err(first.min(RECHECK)));
        }
        record_call(conn, account_id, sending, now).await?;
        Ok(Ok(()))
    })
    .await
}

/// Gives back the place of a draft that now counts by its own state (its publish id is stored),
/// or that will not be sent after all. Places are alike, so any one of the account's goes.
pub async fn release(conn: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<usize> {
    release_latest(conn, account_id, LimitedEndpoint::InboxShareSending).await
}
