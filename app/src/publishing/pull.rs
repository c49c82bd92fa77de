//! Posts whose media TikTok downloads from Cadence (PULL_FROM_URL): scheduled videos, as
//! TikTok's guidelines ask for media already on the app's servers (tiktok-api.md §4.7, §9),
//! and every photo post, which TikTok takes no other way (§4.5).
//!
//! Exactly once: the pull URL is granted before the init but serves nothing until the publish
//! id TikTok answered with is recorded, in the same transaction that fences it to this sender's
//! lease. An init whose answer is lost therefore leaves TikTok with a URL that never opens (its
//! download fails and nothing is posted), so it is safe to try again with a new URL. Once the
//! publish id is recorded, TikTok fetches the file by itself; status polling and recovery follow
//! it through `PROCESSING_DOWNLOAD`.

use crate::{
    accounts::ssr::with_access_token,
    error::AppError,
    media::public_url::{self, MediaPublicUrl},
    posts::{
        ssr::{self as posts, Post},
        types::Destination,
    },
    publishing::send::{SendError, SendTurns, check_limits, not_sent, release_unsent, wait_for},
    state::AppState,
    tiktok::error::{TikTokError, for_people},
    ui::human_bytes,
};
use diesel_async::AsyncConnection as _;
use std::time::Duration;

/// Asks TikTok to pull `post`'s stored video, or each of a photo post's images, from under
/// `public`.
/// `turns` as for an upload (only the start place and the moment matter: nothing is uploaded).
pub async fn send_by_pull(state: &AppState, post: &Post, public: &MediaPublicUrl, mut turns: SendTurns) -> Result<(), SendError> {
    let media = post.stored_media();
    if media.is_empty() {
        return Err(SendError::NotSent { error: AppError::Conflict("The media of this post is not stored. Upload it again.".into()), retry_in: None });
    }
    check_limits(state, post, turns.counted_at()).await?;
    // One URL per file, each for its own image: TikTok gets exactly these files, no others.
    let tokens = match state.pool.get().await {
        Ok(mut conn) => {
            let mut tokens = Vec::with_capacity(media.len());
            let mut granted = Ok(());
            for media_id in &media {
                match public_url::grant(&mut conn, post.id, *media_id).await {
                    Ok(token) => tokens.push(token),
                    Err(error) => {
                        granted = Err(AppError::from(error));
                        break;
                    }
                }
            }
            granted.map(|()| tokens)
        }
        Err(error) => Err(error.into()),
    };
    let tokens = match tokens {
        Ok(tokens) => tokens,
        Err(error) => {
            abandon(state, post).await;
            return Err(not_sent(error));
        }
    };
    let urls: Vec<String> = tokens.iter().map(|token| public.url_for(token)).collect();
    let client = state.tiktok.client.clone();
    let destination = post.destination();
    let photo = post.photo_choices().map(|choices| (post.photo_info(), choices.cover_index));
    let post_info = post.post_info();
    let moment = turns.wait_without_place();
    let init = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, post.account_id, |access_token| {
        let (client, post_info, urls, photo) = (client.clone(), post_info.clone(), urls.clone(), photo.clone());
        async move {
            wait_for(moment).await;
            crate::metrics::publish_started(post.scheduled_at);
            match (photo, destination) {
                (Some((info, cover)), _) => client.init_photo_post(&access_token, &info, destination == Destination::Profile, &urls, cover).await,
                (None, Destination::Profile) => client.init_direct_pull(&access_token, &post_info, &urls[0]).await,
                (None, Destination::Inbox) => client.init_inbox_pull(&access_token, &urls[0]).await,
            }
        }
    })
    .await;
    let refused = |error: TikTokError| {
        let retry_in = match &error {
            TikTokError::RateLimited { retry_after } => Some(retry_after.unwrap_or(Duration::from_secs(60))),
            // The URL of an init whose answer was lost never opens, so TikTok's task (if any)
            // can only fail: a new init with a new URL is safe.
            TikTokError::Transient(_) | TikTokError::ReplyLost(_) => Some(Duration::from_secs(60)),
            _ => None,
        };
        SendError::NotSent { error: for_people(&error), retry_in }
    };
    let init = match init {
        Ok(Ok(init)) => init,
        Ok(Err(error)) => {
            tracing::warn!(post = %post.id, error = %error, "TikTok refused (or did not answer) a PULL_FROM_URL init");
            abandon(state, post).await;
            return Err(refused(error));
        }
        Err(error) => {
            abandon(state, post).await;
            return Err(not_sent(error));
        }
    };

    // The publish id and the URL's opening go together, fenced by this sender's lease.
    let publish_id = init.publish_id.clone();
    let recorded = match state.pool.get().await {
        Ok(mut conn) => {
            conn.transaction(async |conn| {
                if !posts::record_publish_id(conn, post.id, &publish_id, post.lease_owner, "TikTok accepted the post.").await? {
                    return Ok(false);
                }
                for token in &tokens {
                    if !public_url::activate(conn, token, &publish_id).await? {
                        return Ok(false);
                    }
                }
                Ok::<_, AppError>(true)
            })
            .await
        }
        Err(error) => Err(error.into()),
    };
    match recorded {
        Ok(true) if destination == Destination::Inbox => release_unsent(state, post).await,
        Ok(true) => {}
        // Never opened: TikTok's download fails, and the post is another sender's now.
        Ok(false) => {
            abandon(state, post).await;
            return Err(SendError::LeaseLost);
        }
        Err(error) => {
            abandon(state, post).await;
            return Err(not_sent(error));
        }
    }
    let size = human_bytes(post.video_bytes.max(0) as u64);
    let message = match media.len() {
        _ if !post.is_photo() => format!("TikTok is downloading the video ({size}) from Cadence; processing can take a few minutes."),
        1 => format!("TikTok is downloading the photo ({size}) from Cadence; processing can take a few minutes."),
        n => format!("TikTok is downloading the {n} photos ({size}) from Cadence; processing can take a few minutes."),
    };
    // If the database is away now, recovery finds the pull through TikTok's status.
    let mut conn = state.pool.get().await.map_err(|e| not_sent(e.into()))?;
    let moved = posts::mark_uploaded(&mut conn, post.id, post.lease_owner, &init.publish_id, &message)
        .await
        .map_err(|e| not_sent(e.into()))?;
    if moved { Ok(()) } else { Err(SendError::LeaseLost) }
}

/// Closes the post's pull URLs after an init that will not be followed, and gives back the
/// limits the send took.
async fn abandon(state: &AppState, post: &Post) {
    if let Ok(mut conn) = state.pool.get().await
        && let Err(error) = public_url::revoke_for_post(&mut conn, post.id).await
    {
        // Not fatal: an unactivated URL serves nothing anyway.
        tracing::warn!(post = %post.id, error = %error, "could not close a pull URL");
    }
    release_unsent(state, post).await;
}

/// Calls back a post TikTok is still downloading (TikTok cancels only PULL_FROM_URL downloads
/// in progress, §4.9). The post becomes cancelled only once TikTok has agreed.
pub async fn cancel_pull(state: &AppState, post: &Post) -> Result<(), AppError> {
    use crate::{db::schema::posts as table, posts::types::PostState};
    use diesel::prelude::*;
    use diesel_async::RunQueryDsl;

    let not_cancellable = || {
        AppError::Conflict("TikTok already has this video and is processing it, so it can no longer be cancelled.".into())
    };
    let Some(publish_id) = post.publish_id.clone() else {
        return Err(not_cancellable());
    };
    if post.state() != PostState::Processing || !public_url::is_pull(&mut *state.pool.get().await?, post.id, &publish_id).await? {
        return Err(not_cancellable());
    }
    let client = state.tiktok.client.clone();
    let asked = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, post.account_id, |access_token| {
        let (client, publish_id) = (client.clone(), publish_id.clone());
        async move { client.cancel(&access_token, &publish_id).await }
    })
    .await?;
    match asked {
        Ok(()) => {}
        Err(TikTokError::Rejected { code, .. }) if code == "publish_not_cancellable" => return Err(not_cancellable()),
        Err(error) => return Err(for_people(&error)),
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let moved = diesel::update(
            table::table
                .find(post.id)
                .filter(table::state.eq(PostState::Processing.as_str()))
                .filter(table::publish_id.eq(&publish_id)),
        )
        .set((
            table::state.eq(PostState::Cancelled.as_str()),
            table::next_check_at.eq(None::<time::OffsetDateTime>),
            table::updated_at.eq(time::OffsetDateTime::now_utc()),
        ))
        .execute(conn)
        .await?;
        if moved == 1 {
            public_url::revoke_for_post(conn, post.id).await?;
            crate::media::catalog::release_if_unneeded(conn, post.id).await?;
            posts::record_event(conn, post.id, "cancelled", "Cancelled while TikTok was downloading the video; nothing was posted.").await?;
        }
        Ok::<_, AppError>(())
    })
    .await
}
