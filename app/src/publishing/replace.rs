//! Replacing the video of a scheduled post or a draft: the new file is checked and stored as a new post's would be, then swapped in under the row's lock, so a post a server already claimed keeps what it claimed.

use crate::{
    accounts::ssr::TikTokAccount,
    audit::{ssr::Change, types::Subject},
    db::schema::{drafts, posts},
    error::{AppError, AppResult},
    media::{catalog, probe::Limits, quota, store::StoredMedia},
    posts::{
        editing::{direct_post_creator, not_editable},
        rules::{ComposerChoices, INBOX_MAX_DURATION_SECS},
        ssr::{Post, record_event},
        types::{Destination, PostState, UploadOutcome},
    },
    publishing::intake::{capitalised, open_video, store_checked},
    state::AppState,
    teams::{ssr::Caller, types::Role},
    tiktok::chunks::ChunkPlan,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whose video is replaced.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    Post(Uuid),
    Draft(Uuid),
}

/// What came with the new video from the page.
#[derive(Debug, Default)]
pub struct Replacement {
    pub video_size: Option<u64>,
    /// The frame to show for it (see `media::thumbnail`).
    pub thumbnail: Option<Vec<u8>>,
    /// The cover frame chosen on the new video; the old one's meant another video.
    pub cover_timestamp_ms: Option<u32>,
}

/// Takes the new video for `target` from `video` (the upload's file field), checked against
/// TikTok's rules for where it goes (the creator's current maximum for Direct Post, asked fresh)
/// and the team's room. The old video is released (kept for the grace period). Any approval
/// is asked for again, as the fingerprint covers the video.
pub async fn replace_video(
    state: &AppState,
    caller: Caller,
    target: Target,
    replacement: Replacement,
    video: multer::Field<'static>,
) -> AppResult<UploadOutcome> {
    caller.require(Role::Editor)?;
    let video_size = replacement.video_size.ok_or_else(|| AppError::invalid("video", "The video's size is missing."))?;
    ChunkPlan::for_size(video_size).map_err(|e| AppError::invalid("video", capitalised(&e.to_string())))?;
    let limits = limits_for(state, caller, target).await?;
    {
        let mut conn = state.pool.get().await?;
        quota::require_room(&mut conn, caller.team_id, state.config.team_media_quota, video_size).await?;
    }
    let stored = store_checked(state, open_video(video, limits).await?.source, video_size, limits).await?;
    let swapped: AppResult<()> = async {
        let mut conn = state.pool.get().await?;
        conn.transaction(async |conn| {
            quota::lock_team(conn, caller.team_id).await?;
            quota::require_room(conn, caller.team_id, state.config.team_media_quota, stored.byte_size).await?;
            let media_id = catalog::record(conn, caller.team_id, caller.user_id, &stored).await?;
            match target {
                Target::Post(id) => swap_post_video(conn, caller, id, media_id, &stored, &replacement).await,
                Target::Draft(id) => swap_draft_video(conn, caller, id, media_id, &replacement).await,
            }
        })
        .await
    }
    .await;
    match swapped {
        Ok(()) => Ok(match target {
            Target::Post(id) => UploadOutcome { post_id: id, state: PostState::Scheduled, draft: false },
            Target::Draft(id) => UploadOutcome { post_id: id, state: PostState::Scheduled, draft: true },
        }),
        Err(error) => {
            // Nothing refers to the new file: it goes, and the old video stays in place.
            let _ = state.media.delete(&stored.key).await;
            Err(error)
        }
    }
}

/// TikTok's limits for the video of `target`: a draft's are the inbox's (the creator's come
/// when it is scheduled); a post's are its account's, asked fresh for Direct Post.
async fn limits_for(state: &AppState, caller: Caller, target: Target) -> AppResult<Limits> {
    let mut conn = state.pool.get().await?;
    let id = match target {
        Target::Draft(id) => {
            crate::drafts::ssr::find(&mut conn, caller, id).await?;
            return Ok(Limits { max_duration_secs: INBOX_MAX_DURATION_SECS });
        }
        Target::Post(id) => id,
    };
    let post = Post::find_for_team(&mut conn, caller.team_id, id).await?;
    if post.state() != PostState::Scheduled {
        return Err(not_editable(post.state()));
    }
    let account = TikTokAccount::find_for_team(&mut conn, caller.team_id, post.account_id).await?;
    drop(conn);
    Ok(match post.destination() {
        Destination::Inbox => Limits { max_duration_secs: INBOX_MAX_DURATION_SECS },
        Destination::Profile => {
            let creator = direct_post_creator(state, &account, "video").await?;
            Limits { max_duration_secs: creator.max_video_post_duration_sec.max(1) as u32 }
        }
    })
}

async fn swap_post_video(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    post_id: Uuid,
    media_id: Uuid,
    stored: &StoredMedia,
    replacement: &Replacement,
) -> AppResult<()> {
    // The row lock the scheduler's claim takes too: a post claimed meanwhile is not "scheduled".
    let old: Option<(Option<Uuid>, i64)> = posts::table
        .find(post_id)
        .filter(posts::team_id.eq(caller.team_id))
        .filter(posts::state.eq(PostState::Scheduled.as_str()))
        .select((posts::media_id, posts::video_bytes))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let Some((old_media, old_bytes)) = old else {
        let now = Post::find_for_team(conn, caller.team_id, post_id).await?;
        return Err(not_editable(now.state()));
    };
    diesel::update(posts::table.find(post_id))
        .set((
            posts::media_id.eq(Some(media_id)),
            posts::video_bytes.eq(stored.byte_size as i64),
            posts::content_type.eq(stored.facts.container.mime_type()),
            posts::duration_ms.eq(stored.facts.duration_ms()),
            posts::cover_timestamp_ms.eq(replacement.cover_timestamp_ms.map(|ms| ms.min(i32::MAX as u32) as i32)),
            posts::thumbnail_jpeg.eq(replacement.thumbnail.as_deref()),
            posts::updated_at.eq(OffsetDateTime::now_utc()),
        ))
        .execute(conn)
        .await?;
    if let Some(old_media) = old_media {
        catalog::release_media_if_unneeded(conn, old_media).await?;
    }
    let message = format!("Replaced the video ({} → {}).", crate::ui::human_bytes(old_bytes.max(0) as u64), crate::ui::human_bytes(stored.byte_size));
    record_event(conn, post_id, "edited", &message).await?;
    let change = Change::new(Subject::Post, post_id, "post.video_replaced", message)
        .values(Some(serde_json::json!({ "media_id": old_media, "video_bytes": old_bytes })), Some(serde_json::json!({ "media_id": media_id, "video_bytes": stored.byte_size })));
    crate::audit::ssr::record(conn, caller, change).await?;
    // The fingerprint covers the video: an approval of the old one does not carry over.
    crate::approvals::ssr::after_change(conn, caller, post_id).await
}

async fn swap_draft_video(conn: &mut AsyncPgConnection, caller: Caller, draft_id: Uuid, media_id: Uuid, replacement: &Replacement) -> AppResult<()> {
    let old: Option<(Option<Uuid>, serde_json::Value)> = drafts::table
        .find(draft_id)
        .filter(drafts::team_id.eq(caller.team_id))
        .select((drafts::media_id, drafts::choices))
        .for_update()
        .first(conn)
        .await
        .optional()?;
    let (old_media, choices) = old.ok_or_else(|| AppError::Conflict("This draft was scheduled or deleted meanwhile.".into()))?;
    let old_media = old_media.ok_or_else(|| AppError::invalid("video", "This draft holds photos, not a video."))?;
    let mut choices: ComposerChoices = serde_json::from_value(choices).unwrap_or_default();
    choices.cover_timestamp_ms = replacement.cover_timestamp_ms;
    diesel::update(drafts::table.find(draft_id))
        .set((
            drafts::media_id.eq(media_id),
            drafts::choices.eq(serde_json::to_value(&choices).unwrap_or_default()),
            drafts::thumbnail_jpeg.eq(replacement.thumbnail.as_deref()),
            drafts::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    catalog::release_media_if_unneeded(conn, old_media).await?;
    let change = Change::new(Subject::Post, draft_id, "draft.video_replaced", "Replaced a draft's video.")
        .values(Some(serde_json::json!({ "media_id": old_media })), Some(serde_json::json!({ "media_id": media_id })));
    crate::audit::ssr::record(conn, caller, change).await?;
    Ok(())
}
