//! Following a publish after the upload: TikTok's status endpoint, polled with backoff inside
//! its 30-a-minute limit, until the post is published, in the inbox, or failed, and after that
//! for up to a day while a public post waits for its id (moderation) or a draft waits in the
//! inbox (`posts::outcome`). Webhooks (`posts::outcome::apply_publish_event`) usually get there
//! first; polling covers lost ones.

use crate::{
    accounts::ssr::with_access_token,
    db::schema::posts,
    error::{AppError, AppResult},
    posts::{
        outcome::{self, Applied},
        ssr::{self as post_store, Post, TikTokOutcome},
        types::PostState,
    },
    publishing::post_id_lookup,
    state::AppState,
    tiktok::{
        client::PublishStatus,
        error::TikTokError,
        rate_limit::{LimitedEndpoint, try_acquire},
    },
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// Posts checked per run; the rest wait for the next run.
const BATCH: i64 = 100;
/// While one server checks a post, others leave it alone for this long.
const CLAIM: time::Duration = time::Duration::seconds(30);
/// Replies Cadence could not read before it stops asking: TikTok may have changed the reply's
/// shape, and asking forever would leave the post "processing" with nobody told.
pub const MAX_UNREADABLE_REPLIES: i64 = 5;
/// The timeline entry of each reply Cadence could not read (also how they are counted).
const UNREADABLE_EVENT: &str = "status_unreadable";
/// Posts that are still asked about: processing, or followed after publishing (moderation,
/// drafts) while `next_check_at` is set.
const FOLLOWED_STATES: [PostState; 3] = [PostState::Processing, PostState::Published, PostState::InInbox];

/// Checks every processing post whose next check is due. Returns how many were checked.
pub async fn check_due_statuses(state: &AppState, now: OffsetDateTime) -> AppResult<usize> {
    let claimed = claim(state, now).await?;
    let count = claimed.len();
    for post in claimed {
        if let Err(error) = check_one(state, &post).await {
            tracing::warn!(post = %post.id, error = %error, "status check failed; will try again");
        }
    }
    Ok(count)
}

/// Takes due posts so that two servers never check the same post at once.
async fn claim(state: &AppState, now: OffsetDateTime) -> AppResult<Vec<Post>> {
    let mut conn = state.pool.get().await?;
    let posts = conn
        .transaction(async |conn| {
            let ids: Vec<Uuid> = posts::table
                .filter(posts::state.eq_any(FOLLOWED_STATES.map(PostState::as_str)))
                .filter(posts::next_check_at.le(now))
                .order(posts::next_check_at.asc())
                .limit(BATCH)
                .select(posts::id)
                .for_update()
                .skip_locked()
                .load(conn)
                .await?;
            diesel::update(posts::table.filter(posts::id.eq_any(&ids)))
                .set(posts::next_check_at.eq(now + CLAIM))
                .returning(Post::as_returning())
                .get_results(conn)
                .await
        })
        .await?;
    Ok(posts)
}

/// Asks TikTok about one post and applies the answer.
pub async fn check_one(state: &AppState, post: &Post) -> AppResult<()> {
    let Some(publish_id) = post.publish_id.clone() else {
        return Ok(());
    };
    let now = OffsetDateTime::now_utc();
    let reply = ask_tiktok(state, post.account_id, &publish_id).await;
    let mut conn = state.pool.get().await?;
    match reply {
        Ok(Ok(status)) => {
            // A pull in progress: what TikTok has so far, for the post page.
            if let Some(bytes) = status.downloaded_bytes.filter(|_| status.status == "PROCESSING_DOWNLOAD") {
                diesel::update(posts::table.find(post.id).filter(posts::state.eq(PostState::Processing.as_str())))
                    .set(posts::downloaded_bytes.eq(Some(i64::try_from(bytes).unwrap_or(i64::MAX))))
                    .execute(&mut conn)
                    .await?;
            }
            let outcome = TikTokOutcome::of(&status);
            let without_id = matches!(outcome, TikTokOutcome::Published { post_id: None });
            let applied = post_store::apply_outcome(&mut conn, post, outcome).await?;
            // Published, but the reply has no id: the Display API may know it (where granted).
            if without_id && post_id_lookup::worth_looking(post) {
                drop(conn);
                let found = post_id_lookup::find_and_assign(state, post).await.unwrap_or_else(|error| {
                    tracing::warn!(post = %post.id, error = %error, "looking the post id up failed; will try again");
                    Applied::Unchanged
                });
                conn = state.pool.get().await?;
                if found == Applied::Moved {
                    return Ok(());
                }
            }
            if applied == Applied::Unchanged {
                outcome::check_again(&mut conn, post, now).await?;
            }
        }
        Ok(Err(TikTokError::Protocol(detail))) => {
            tracing::warn!(post = %post.id, detail, "TikTok's status reply could not be read");
            unreadable_reply(&mut conn, post, now).await?;
        }
        Ok(Err(TikTokError::RateLimited { retry_after })) => {
            let wait = retry_after.unwrap_or(std::time::Duration::from_secs(60));
            retry_at(&mut conn, post.id, now + wait).await?;
        }
        Ok(Err(TikTokError::Rejected { code, .. }))
            if code == "invalid_publish_id" || code == "token_not_authorized_for_specified_publish_id" =>
        {
            post_store::mark_unconfirmed(
                &mut conn,
                post.id,
                "TikTok no longer knows this upload. Check the creator's TikTok profile before posting it again.",
            )
            .await?;
        }
        // TikTok is down or refused once: ask again, slower each time.
        Ok(Err(_)) => {
            outcome::check_again(&mut conn, post, now).await?;
        }
        // The account lost its connection after TikTok published: nothing more to learn by asking.
        Err(error @ AppError::Conflict(_)) if post.state() != PostState::Processing => {
            outcome::stop_following_because(&mut conn, post, &format!("{error} Until then Cadence cannot ask TikTok about this post.")).await?;
        }
        // The account lost its connection: nobody can ask TikTok any more.
        Err(error @ AppError::Conflict(_)) => {
            post_store::mark_unconfirmed(
                &mut conn,
                post.id,
                &format!("{error} Until then Cadence cannot tell whether TikTok published the post; check the creator's TikTok profile."),
            )
            .await?;
        }
        // The database or the token store hiccupped: ask again later.
        Err(error) => {
            tracing::warn!(post = %post.id, error = %error, "status check could not run; will retry");
            retry_at(&mut conn, post.id, now + post_store::status_backoff(post.status_checks + 1)).await?;
        }
    }
    Ok(())
}

/// A status reply Cadence could not read: noted in the timeline and asked again with backoff,
/// up to [`MAX_UNREADABLE_REPLIES`]; then a processing post is unconfirmed (a person looks) and
/// a followed one is no longer followed.
async fn unreadable_reply(conn: &mut diesel_async::AsyncPgConnection, post: &Post, now: OffsetDateTime) -> AppResult<()> {
    use crate::db::schema::post_events;
    let earlier: i64 = post_events::table
        .filter(post_events::post_id.eq(post.id))
        .filter(post_events::kind.eq(UNREADABLE_EVENT))
        .count()
        .get_result(conn)
        .await?;
    if earlier + 1 < MAX_UNREADABLE_REPLIES {
        post_store::record_event(conn, post.id, UNREADABLE_EVENT, "TikTok's answer about this post could not be read; Cadence will ask again.")
            .await?;
        outcome::check_again(conn, post, now).await?;
    } else if post.state() == PostState::Processing {
        post_store::mark_unconfirmed(
            conn,
            post.id,
            &format!(
                "TikTok's answers about this post could not be read {MAX_UNREADABLE_REPLIES} times, so Cadence stopped asking. Check the creator's TikTok profile before posting it again."
            ),
        )
        .await?;
    } else {
        outcome::stop_following_because(
            conn,
            post,
            "TikTok's answers about this post could not be read, so Cadence stopped asking. Check the creator's TikTok profile.",
        )
        .await?;
    }
    Ok(())
}

/// TikTok's status of a publish, within the 30-a-minute limit: a full window answers as
/// TikTok's own throttling would, without calling. `Err` when the account cannot be used.
pub async fn ask_tiktok(state: &AppState, account_id: Uuid, publish_id: &str) -> AppResult<Result<PublishStatus, TikTokError>> {
    let mut conn = state.pool.get().await?;
    if let Err(wait) = try_acquire(&mut conn, account_id, LimitedEndpoint::PublishStatus, OffsetDateTime::now_utc()).await? {
        return Ok(Err(TikTokError::RateLimited { retry_after: Some(wait) }));
    }
    drop(conn);
    let client = state.tiktok.client.clone();
    with_access_token(&state.pool, &state.tiktok.client, &state.cipher, account_id, |token| {
        let client = client.clone();
        async move { client.publish_status(&token, publish_id).await }
    })
    .await
}

async fn retry_at(conn: &mut diesel_async::AsyncPgConnection, post_id: Uuid, at: OffsetDateTime) -> QueryResult<usize> {
    diesel::update(posts::table.find(post_id)).set(posts::next_check_at.eq(Some(at))).execute(conn).await
}
