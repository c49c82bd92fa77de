//! Server functions for posts: the composer's creator look-up and upload, the list, one post
//! with its timeline, editing and cancelling a scheduled post.

use crate::{
    error::AppError,
    posts::types::{PostDetail, PostListPage, UploadOutcome},
    tiktok::types::CreatorInfo,
};
use leptos::{
    prelude::*,
    server_fn::codec::{MultipartData, MultipartFormData},
};
use uuid::Uuid;

/// A page of the team's posts, newest first, from `before` (a cursor of an earlier page) on
/// (any member may look).
#[server(endpoint = "posts/list")]
pub async fn list_posts(account_id: Option<Uuid>, state: Option<String>, before: Option<String>) -> Result<PostListPage, AppError> {
    use crate::{
        calendar::ssr::member_zone,
        posts::{ssr::{ListFilter, list_for_team}, types::{ListCursor, PostState}},
        state::db,
        teams::{ssr::require_role, types::Role},
    };
    let before = match before.as_deref().filter(|text| !text.is_empty()) {
        Some(text) => Some(ListCursor::decode(text).ok_or_else(|| {
            AppError::invalid("before", "This link to older posts is broken. Start again from the newest posts.")
        })?),
        None => None,
    };
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let (_, tz) = member_zone(&mut conn, caller.user_id).await?;
    let filter = ListFilter { account_id, state: state.as_deref().and_then(PostState::parse) };
    list_for_team(&mut conn, caller.team_id, &filter, before, &tz).await
}

/// One post of the team with its timeline.
#[server(endpoint = "posts/detail")]
pub async fn get_post(post_id: Uuid) -> Result<PostDetail, AppError> {
    use crate::{posts::ssr::detail_for_team, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let (_, tz) = crate::calendar::ssr::member_zone(&mut conn, caller.user_id).await?;
    detail_for_team(&mut conn, caller, post_id, &tz).await
}

/// What the creator may post right now, asked fresh from TikTok when the composer picks the
/// account (TikTok's rule: never from a cache).
#[server(endpoint = "posts/creator")]
pub async fn composer_creator(account_id: Uuid) -> Result<CreatorInfo, AppError> {
    use crate::{
        accounts::ssr::{TikTokAccount, fresh_creator_info},
        state::{app_state, db},
        teams::{ssr::require_role, types::Role},
    };
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    let account = TikTokAccount::find_for_team(&mut conn, caller.team_id, account_id).await?;
    drop(conn);
    // creator_info is a Direct Post call: without `video.publish` TikTok would refuse it.
    if !account.view().allows().direct_post {
        return Err(AppError::invalid("account_id", "This account did not grant Direct Post, so Cadence can only send drafts to its inbox."));
    }
    fresh_creator_info(&state, account_id).await
}

/// The composer's upload: fields first, then the video, streamed (never held whole). The
/// browser sends it with `XMLHttpRequest` for upload progress; see `posts::components`.
#[server(input = MultipartFormData, endpoint = "posts/upload")]
pub async fn upload_post(data: MultipartData) -> Result<UploadOutcome, AppError> {
    use crate::{
        publishing::intake::accept_upload,
        state::{app_state, db},
        teams::{ssr::require_role, types::Role},
    };
    let state = app_state()?;
    let caller = require_role(&mut *db().await?, Role::Editor).await?;
    let multipart = data.into_inner().ok_or_else(|| AppError::invalid("video", "Choose a video to upload."))?;
    accept_upload(state, caller, multipart).await
}

/// Sends a failed post again (its stored video goes back in the queue, due now).
#[server(endpoint = "posts/retry")]
pub async fn retry_post(post_id: Uuid) -> Result<(), AppError> {
    use crate::{posts::ssr::retry, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    retry(&mut conn, caller, post_id).await
}

/// Cancels a post that is still waiting for its time, or that TikTok is still downloading
/// (PULL_FROM_URL); its video is removed after a while.
#[server(endpoint = "posts/cancel")]
pub async fn cancel_post(post_id: Uuid) -> Result<(), AppError> {
    use crate::{
        posts::{ssr::{Post, cancel}, types::PostState},
        state::{app_state, db},
        teams::{ssr::require_role, types::Role},
    };
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    let post = Post::find_for_team(&mut conn, caller.team_id, post_id).await?;
    if post.state() == PostState::Processing {
        drop(conn);
        return crate::publishing::pull::cancel_pull(&app_state()?, &post).await;
    }
    cancel(&mut conn, caller, post_id).await
}

/// Changes a scheduled post in place: `choices` (the composer's, as JSON), `when` (the new
/// time on the caller's wall clock, `2026-11-30T09:00`) and maybe `account_id` (another of the
/// team's accounts; left out, the post keeps its own), with `thumbnail`, the frame at a new
/// cover the form drew, and for a photo post `photo` (title, cover, music, as JSON). The
/// composer's rules apply again, with
/// the creator's rules asked fresh; a post already claimed for sending cannot change. Returns
/// the time as it reads.
#[server(endpoint = "posts/edit")]
pub async fn edit_post(
    post_id: Uuid,
    choices: String,
    when: String,
    #[server(default)] account_id: Option<Uuid>,
    #[server(default)] thumbnail: Option<String>,
    #[server(default)] photo: Option<String>,
) -> Result<String, AppError> {
    use crate::{
        posts::{editing::{PostEdit, edit_scheduled}, rules::ComposerChoices},
        state::{app_state, db},
        teams::{ssr::require_role, types::Role},
    };
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    drop(conn);
    let choices: ComposerChoices =
        serde_json::from_str(&choices).map_err(|_| AppError::invalid("choices", "The post's settings did not arrive whole. Reload the page and try again."))?;
    let thumbnail = thumbnail.as_deref().and_then(crate::media::thumbnail::from_data_url);
    let photo = photo.as_deref().map(crate::publishing::photos::parse_choices).transpose()?;
    edit_scheduled(&state, caller, post_id, PostEdit { account_id, choices, wall_clock: when, thumbnail, photo }).await
}
