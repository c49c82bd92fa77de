//! Publishing scheduled posts when their time comes: posts due within the lead are claimed
//! under a lease with `FOR UPDATE SKIP LOCKED` (so each is taken by exactly one server),
//! checked against the creator's current rules and TikTok's limits, and handed to TikTok at
//! their moment, outside any transaction, many at a time (the uploads fewer): pulled by TikTok
//! from Cadence when a verified media URL is configured, else streamed.

use crate::{
    accounts::ssr::refresh_creator_info,
    approvals::{ssr as approvals, types::Approval},
    db::schema::{posts, teams},
    error::AppResult,
    media::catalog,
    posts::{
        ssr::{self as post_store, Post},
        types::{Destination, PostState},
    },
    publishing::{
        lease::{self, Fence, LeaseEnd, db_now_plus},
        recovery::{Recovered, Resend, Sent, reconcile},
        pull::send_by_pull,
        retry::next_delay,
        send::{InitMoment, SendError, SendTurns, release_daily_slot, send_video},
    },
    state::AppState,
    tiktok::error::{TikTokError, for_people},
};
use diesel::{PgExpressionMethods as _, prelude::*};
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use std::{ops::ControlFlow, time::Duration};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a claim holds before another server may take the post over, unless
/// `CADENCE_PUBLISH_LEASE_SECS` says otherwise. The sender renews it every third of that while
/// it works, and stops by itself before it could run out (see `lease`).
pub const DEFAULT_LEASE: time::Duration = time::Duration::minutes(3);

/// How long a due photo post is left to servers that have a media URL before one without takes
/// it, only to fail it with what to set. Servers of one installation normally share their
/// settings; this covers a fleet part-way through getting `CADENCE_MEDIA_PUBLIC_URL`.
pub const PHOTO_HANDOFF: time::Duration = time::Duration::minutes(5);

/// Most posts one run keeps in flight, started or waiting for an upload turn. Each waiting post
/// is a small task holding a lease; the bound keeps a burst far larger than the upload rate
/// from outwaiting TikTok's hour-long upload URLs.
const MAX_IN_FLIGHT: usize = 1024;

/// Sends every scheduled post that is due at `now`, and any that fall due while earlier ones are
/// being sent. Returns how many were taken.
pub async fn publish_due(state: &AppState, now: OffsetDateTime, worker: Uuid) -> AppResult<usize> {
    // Each send is its own task, so a send holding a pooled connection never waits on this loop
    // (which may itself be waiting for a connection to claim more). Dropping the set (a stopped
    // run) aborts the sends mid-way, as a killed server would.
    let mut sending = tokio::task::JoinSet::new();
    // Posts this run has handled: one it sent back to wait is not taken again in the same run,
    // however far ahead `now` is.
    let mut taken: Vec<Uuid> = Vec::new();
    let mut claim_error = None;
    // `CADENCE_PUBLISH_CONCURRENCY` posts are started at once (creator look-up, limits, init:
    // waiting on TikTok, not on this machine); a post gives its place up once TikTok has its
    // publish id, and then waits for one of `CADENCE_PUBLISH_UPLOADS` upload turns. So a burst of
    // due posts reaches TikTok's init at the pace of the starts, not of the uploads, and the
    // burst spreads over every server, each claiming only what it has places for.
    let starts = std::sync::Arc::new(tokio::sync::Semaphore::new(state.config.publish_concurrency.max(1)));
    let uploads = std::sync::Arc::new(tokio::sync::Semaphore::new(state.config.publish_uploads.max(1)));
    loop {
        let room = starts.available_permits().min(MAX_IN_FLIGHT.saturating_sub(sending.len()));
        // Whether more posts may be due than this claim had room for.
        let mut full_claim = room == 0;
        // A failed claim stops claiming but lets the posts already claimed finish (dropping
        // them would cut their uploads).
        if claim_error.is_none() && room > 0 {
            // `now` may be ahead of the clock (tests, catching up); a long run moves with it.
            let claim_time = now.max(OffsetDateTime::now_utc());
            match claim_due(state, claim_time, worker, room, &taken).await {
                Ok((claimed, _)) if claimed.is_empty() && sending.is_empty() => return Ok(taken.len()),
                Ok((claimed, claimed_at)) => {
                    full_claim = claimed.len() == room;
                    let wall = OffsetDateTime::now_utc();
                    for post in claimed {
                        taken.push(post.id);
                        let state = state.clone();
                        let turns = SendTurns {
                            start: starts.clone().try_acquire_owned().ok(),
                            uploads: Some(uploads.clone()),
                            not_before: moment_of(&post, claim_time, claimed_at, wall),
                        };
                        sending.spawn(async move {
                            if let Err(error) = publish_one(&state, &post, worker, claimed_at, turns).await {
                                tracing::error!(post = %post.id, error = %error, "publishing a scheduled post failed");
                            }
                        });
                    }
                }
                Err(error) => claim_error = Some(error),
            }
        }
        // Claim again when a send ends, or, after a claim that took all it had room for, as
        // soon as a started post gives its place up; and every tick while this run goes on
        // (long uploads, posts waiting for their moment), since the scheduler's own ticks skip
        // a busy run.
        let wait_for_place = claim_error.is_none() && full_claim && sending.len() < MAX_IN_FLIGHT;
        tokio::select! {
            ended = sending.join_next() => {
                if ended.is_none() {
                    return claim_error.map_or(Ok(taken.len()), Err);
                }
            }
            place = starts.acquire(), if wait_for_place => drop(place),
            () = tokio::time::sleep(RECLAIM_EVERY), if claim_error.is_none() => {}
        }
    }
}

/// How often a run that is still sending looks for more due posts: the scheduler's tick.
const RECLAIM_EVERY: Duration = Duration::from_secs(1);

/// When a post claimed at `claim_time` (the run's clock, `claimed_at` and `wall` on this
/// machine's) may reach TikTok: none when it is due already.
fn moment_of(post: &Post, claim_time: OffsetDateTime, claimed_at: tokio::time::Instant, wall: OffsetDateTime) -> Option<InitMoment> {
    let ahead = Duration::try_from(post.scheduled_at? - claim_time).ok().filter(|ahead| !ahead.is_zero())?;
    Some(InitMoment { at: claimed_at + ahead, wall: wall + ahead })
}

/// Takes up to `room` posts due by `now` plus the lead (other than `skip`) for `worker`: state
/// `uploading` under a lease (by the database's clock), attempt counted. Also returns an
/// instant no later than the database's `now()` of the claim, from which the sender counts its
/// own deadline.
async fn claim_due(
    state: &AppState,
    now: OffsetDateTime,
    worker: Uuid,
    room: usize,
    skip: &[Uuid],
) -> AppResult<(Vec<Post>, tokio::time::Instant)> {
    // Posts due within the lead are taken now and wait for their moment once prepared; a retry
    // (`next_check_at`) waits for its own time.
    let due_by = now + state.config.publish_lead;
    // Photos can only be pulled: a server without a media URL leaves them to one with one for
    // a while.
    let photos_due_by = if state.config.media_public_url.is_some() { due_by } else { now - PHOTO_HANDOFF };
    let mut conn = state.pool.get().await?;
    let claimed_at = tokio::time::Instant::now();
    let claimed = conn
        .transaction(async |conn| {
            // Posts of teams that need approval come only once approved; `gate` then checks,
            // under these row locks, that each is still exactly what was approved.
            let needs_no_approval = teams::table.filter(teams::approval_required.eq(false)).select(teams::id);
            let due: Vec<Post> = posts::table
                .filter(posts::state.eq(PostState::Scheduled.as_str()))
                .filter(posts::scheduled_at.le(due_by))
                .filter(posts::next_check_at.is_null().or(posts::next_check_at.le(now)))
                .filter(posts::id.ne_all(skip))
                .filter(posts::team_id.eq_any(needs_no_approval).or(posts::approval.eq(Approval::Approved.as_str())))
                .filter(posts::photo_media_ids.is_null().or(posts::scheduled_at.le(photos_due_by)))
                .order(posts::scheduled_at.asc())
                .limit(room as i64)
                .select(Post::as_select())
                .for_update()
                .skip_locked()
                .load(conn)
                .await?;
            let ids: Vec<Uuid> = approvals::gate(conn, due).await?.into_iter().map(|post| post.id).collect();
            diesel::update(posts::table.filter(posts::id.eq_any(&ids)))
                .set((
                    posts::state.eq(PostState::Uploading.as_str()),
                    posts::lease_owner.eq(Some(worker)),
                    posts::lease_expires_at.eq(db_now_plus(state.config.publish_lease)),
                    posts::attempts.eq(posts::attempts + 1),
                    posts::next_check_at.eq(None::<OffsetDateTime>),
                    posts::updated_at.eq(now),
                ))
                .returning(Post::as_returning())
                .get_results(conn)
                .await
        })
        .await?;
    Ok((claimed, claimed_at))
}

/// Sends one claimed post while keeping its lease; stops (dropping any upload mid-way, so
/// TikTok never gets the whole video) as soon as the lease can no longer be vouched for, on its
/// own timer even when the database does not answer.
async fn publish_one(state: &AppState, post: &Post, worker: Uuid, claimed_at: tokio::time::Instant, turns: SendTurns) -> AppResult<()> {
    tokio::select! {
        biased;
        end = lease::hold(state, post.id, worker, claimed_at) => {
            match end {
                LeaseEnd::Lost => tracing::warn!(post = %post.id, "lease lost to another holder; stopped sending"),
                LeaseEnd::Expiring => tracing::warn!(post = %post.id, "lease could not be renewed in time; stopped sending"),
            }
            Ok(())
        }
        result = publish_claimed(state, post, worker, turns) => result,
    }
}

async fn publish_claimed(state: &AppState, post: &Post, worker: Uuid, turns: SendTurns) -> AppResult<()> {
    // TikTok's rules may have changed since the post was composed (§9): ask again — for Direct
    // Post only, as creator_info needs `video.publish` and drafts follow the inbox rules.
    if post.destination() == Destination::Profile && check_creator_rules(state, post).await?.is_break() {
        return Ok(());
    }
    let attempt = |how: &str| format!("Attempt {} started by server {}{how}.", post.attempts, &worker.simple().to_string()[..8]);
    let sent = match (&state.config.media_public_url, post.media_id) {
        // TikTok's guidelines: media already on the server is pulled, not uploaded (§9); and
        // photos can only be pulled.
        (Some(public), _) if post.is_photo() => {
            post_store::record_event(&mut *state.pool.get().await?, post.id, "attempt", &attempt(" (TikTok downloads the photos)")).await?;
            send_by_pull(state, post, public, turns).await
        }
        (None, _) if post.is_photo() => {
            return fail_fenced(state, post, "media_url_missing", crate::publishing::photos::NEEDS_MEDIA_URL).await;
        }
        (_, None) => {
            return fail_fenced(state, post, "media_missing", "The video of this post is gone. Upload it again.").await;
        }
        (Some(public), Some(_)) => {
            post_store::record_event(&mut *state.pool.get().await?, post.id, "attempt", &attempt(" (TikTok downloads the video)")).await?;
            send_by_pull(state, post, public, turns).await
        }
        (None, Some(media_id)) => {
            let key = catalog::storage_key(&mut *state.pool.get().await?, media_id).await?;
            let video = match state.media.open(&key).await {
                Ok(video) => video,
                Err(error) => {
                    tracing::warn!(post = %post.id, error = %error, "the stored video cannot be read");
                    return give_back(state, post, "The stored video could not be read.", Some(Duration::from_secs(60))).await;
                }
            };
            post_store::record_event(&mut *state.pool.get().await?, post.id, "attempt", &attempt("")).await?;
            send_video(state, post, video, turns).await
        }
    };
    match sent {
        Ok(()) => Ok(()),
        Err(SendError::LeaseLost) => {
            tracing::warn!(post = %post.id, "lease lost to another server; stopped sending");
            Ok(())
        }
        Err(SendError::Deferred { reason, wait }) => defer(state, post, &reason, wait).await,
        Err(SendError::InitUnconfirmed { message }) => {
            let fence = Fence::of(post);
            let mut conn = state.pool.get().await?;
            conn.transaction(async |conn| {
                if lease::still_held(conn, post.id, &fence).await? {
                    post_store::mark_unconfirmed(conn, post.id, &message).await?;
                }
                Ok::<_, diesel::result::Error>(())
            })
            .await?;
            Ok(())
        }
        Err(SendError::NotSent { error, retry_in }) => give_back(state, post, &error.to_string(), retry_in).await,
        Err(SendError::Interrupted) => {
            // The publish id is recorded by now: the fence is this sender's with it.
            let post = Post::find(&mut *state.pool.get().await?, post.id).await?;
            if post.lease_owner != Some(worker) {
                return Ok(());
            }
            fail_fenced(state, &post, "media_unreadable", "The stored video could not be read. Upload it again.").await
        }
        // TikTok's status decides: a lost answer to the last chunk may hide a complete upload.
        Err(SendError::UploadFailed { code, message, publish_id, may_be_complete }) => {
            // This sender's own view of the post (its lease, its publish id) is the fence: if
            // another server took over, nothing below changes the post.
            let mine = Post { publish_id: Some(publish_id), ..post.clone() };
            let why = format!("The upload failed ({code}): {message}");
            let sent = if may_be_complete { Sent::MaybeAll } else { Sent::NotAll };
            let outcome = reconcile(state, &mine, &why, Resend::AfterRetryDelay, sent).await?;
            // TikTok will not publish that upload: the day's slot goes back for the next try.
            if matches!(outcome, Recovered::Requeued | Recovered::Failed) {
                release_daily_slot(state, post).await;
            }
            Ok(())
        }
    }
}

/// Asks TikTok what the creator may post now and checks the post against it. `Break` when the
/// post was deferred, given back or failed instead of being sent.
async fn check_creator_rules(state: &AppState, post: &Post) -> AppResult<ControlFlow<()>> {
    let looked_up = refresh_creator_info(&state.pool, &state.tiktok, &state.cipher, post.account_id).await;
    let creator = match looked_up {
        Ok(Ok(creator)) => creator,
        // Look-ups are limited per minute (by Cadence, or TikTok throttling): the post waits as
        // long as asked, and waiting is not a failed attempt.
        Ok(Err(TikTokError::RateLimited { retry_after })) => {
            let wait = retry_after.unwrap_or(Duration::from_secs(60));
            defer(state, post, "TikTok's limit on creator look-ups is reached.", wait).await?;
            return Ok(ControlFlow::Break(()));
        }
        Ok(Err(error)) => {
            give_back(state, post, &for_people(&error).to_string(), Some(Duration::from_secs(60))).await?;
            return Ok(ControlFlow::Break(()));
        }
        // Not connected any more, or the database is briefly away: retried on the usual
        // schedule, which leaves time to reconnect the account.
        Err(error) => {
            give_back(state, post, &error.to_string(), Some(Duration::from_secs(60))).await?;
            return Ok(ControlFlow::Break(()));
        }
    };
    if let Some(violation) = post.check_rules(&creator).into_iter().next() {
        let message = format!("{} Edit the post and schedule it again.", violation.message);
        fail_fenced(state, post, "rules_changed", &message).await?;
        return Ok(ControlFlow::Break(()));
    }
    Ok(ControlFlow::Continue(()))
}

/// Fails the post only while it is still this sender's (same lease owner, same publish id).
async fn fail_fenced(state: &AppState, post: &Post, code: &str, message: &str) -> AppResult<()> {
    let fence = Fence::of(post);
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        if lease::still_held(conn, post.id, &fence).await? {
            post_store::mark_failed(conn, post.id, code, message).await?;
        }
        Ok::<_, diesel::result::Error>(())
    })
    .await?;
    Ok(())
}

/// Puts a post that could not be sent back in the queue for a later attempt (by the retry
/// schedule), or fails it when the attempts are used up or waiting will not help. A deferral
/// by Cadence's own limits waits exactly as long as needed and does not count as an attempt.
async fn give_back(state: &AppState, post: &Post, reason: &str, retry_in: Option<Duration>) -> AppResult<()> {
    let Some(wait) = retry_in.and_then(|asked| next_delay(post.attempts, Some(asked), post.id)) else {
        return fail_fenced(state, post, "not_sent", reason).await;
    };
    crate::metrics::post_outcome("retrying");
    requeue(&mut *state.pool.get().await?, post, OffsetDateTime::now_utc() + wait, 0, &format!("Not sent: {reason}")).await
}

async fn defer(state: &AppState, post: &Post, reason: &str, wait: Duration) -> AppResult<()> {
    crate::metrics::rate_limit_wait(wait);
    let wait = time::Duration::try_from(wait).unwrap_or(time::Duration::hours(24));
    requeue(&mut *state.pool.get().await?, post, OffsetDateTime::now_utc() + wait, 1, &format!("Waiting: {reason}")).await
}

async fn requeue(
    conn: &mut diesel_async::AsyncPgConnection,
    post: &Post,
    next: OffsetDateTime,
    attempts_refunded: i32,
    why: &str,
) -> AppResult<()> {
    // Only this sender's claim, before any publish id: a post another server took over, or one
    // that reached TikTok, is not put back by a stale sender.
    let requeued = diesel::update(
        posts::table
            .find(post.id)
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::lease_owner.is_not_distinct_from(post.lease_owner))
            .filter(posts::publish_id.is_null()),
    )
        .set((
            posts::state.eq(PostState::Scheduled.as_str()),
            posts::next_check_at.eq(Some(next)),
            posts::lease_owner.eq(None::<Uuid>),
            posts::lease_expires_at.eq(None::<OffsetDateTime>),
            posts::attempts.eq(posts::attempts - attempts_refunded),
        ))
        .execute(conn)
        .await?;
    if requeued == 0 {
        return Ok(());
    }
    let message = format!("{why} Trying again at {} (UTC).", crate::ui::format_utc(next));
    post_store::record_event(conn, post.id, "retry", &message).await?;
    Ok(())
}
