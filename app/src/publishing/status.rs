//! Following a publish after the upload: TikTok's status endpoint, polled with backoff inside
//! its 30-a-minute limit, until the post is published, in the inbox, or failed. Webhooks
//! (`posts::ssr::apply_publish_event`) usually get there first; polling covers lost ones.

use crate::{
    accounts::ssr::with_access_token,
    db::schema::posts,
    error::{AppError, AppResult},
    posts::{
        ssr::{self as post_store, Post, TikTokOutcome},
        types::PostState,
    },
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
                .filter(posts::state.eq(PostState::Processing.as_str()))
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
            post_store::apply_outcome(&mut conn, post, TikTokOutcome::of(&status)).await?;
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
        Ok(Err(_)) => {
            retry_at(&mut conn, post.id, now + post_store::status_backoff(post.status_checks + 1)).await?;
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
