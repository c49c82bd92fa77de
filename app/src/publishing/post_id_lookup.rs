//! Finding a public post's id through the Display API when TikTok's status replies never carry
//! it (fidelity review #4): TikTok gives `publicaly_available_post_id` only after moderation, and
//! sometimes never, while the `publicly_available` webhook can be lost.
//!
//! `video/query` needs ids, so the creator's recent public videos are read from `video/list`
//! (newest first) and the first one that went live at or after the post's upload started, and
//! whose id no other post of the account has, is confirmed with `video/query`. The match is
//! conservative: when another post of the account is waiting for its id too and could own that
//! video, or two videos went live in the same second, nothing is assigned (the webhook or a later
//! status reply may still bring the id).

use crate::{
    accounts::ssr::{TikTokAccount, with_access_token},
    db::schema::posts,
    error::AppResult,
    posts::{
        outcome::{Applied, TikTokOutcome, apply_outcome},
        ssr::Post,
        types::{Destination, PostState},
    },
    state::AppState,
    tiktok::display::Video,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use std::collections::HashSet;
use uuid::Uuid;

/// Pages of `video/list` read back in time (20 videos each): far more than a day of posts at
/// TikTok's cap of about 15, with room for videos posted from the app.
const MAX_PAGES: usize = 5;

/// Whether `post` is one whose id the Display API can give: published to the profile for
/// everyone, with no id yet, and a known upload start to match against.
pub fn worth_looking(post: &Post) -> bool {
    post.destination() == Destination::Profile
        && post.privacy_level.as_deref() == Some("PUBLIC_TO_EVERYONE")
        && post.tiktok_post_id.is_none()
        && post.upload_started_at.is_some()
}

/// Looks the post's id up and stores it. `Moved` when the post got its id. Does nothing for an
/// account that did not grant `video.list`.
pub async fn find_and_assign(state: &AppState, post: &Post) -> AppResult<Applied> {
    let Some(started) = post.upload_started_at.filter(|_| worth_looking(post)) else {
        return Ok(Applied::Unchanged);
    };
    let mut conn = state.pool.get().await?;
    if !TikTokAccount::find(&mut conn, post.account_id).await?.view().allows().video_list {
        return Ok(Applied::Unchanged);
    }
    let (known, others) = account_posts(&mut conn, post).await?;
    drop(conn);
    let since = started.unix_timestamp();
    let Some(candidate) = pick(&recent_videos(state, post.account_id, since).await?, since, &known, &others) else {
        return Ok(Applied::Unchanged);
    };
    if !confirmed(state, post.account_id, &candidate).await? {
        return Ok(Applied::Unchanged);
    }
    let mut conn = state.pool.get().await?;
    assign(&mut conn, post, &candidate).await
}

/// Gives `post` its id from a video listing already read (analytics reads every public video
/// of the account), with the same conservative match as [`find_and_assign`]. The listing came
/// from the account's own token, so the video is the creator's own and public.
pub async fn assign_from_listing(conn: &mut AsyncPgConnection, post: &Post, videos: &[Video]) -> AppResult<Applied> {
    let Some(started) = post.upload_started_at.filter(|_| worth_looking(post)) else {
        return Ok(Applied::Unchanged);
    };
    let (known, others) = account_posts(conn, post).await?;
    match pick(videos, started.unix_timestamp(), &known, &others) {
        Some(candidate) => assign(conn, post, &candidate).await,
        None => Ok(Applied::Unchanged),
    }
}

/// The ids the account's posts already have, and when the uploads of its other posts waiting
/// for an id started (Unix seconds).
async fn account_posts(conn: &mut AsyncPgConnection, post: &Post) -> QueryResult<(HashSet<String>, Vec<i64>)> {
    let known: Vec<String> = posts::table
        .filter(posts::account_id.eq(post.account_id))
        .filter(posts::tiktok_post_id.is_not_null())
        .select(posts::tiktok_post_id.assume_not_null())
        .load(conn)
        .await?;
    let waiting: Vec<time::OffsetDateTime> = posts::table
        .filter(posts::account_id.eq(post.account_id))
        .filter(posts::id.ne(post.id))
        .filter(posts::destination.eq(Destination::Profile.as_str()))
        .filter(posts::privacy_level.eq("PUBLIC_TO_EVERYONE"))
        .filter(posts::state.eq_any([PostState::Uploading, PostState::Processing, PostState::Published].map(PostState::as_str)))
        .filter(posts::tiktok_post_id.is_null())
        .filter(posts::upload_started_at.is_not_null())
        .select(posts::upload_started_at.assume_not_null())
        .load(conn)
        .await?;
    Ok((known.into_iter().collect(), waiting.iter().map(|at| at.unix_timestamp()).collect()))
}

/// The creator's public videos that went live at or after `since` (Unix seconds), read page by
/// page until the pages reach back before `since`.
async fn recent_videos(state: &AppState, account_id: Uuid, since: i64) -> AppResult<Vec<Video>> {
    let mut found = Vec::new();
    let mut cursor = None;
    for _ in 0..MAX_PAGES {
        let client = state.tiktok.client.clone();
        let page = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, account_id, |token| {
            let client = client.clone();
            async move { client.video_list(&token, cursor).await }
        })
        .await?;
        let page = match page {
            Ok(page) => page,
            Err(error) => {
                tracing::info!(account = %account_id, error = %error, "the Display API could not list the creator's videos");
                return Ok(Vec::new());
            }
        };
        // A video without a time cannot be placed after the upload; it is not a match.
        let reached_back = page.videos.iter().any(|video| video.create_time.is_some_and(|at| at < since));
        found.extend(page.videos.into_iter().filter(|video| video.create_time.is_some_and(|at| at >= since)));
        match page.cursor {
            Some(next) if page.has_more && !reached_back && cursor != Some(next) => cursor = Some(next),
            _ => break,
        }
    }
    Ok(found)
}

/// The first video after `since` whose id is not `known`, unless that is ambiguous: another
/// waiting post's upload started by the time it went live (it may be that post's video), or a
/// second unknown video went live in the same second.
pub fn pick(videos: &[Video], since: i64, known: &HashSet<String>, others_since: &[i64]) -> Option<String> {
    let mut fresh: Vec<(&Video, i64)> = videos
        .iter()
        .filter(|video| !known.contains(&video.id))
        .filter_map(|video| Some((video, video.create_time.filter(|at| *at >= since)?)))
        .collect();
    fresh.sort_by_key(|(_, at)| *at);
    fresh.dedup_by(|(a, _), (b, _)| a.id == b.id);
    let (first, at) = *<[_]>::first(&fresh)?;
    if fresh.get(1).is_some_and(|(_, next)| *next == at) || others_since.iter().any(|other| *other <= at) {
        return None;
    }
    Some(first.id.clone())
}

/// `video/query` says the video is the creator's own and public.
async fn confirmed(state: &AppState, account_id: Uuid, id: &str) -> AppResult<bool> {
    let client = state.tiktok.client.clone();
    let ids = vec![id.to_owned()];
    let reply = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, account_id, |token| {
        let (client, ids) = (client.clone(), ids.clone());
        async move { client.video_query(&token, &ids).await }
    })
    .await?;
    Ok(reply.is_ok_and(|videos| videos.iter().any(|video| video.id == id)))
}

/// Stores the id as TikTok's own notice would, unless another post of the account took it
/// meanwhile: under a per-account lock, so two servers cannot give one video to two posts.
async fn assign(conn: &mut AsyncPgConnection, post: &Post, id: &str) -> AppResult<Applied> {
    let post_id = id.to_owned();
    let applied = conn
        .transaction(async |conn| {
            crate::tiktok::rate_limit::lock_for(conn, &format!("post_ids:{}", post.account_id)).await?;
            let taken: i64 = posts::table
                .filter(posts::account_id.eq(post.account_id))
                .filter(posts::tiktok_post_id.eq(&post_id))
                .count()
                .get_result(conn)
                .await?;
            if taken > 0 {
                return Ok::<_, diesel::result::Error>(Applied::Unchanged);
            }
            apply_outcome(conn, post, TikTokOutcome::PubliclyAvailable { post_id: post_id.clone() }).await
        })
        .await?;
    if applied == Applied::Moved {
        tracing::info!(post = %post.id, "found the post's id through the Display API");
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(id: &str, at: i64) -> Video {
        Video { id: id.to_owned(), create_time: Some(at) }
    }

    #[test]
    fn the_first_unknown_video_after_the_upload_is_the_match() {
        let videos = [video("30", 130), video("20", 120), video("10", 90)];
        assert_eq!(pick(&videos, 100, &HashSet::new(), &[]), Some("20".into()), "the earliest after 100, not the newest");
        let known: HashSet<String> = ["20".to_owned()].into();
        assert_eq!(pick(&videos, 100, &known, &[]), Some("30".into()), "an id another post has is skipped");
        assert_eq!(pick(&videos, 100, &HashSet::new(), &[125]), Some("20".into()), "a later upload cannot own it");
        assert_eq!(pick(&[video("10", 90)], 100, &HashSet::new(), &[]), None, "videos before the upload never match");
        assert_eq!(pick(&[Video { id: "5".into(), create_time: None }], 100, &HashSet::new(), &[]), None);
    }

    #[test]
    fn ambiguous_matches_are_left_alone() {
        let videos = [video("30", 130), video("20", 120)];
        assert_eq!(pick(&videos, 100, &HashSet::new(), &[110]), None, "another waiting post may own it");
        assert_eq!(pick(&videos, 100, &HashSet::new(), &[120]), None);
        assert_eq!(pick(&[video("21", 120), video("20", 120)], 100, &HashSet::new(), &[]), None, "a tie in the second");
        assert_eq!(pick(&[video("20", 120), video("20", 120)], 100, &HashSet::new(), &[]), Some("20".into()), "repeats are one");
    }
}
