//! A sender's claim on a post: written and compared with the database's clock, renewed while
//! the send runs, and ended by the sender's own timer before anyone else may take the post.
//!
//! Why the timer: a renewal that *hangs* (a stalled database connection, an exhausted pool) must
//! stop the sender as surely as one that fails, or another server's recovery could take the
//! post over while this one still uploads. The deadline is counted on this process's monotonic
//! clock from the moment the last confirmed renewal was sent, which is never later than the
//! database's `now()` that renewal wrote, so clock skew between servers does not matter.

use crate::{db::schema::posts, posts::types::PostState, state::AppState};
use diesel::{
    PgExpressionMethods as _,
    dsl::{now, sql},
    prelude::*,
    sql_types::{Nullable, Timestamptz},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

/// `now() + length` in SQL: every lease is written with the database's clock.
pub fn db_now_plus(length: Duration) -> diesel::expression::SqlLiteral<Nullable<Timestamptz>> {
    // A number formatted into the SQL, never text from outside.
    sql::<Nullable<Timestamptz>>(&format!("now() + interval '{} milliseconds'", length.as_millis()))
}

/// How much of a lease a sender leaves unused: it stops this long before the lease could lapse,
/// so bytes already on the wire land while the claim still holds.
pub fn safety_margin(lease: Duration) -> Duration {
    lease / 4
}

/// Who may write to a post being sent: the lease owner for the publish id it knows. Recovery
/// and a sender that lost the post write nothing when either differs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fence {
    pub owner: Option<Uuid>,
    pub publish_id: Option<String>,
}

impl Fence {
    pub fn of(post: &crate::posts::ssr::Post) -> Self {
        Self { owner: post.lease_owner, publish_id: post.publish_id.clone() }
    }
}

/// Inside a transaction: locks the post's row if it is still `uploading` under `fence`, so the
/// writes that follow in the same transaction cannot race a takeover. False: someone else's.
pub async fn still_held(conn: &mut AsyncPgConnection, post_id: Uuid, fence: &Fence) -> QueryResult<bool> {
    let held: Option<Uuid> = posts::table
        .find(post_id)
        .filter(posts::state.eq(PostState::Uploading.as_str()))
        .filter(posts::lease_owner.is_not_distinct_from(fence.owner))
        .filter(posts::publish_id.is_not_distinct_from(fence.publish_id.clone()))
        .select(posts::id)
        .for_update()
        .first(conn)
        .await
        .optional()?;
    Ok(held.is_some())
}

/// Why [`hold`] returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseEnd {
    /// Another holder has the post (recovery took it over, or it settled).
    Lost,
    /// Renewals did not get through in time: the lease may lapse soon.
    Expiring,
}

/// Renews `owner`'s lease on `post_id` every third of its length, and returns before it could
/// lapse unless every renewal got through. `confirmed_at` is an instant no later than the
/// database's `now()` of the claim (taken before the claim was sent).
pub async fn hold(state: &AppState, post_id: Uuid, owner: Uuid, confirmed_at: Instant) -> LeaseEnd {
    let lease = state.config.publish_lease;
    let interval = lease / 3;
    let mut confirmed_from = confirmed_at;
    let mut wait = interval;
    loop {
        let stop_at = confirmed_from + lease - safety_margin(lease);
        let renewal = async {
            tokio::time::sleep(wait).await;
            let sent_at = Instant::now();
            (sent_at, renew(state, post_id, owner, lease).await)
        };
        // Everything a renewal waits on (the pool, the network, PostgreSQL) is bounded here.
        match tokio::time::timeout_at(stop_at, renewal).await {
            Err(_elapsed) => return LeaseEnd::Expiring,
            Ok((_, Ok(false))) => return LeaseEnd::Lost,
            Ok((sent_at, Ok(true))) => {
                confirmed_from = sent_at;
                wait = interval;
            }
            Ok((_, Err(error))) => {
                tracing::warn!(post = %post_id, error = %error, "renewing a publish lease failed; trying again");
                wait = interval / 4;
            }
        }
    }
}

async fn renew(state: &AppState, post_id: Uuid, owner: Uuid, lease: Duration) -> Result<bool, crate::error::AppError> {
    let mut conn = state.pool.get().await?;
    let renewed = diesel::update(
        posts::table
            .find(post_id)
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::lease_owner.eq(Some(owner)))
            // A lapsed lease stays lapsed: recovery may already be looking at the post.
            .filter(posts::lease_expires_at.gt(now)),
    )
    .set(posts::lease_expires_at.eq(db_now_plus(lease)))
    .execute(&mut conn)
    .await?;
    Ok(renewed > 0)
}
