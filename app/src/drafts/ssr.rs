//! Drafts in PostgreSQL: saved from the composer with their video (or a carousel's images) in the media store, listed, changed and deleted by the team's editors, and scheduled, which turns one into a post under every rule of the composer.

use crate::{
    accounts::ssr::TikTokAccount,
    audit::{ssr::Change, types::Subject},
    calendar::{ssr::member_zone, zone},
    db::schema::{drafts, media, tiktok_accounts, users},
    drafts::types::DraftView,
    error::{AppError, AppResult},
    posts::{
        editing::{check_for_account, check_photos_for_account, future_time, normalised},
        photo_rules::{self, PhotoChoices, text_problems},
        rules::{ComposerChoices, caption_problem},
        ssr::{NewPost, create},
        types::{Destination, PostState},
    },
    state::AppState,
    teams::{ssr::Caller, types::Role},
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// Editors and up keep drafts; viewers only look.
const MIN_ROLE: Role = Role::Editor;

/// What a draft holds, already recorded in `media`: one video, or a carousel's images in
/// order with the photo post's own choices.
#[derive(Clone, Debug)]
pub enum DraftMedia {
    Video(Uuid),
    Photos(Vec<Uuid>, PhotoChoices),
}

/// Stores a new draft of `caller` holding `held`, in the caller's transaction. Returns its id.
pub async fn save_new(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    account_id: Option<Uuid>,
    choices: &ComposerChoices,
    held: DraftMedia,
    thumbnail_jpeg: Option<&[u8]>,
) -> AppResult<Uuid> {
    caller.require(MIN_ROLE)?;
    if let Some(account) = account_id {
        TikTokAccount::find_for_team(conn, caller.team_id, account).await?;
    }
    let (media_id, photo_media_ids, photo) = match held {
        DraftMedia::Video(id) => (Some(id), None, None),
        DraftMedia::Photos(ids, photo) => (None, Some(ids), Some(serde_json::to_value(photo).unwrap_or_default())),
    };
    let id: Uuid = diesel::insert_into(drafts::table)
        .values((
            drafts::team_id.eq(caller.team_id),
            drafts::created_by.eq(Some(caller.user_id)),
            drafts::account_id.eq(account_id),
            drafts::choices.eq(json(choices)),
            drafts::media_id.eq(media_id),
            drafts::photo_media_ids.eq(photo_media_ids),
            drafts::photo.eq(photo),
            drafts::thumbnail_jpeg.eq(thumbnail_jpeg),
        ))
        .returning(drafts::id)
        .get_result(conn)
        .await?;
    let change = Change::new(Subject::Post, id, "draft.saved", "Saved a draft.").values(None, Some(json(choices)));
    crate::audit::ssr::record(conn, caller, change).await?;
    Ok(id)
}

fn json(choices: &ComposerChoices) -> serde_json::Value {
    serde_json::to_value(choices).unwrap_or_default()
}

type Row = (
    (Uuid, Option<Uuid>, Option<String>, serde_json::Value, Option<i64>, Option<i32>, Option<String>, OffsetDateTime, bool),
    (Option<Uuid>, Option<Vec<Uuid>>, Option<serde_json::Value>),
);

/// The team's drafts, last saved first (or just `only`).
async fn load(conn: &mut AsyncPgConnection, caller: Caller, only: Option<Uuid>) -> AppResult<Vec<DraftView>> {
    let mut query = drafts::table
        .left_join(media::table)
        .left_join(tiktok_accounts::table)
        .left_join(users::table.on(users::id.nullable().eq(drafts::created_by)))
        .filter(drafts::team_id.eq(caller.team_id))
        .order((drafts::updated_at.desc(), drafts::id))
        .limit(500)
        .select((
            (
                drafts::id,
                drafts::account_id,
                tiktok_accounts::display_name.nullable(),
                drafts::choices,
                media::byte_size.nullable(),
                media::duration_ms.nullable(),
                users::display_name.nullable(),
                drafts::updated_at,
                drafts::thumbnail_jpeg.is_not_null(),
            ),
            (drafts::media_id, drafts::photo_media_ids, drafts::photo),
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(drafts::id.eq(id));
    }
    let rows: Vec<Row> = query.load(conn).await?;
    let image_sizes = image_sizes(conn, caller, &rows).await?;
    let (_, tz) = member_zone(conn, caller.user_id).await?;
    Ok(rows
        .into_iter()
        .map(|((id, account_id, account_name, choices, bytes, duration_ms, created_by, updated_at, has_thumbnail), (media_id, images, photo))| {
            let images = images.unwrap_or_default();
            let bytes = match bytes {
                Some(bytes) => u64::try_from(bytes).unwrap_or(0),
                None => images.iter().filter_map(|image| image_sizes.get(image)).sum(),
            };
            DraftView {
                id,
                account_id,
                account_name,
                choices: serde_json::from_value(choices).unwrap_or_default(),
                video_bytes: bytes,
                duration_ms,
                created_by: created_by.unwrap_or_else(|| "A former member".into()),
                updated_label: zone::label(updated_at, &tz),
                video_url: media_id.map(|media_id| format!("/drafts/{id}/video?m={media_id}")),
                photo_urls: images.iter().enumerate().map(|(index, image)| format!("/drafts/{id}/photos/{index}?m={image}")).collect(),
                photo: photo.and_then(|photo| serde_json::from_value(photo).ok()),
                thumbnail_url: has_thumbnail.then(|| crate::media::thumbnail::address("drafts", id, updated_at)),
            }
        })
        .collect())
}

/// The byte sizes of the photo drafts' images among `rows`, in one query (none without photos).
async fn image_sizes(conn: &mut AsyncPgConnection, caller: Caller, rows: &[Row]) -> QueryResult<std::collections::HashMap<Uuid, u64>> {
    let images: Vec<Uuid> = rows.iter().flat_map(|(_, (_, images, _))| images.iter().flatten().copied()).collect();
    if images.is_empty() {
        return Ok(Default::default());
    }
    let sizes: Vec<(Uuid, i64)> = media::table
        .filter(media::id.eq_any(&images))
        .filter(media::team_id.eq(caller.team_id))
        .select((media::id, media::byte_size))
        .load(conn)
        .await?;
    Ok(sizes.into_iter().map(|(id, size)| (id, u64::try_from(size).unwrap_or(0))).collect())
}

pub async fn list(conn: &mut AsyncPgConnection, caller: Caller) -> AppResult<Vec<DraftView>> {
    load(conn, caller, None).await
}

pub async fn find(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid) -> AppResult<DraftView> {
    load(conn, caller, Some(id)).await?.pop().ok_or_else(|| AppError::NotFound("Draft".into()))
}

/// Saves a draft's new account (or none) and choices, and a photo draft's `photo` choices. A
/// draft is not checked against the creator's rules yet, only the text's own limits: the rules
/// apply when it is scheduled.
pub async fn update(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    id: Uuid,
    account_id: Option<Uuid>,
    choices: ComposerChoices,
    photo: Option<PhotoChoices>,
) -> AppResult<()> {
    caller.require(MIN_ROLE)?;
    if let Some(account) = account_id {
        TikTokAccount::find_for_team(conn, caller.team_id, account).await?;
    }
    conn.transaction(async |conn| {
        let (before, images, stored_photo): (serde_json::Value, Option<Vec<Uuid>>, Option<serde_json::Value>) = drafts::table
            .find(id)
            .filter(drafts::team_id.eq(caller.team_id))
            .select((drafts::choices, drafts::photo_media_ids, drafts::photo))
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::NotFound("Draft".into()))?;
        let (choices, photo) = checked_text(choices, images.map(|images| images.len()), photo, stored_photo)?;
        diesel::update(drafts::table.find(id))
            .set((
                drafts::account_id.eq(account_id),
                drafts::choices.eq(json(&choices)),
                drafts::photo.eq(photo.as_ref().map(|photo| serde_json::to_value(photo).unwrap_or_default())),
                drafts::updated_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
        let change = Change::new(Subject::Post, id, "draft.edited", "Edited a draft.").values(Some(before), Some(json(&choices)));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// The draft's choices as they are kept, with its text within TikTok's limits: a video's
/// caption, or a photo draft's title and description (with a cover among its `image_count`
/// images). A photo draft saved without new photo choices keeps the `stored` ones.
fn checked_text(
    choices: ComposerChoices,
    image_count: Option<usize>,
    photo: Option<PhotoChoices>,
    stored: Option<serde_json::Value>,
) -> AppResult<(ComposerChoices, Option<PhotoChoices>)> {
    let choices = normalised(choices);
    let Some(image_count) = image_count else {
        if let Some(problem) = caption_problem(&choices.caption) {
            return Err(AppError::invalid("caption", problem));
        }
        return Ok((choices, None));
    };
    let choices = photo_rules::normalised(&choices);
    let photo = photo.or_else(|| stored.and_then(|value| serde_json::from_value(value).ok())).unwrap_or_default();
    if let Some(first) = text_problems(&choices, &photo).into_iter().next() {
        return Err(AppError::invalid(first.field, first.message));
    }
    if photo.cover_index as usize >= image_count {
        return Err(AppError::invalid("photo_cover", "Choose one of the photos as the cover."));
    }
    Ok((choices, Some(photo)))
}

/// Deletes a draft; its video is kept for the grace period, then removed.
pub async fn delete(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid) -> AppResult<()> {
    caller.require(MIN_ROLE)?;
    conn.transaction(async |conn| {
        let taken = take(conn, caller, id).await?.ok_or_else(|| AppError::NotFound("Draft".into()))?;
        for media_id in taken.media_ids() {
            crate::media::catalog::release_media_if_unneeded(conn, media_id).await?;
        }
        crate::audit::ssr::record(conn, caller, Change::new(Subject::Post, id, "draft.deleted", "Deleted a draft.")).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// What a removed draft held.
struct Taken {
    media_id: Option<Uuid>,
    photo_media_ids: Option<Vec<Uuid>>,
    thumbnail_jpeg: Option<Vec<u8>>,
}

impl Taken {
    fn media_ids(&self) -> Vec<Uuid> {
        self.media_id.into_iter().chain(self.photo_media_ids.iter().flatten().copied()).collect()
    }
}

/// Removes one of the team's drafts; returns what it held, or `None` when there was no such
/// draft (another request took it first).
async fn take(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid) -> QueryResult<Option<Taken>> {
    let taken: Option<(Option<Uuid>, Option<Vec<Uuid>>, Option<Vec<u8>>)> =
        diesel::delete(drafts::table.find(id).filter(drafts::team_id.eq(caller.team_id)))
            .returning((drafts::media_id, drafts::photo_media_ids, drafts::thumbnail_jpeg))
            .get_result(conn)
            .await
            .optional()?;
    Ok(taken.map(|(media_id, photo_media_ids, thumbnail_jpeg)| Taken { media_id, photo_media_ids, thumbnail_jpeg }))
}

/// Schedules a draft for `account_id` at `wall_clock` (the caller's time) with `choices` (and,
/// for a photo draft, `photo`): the composer's rules for that account, asked fresh from TikTok,
/// apply as for a new post. The post takes the draft's video or images, and the draft is gone,
/// in one transaction, so two clicks (or two servers) never make two posts of it. Returns the
/// post's id.
pub async fn schedule(
    state: &AppState,
    caller: Caller,
    id: Uuid,
    account_id: Uuid,
    choices: ComposerChoices,
    photo: Option<PhotoChoices>,
    wall_clock: &str,
) -> AppResult<Uuid> {
    caller.require(MIN_ROLE)?;
    let (draft, at) = {
        let mut conn = state.pool.get().await?;
        let draft = find(&mut conn, caller, id).await?;
        let (_, tz) = member_zone(&mut conn, caller.user_id).await?;
        (draft, future_time(wall_clock, &tz)?)
    };
    let image_count = draft.photo.is_some().then_some(draft.photo_urls.len());
    let (choices, photo) = checked_text(choices, image_count, photo.or_else(|| draft.photo.clone()), None)?;
    match &photo {
        Some(photo) => {
            // TikTok takes photos only by pulling them; a server without the setting cannot.
            if state.config.media_public_url.is_none() {
                return Err(AppError::invalid("photos", crate::publishing::photos::NEEDS_MEDIA_URL));
            }
            check_photos_for_account(state, caller, account_id, Destination::Profile, &choices, photo, draft.photo_urls.len()).await?;
        }
        None => check_for_account(state, caller, account_id, Destination::Profile, &choices, draft.duration_ms).await?,
    }
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let taken = take(conn, caller, id).await?.ok_or_else(|| AppError::Conflict("This draft was scheduled or deleted meanwhile.".into()))?;
        let first = taken.media_ids().into_iter().next().ok_or_else(|| AppError::Conflict("This draft holds no media.".into()))?;
        let (content_type, duration_ms): (String, Option<i32>) =
            media::table.find(first).select((media::content_type, media::duration_ms)).first(conn).await?;
        let account = TikTokAccount::find_for_team(conn, caller.team_id, account_id).await?;
        let photos = match (taken.photo_media_ids, photo) {
            (Some(images), Some(photo)) => Some((images, photo)),
            _ => None,
        };
        let post = create(
            conn,
            NewPost {
                team_id: caller.team_id,
                account_id,
                created_by: caller.user_id,
                destination: Destination::Profile,
                state: PostState::Scheduled,
                choices: choices.clone(),
                video_bytes: draft.video_bytes,
                content_type,
                duration_ms,
                media_id: taken.media_id,
                scheduled_at: Some(at),
                thumbnail_jpeg: taken.thumbnail_jpeg,
                photos,
            },
        )
        .await?;
        let change = Change::new(Subject::Post, post.id, "post.scheduled", format!("Scheduled a draft to {}.", account.display_name))
            .values(None, Some(serde_json::json!({ "choices": post.choices(), "photos": post.photo_choices(), "scheduled_at": post.scheduled_at, "account_id": account_id, "draft": id })));
        crate::audit::ssr::record(conn, caller, change).await?;
        crate::approvals::ssr::after_change(conn, caller, post.id).await?;
        Ok::<_, AppError>(post.id)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_drafts_caption_and_a_photo_drafts_text_are_held_to_their_own_limits() {
        let long = ComposerChoices { caption: "word ".repeat(600), allow_duet: true, ..Default::default() };
        // 3000 units: past nothing a draft checks for a video (its limit applies when
        // scheduled), and within a photo's 4000-unit description.
        let (video, none) = checked_text(long.clone(), None, None, None).unwrap();
        assert!(video.allow_duet && none.is_none());
        let saved = serde_json::json!({ "title": "Trip", "cover_index": 1, "auto_add_music": true });
        let (photos, photo) = checked_text(long.clone(), Some(2), None, Some(saved)).unwrap();
        assert!(!photos.allow_duet, "photos have no duets");
        assert_eq!(photo, Some(PhotoChoices { title: "Trip".into(), cover_index: 1, auto_add_music: true }), "the stored choices are kept");

        let past_cover = PhotoChoices { cover_index: 2, ..Default::default() };
        assert_eq!(checked_text(long.clone(), Some(2), Some(past_cover), None).unwrap_err().field_message("photo_cover").as_deref(), Some("Choose one of the photos as the cover."));
        let wordy = PhotoChoices { title: "x".repeat(91), ..Default::default() };
        assert!(checked_text(long, Some(2), Some(wordy), None).unwrap_err().field_message("photo_title").is_some());
        let control = ComposerChoices { caption: "bad\u{7}".into(), ..Default::default() };
        assert!(checked_text(control, None, None, None).unwrap_err().field_message("caption").is_some());
    }
}
