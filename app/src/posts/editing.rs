//! Editing a scheduled post in place: its account, caption, settings and time (a carousel's title and cover too) change until a server claims it, under the same rules as the composer.

use crate::{
    audit::{ssr::Change, types::Subject},
    accounts::ssr::{TikTokAccount, fresh_creator_info},
    calendar::{ssr::member_zone, zone},
    db::schema::posts,
    error::{AppError, AppResult},
    posts::{
        photo_rules::{self, PhotoChoices, check_photos},
        rules::{ComposerChoices, INBOX_MAX_DURATION_SECS, caption_problem, check},
        ssr::{Post, record_event},
        types::{Destination, PostState},
    },
    publishing::intake::schedule_time_problem,
    state::AppState,
    teams::ssr::Caller,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// What an edit may change: everything of the post that reaches TikTok (the cover frame too)
/// except the video, which `publishing::replace` replaces, being an upload, and a carousel's
/// images.
#[derive(Clone, Debug)]
pub struct PostEdit {
    /// Another of the team's accounts to post to; `None` keeps the post's.
    pub account_id: Option<Uuid>,
    pub choices: ComposerChoices,
    /// The new time on the editor's wall clock (`2026-11-30T09:00`).
    pub wall_clock: String,
    /// The frame at the new cover, drawn by the form (see `media::thumbnail`).
    pub thumbnail: Option<Vec<u8>>,
    /// A photo post's title, cover and music; `None` keeps them (and means nothing for a video).
    pub photo: Option<PhotoChoices>,
}

/// Applies `edit` to a scheduled post of the caller's team, after checking it as the composer
/// would (the creator's current rules, asked fresh from TikTok, for Direct Post). The update
/// only takes a post still in "scheduled", so a server that claimed it a moment earlier keeps
/// what it claimed, and the editor is told the post is on its way. Returns the new time label.
pub async fn edit_scheduled(state: &AppState, caller: Caller, post_id: Uuid, edit: PostEdit) -> AppResult<String> {
    let mut conn = state.pool.get().await?;
    let post = Post::find_for_team(&mut conn, caller.team_id, post_id).await?;
    if post.state() != PostState::Scheduled {
        return Err(not_editable(post.state()));
    }
    // A photo post keeps its images; its own choices change with the rest, as photos take them.
    let photo = post.photo_choices().map(|stored| edit.photo.clone().unwrap_or(stored));
    let choices = match photo {
        Some(_) => photo_rules::normalised(&normalised(edit.choices)),
        None => normalised(edit.choices),
    };
    // TikTok takes the cover as a moment of the video: one past its end is no frame at all.
    if let (Some(cover), Some(duration)) = (choices.cover_timestamp_ms, post.duration_ms)
        && i64::from(cover) > i64::from(duration)
    {
        return Err(AppError::invalid("cover_timestamp_ms", "Choose a cover frame within the video."));
    }
    if let Some(problem) = caption_problem(&choices.caption) {
        return Err(AppError::invalid("caption", problem));
    }
    let (_, tz) = member_zone(&mut conn, caller.user_id).await?;
    // The form shows the time to the minute: the same minute keeps the stored time as it is.
    let at = match post.scheduled_at {
        Some(stored) if zone::wall_clock(stored, &tz) == edit.wall_clock.trim() => stored,
        _ => future_time(&edit.wall_clock, &tz)?,
    };
    drop(conn);
    let account_id = edit.account_id.unwrap_or(post.account_id);
    match (&photo, &post.photo_media_ids) {
        (Some(photo), Some(images)) => {
            check_photos_for_account(state, caller, account_id, post.destination(), &choices, photo, images.len()).await?
        }
        _ => check_for_account(state, caller, account_id, post.destination(), &choices, post.duration_ms).await?,
    }

    let mut changed = changes(&post, account_id, &choices, at);
    if let (Some(new), Some(old)) = (&photo, post.photo_choices()) {
        changed.extend(photo_changes(&old, new));
    }
    let label = zone::label(at, &tz);
    if changed.is_empty() {
        return Ok(label);
    }
    let mut conn = state.pool.get().await?;
    let message = format!("Edited: {}.", changed.join(", "));
    let updated = conn
        .transaction(async |conn| {
            let updated = diesel::update(
                posts::table
                    .find(post_id)
                    .filter(posts::team_id.eq(caller.team_id))
                    .filter(posts::state.eq(PostState::Scheduled.as_str())),
            )
            .set((
                posts::account_id.eq(account_id),
                posts::caption.eq(&choices.caption),
                posts::privacy_level.eq(&choices.privacy_level),
                posts::allow_comment.eq(choices.allow_comment),
                posts::allow_duet.eq(choices.allow_duet),
                posts::allow_stitch.eq(choices.allow_stitch),
                posts::your_brand.eq(choices.your_brand),
                posts::branded_content.eq(choices.branded_content),
                posts::is_aigc.eq(choices.is_aigc),
                posts::cover_timestamp_ms.eq(choices.cover_timestamp_ms.map(|ms| ms.min(i32::MAX as u32) as i32)),
                posts::scheduled_at.eq(Some(at)),
                posts::photo_title.eq(photo.as_ref().map(|p| p.title.clone())),
                posts::photo_cover_index.eq(photo.as_ref().map(|p| p.cover_index.min(i32::MAX as u32) as i32)),
                posts::auto_add_music.eq(photo.as_ref().is_some_and(|p| p.auto_add_music)),
                posts::next_check_at.eq(None::<OffsetDateTime>),
                posts::updated_at.eq(OffsetDateTime::now_utc()),
            ))
            .execute(conn)
            .await?;
            if updated == 1 {
                // The lists show the cover: a new one is a new frame (when the form drew one).
                if let Some(jpeg) = edit.thumbnail.as_deref().filter(|_| changed.contains(&"cover frame") || changed.contains(&"cover photo")) {
                    diesel::update(posts::table.find(post_id)).set(posts::thumbnail_jpeg.eq(jpeg)).execute(conn).await?;
                }
                record_event(conn, post_id, "edited", &message).await?;
                let before = serde_json::json!({ "account_id": post.account_id, "choices": post.choices(), "photos": post.photo_choices(), "scheduled_at": post.scheduled_at });
                let after = serde_json::json!({ "account_id": account_id, "choices": choices, "photos": photo, "scheduled_at": at });
                let change = Change::new(Subject::Post, post_id, "post.edited", message.clone()).values(Some(before), Some(after));
                crate::audit::ssr::record(conn, caller, change).await?;
                // An edit of an approved post asks for approval again (unless an approver made it).
                crate::approvals::ssr::after_change(conn, caller, post_id).await?;
            }
            Ok::<_, AppError>(updated)
        })
        .await?;
    if updated == 0 {
        // Claimed (or cancelled) between the check and the update: what was claimed goes out.
        let now = Post::find_for_team(&mut conn, caller.team_id, post_id).await?;
        return Err(not_editable(now.state()));
    }
    Ok(label)
}

/// The composer's choices as they are stored: no commercial labels without the master switch.
pub fn normalised(mut choices: ComposerChoices) -> ComposerChoices {
    choices.commercial = choices.commercial || choices.your_brand || choices.branded_content;
    if !choices.commercial {
        (choices.your_brand, choices.branded_content) = (false, false);
    }
    choices
}

/// A time typed on the member's wall clock, which must still be ahead.
pub fn future_time(wall_clock: &str, tz: &jiff::tz::TimeZone) -> AppResult<OffsetDateTime> {
    let at = zone::from_local(wall_clock, tz).map_err(|message| AppError::invalid("scheduled_at", message))?;
    if let Some(problem) = schedule_time_problem(at, OffsetDateTime::now_utc()) {
        return Err(AppError::invalid("scheduled_at", problem));
    }
    Ok(at)
}

/// Checks `choices` for a video of `duration_ms` against the account as the composer would:
/// for Direct Post the account must grant it and the creator's current rules (asked fresh from
/// TikTok) must allow every choice and the video's length.
pub async fn check_for_account(
    state: &AppState,
    caller: Caller,
    account_id: Uuid,
    destination: Destination,
    choices: &ComposerChoices,
    duration_ms: Option<i32>,
) -> AppResult<()> {
    let account = {
        let mut conn = state.pool.get().await?;
        TikTokAccount::find_for_team(&mut conn, caller.team_id, account_id).await?
    };
    let max_duration_secs = match destination {
        // Drafts carry no post_info: TikTok shows the creator the inbox rules in the app.
        Destination::Inbox => {
            if !account.view().allows().inbox {
                return Err(AppError::invalid(
                    "account_id",
                    "This account did not grant drafts to its TikTok inbox. Reconnect it and keep \"send drafts\" ticked, or choose another account.",
                ));
            }
            INBOX_MAX_DURATION_SECS
        }
        Destination::Profile => {
            let creator = direct_post_creator(state, &account, "privacy_level").await?;
            if let Some(violation) = check(choices, &creator).into_iter().next() {
                return Err(AppError::invalid(violation.field, violation.message));
            }
            creator.max_video_post_duration_sec.max(1) as u32
        }
    };
    // The creator's maximum may be shorter than the video (or have shrunk since it was uploaded).
    if let Some(ms) = duration_ms
        && i64::from(ms) > i64::from(max_duration_secs) * 1000
    {
        return Err(AppError::invalid(
            "video",
            format!(
                "The video runs {} s; this account may post at most {max_duration_secs} s. Use a shorter video.",
                (ms + 999) / 1000
            ),
        ));
    }
    Ok(())
}

/// Checks a photo post of `count` images against the account as the composer would: the text,
/// cover and count always; for Direct Post also the creator's current rules (asked fresh).
pub async fn check_photos_for_account(
    state: &AppState,
    caller: Caller,
    account_id: Uuid,
    destination: Destination,
    choices: &ComposerChoices,
    photo: &PhotoChoices,
    count: usize,
) -> AppResult<()> {
    let account = {
        let mut conn = state.pool.get().await?;
        TikTokAccount::find_for_team(&mut conn, caller.team_id, account_id).await?
    };
    let creator = match destination {
        Destination::Inbox => None,
        Destination::Profile => Some(direct_post_creator(state, &account, "privacy_level").await?),
    };
    match check_photos(choices, photo, count, creator.as_ref()).into_iter().next() {
        Some(first) => Err(AppError::invalid(first.field, first.message)),
        None => Ok(()),
    }
}

/// The creator's current rules for a Direct Post to `account`, asked fresh from TikTok, once
/// it is sure the account still grants Direct Post (else a refusal on `field`).
pub async fn direct_post_creator(state: &AppState, account: &TikTokAccount, field: &str) -> AppResult<crate::tiktok::types::CreatorInfo> {
    if !account.view().allows().direct_post {
        return Err(AppError::invalid(
            field,
            "This account no longer grants Direct Post. Reconnect it and keep \"post directly\" ticked, or choose another account.",
        ));
    }
    fresh_creator_info(state, account.id).await
}

pub fn not_editable(state: PostState) -> AppError {
    AppError::Conflict(match state {
        PostState::Uploading | PostState::Processing => {
            "This post is on its way to TikTok and can no longer be edited; what was scheduled is being sent.".into()
        }
        other => format!("This post is {} and can no longer be edited.", other.label().to_lowercase()),
    })
}

/// What an edit changes of a photo post's own choices, in words for the timeline.
fn photo_changes(old: &PhotoChoices, new: &PhotoChoices) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if old.title != new.title {
        changed.push("title");
    }
    if old.cover_index != new.cover_index {
        changed.push("cover photo");
    }
    if old.auto_add_music != new.auto_add_music {
        changed.push("music");
    }
    changed
}

/// What the edit changes, in words for the timeline.
fn changes(post: &Post, account_id: Uuid, choices: &ComposerChoices, at: OffsetDateTime) -> Vec<&'static str> {
    let mut changed = Vec::new();
    if post.account_id != account_id {
        changed.push("account");
    }
    if post.caption != choices.caption {
        changed.push("caption");
    }
    if post.privacy_level != choices.privacy_level {
        changed.push("who can see it");
    }
    if (post.allow_comment, post.allow_duet, post.allow_stitch) != (choices.allow_comment, choices.allow_duet, choices.allow_stitch) {
        changed.push("interactions");
    }
    if (post.your_brand, post.branded_content) != (choices.your_brand, choices.branded_content) {
        changed.push("commercial content disclosure");
    }
    if post.is_aigc != choices.is_aigc {
        changed.push("AI-generated label");
    }
    if post.cover_timestamp_ms.map(|ms| ms.max(0) as u32) != choices.cover_timestamp_ms {
        changed.push("cover frame");
    }
    if post.scheduled_at != Some(at) {
        changed.push("time");
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_carousels_own_changes_are_named_for_the_timeline() {
        let old = PhotoChoices { title: "Trip".into(), cover_index: 0, auto_add_music: false };
        assert!(photo_changes(&old, &old).is_empty());
        let new = PhotoChoices { title: "Trip!".into(), cover_index: 2, auto_add_music: true };
        assert_eq!(photo_changes(&old, &new), ["title", "cover photo", "music"]);
    }
}
