//! Drafts in PostgreSQL: saved from the composer with their video in the media store, listed, changed and deleted by the team's editors, and scheduled, which turns one into a post under every rule of the composer.

use crate::{
    accounts::ssr::TikTokAccount,
    audit::{ssr::Change, types::Subject},
    calendar::{ssr::member_zone, zone},
    db::schema::{drafts, media, tiktok_accounts, users},
    drafts::types::DraftView,
    error::{AppError, AppResult},
    posts::{
        editing::{check_for_account, future_time, normalised},
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

/// Stores a new draft of `caller` with the video already recorded as `media_id`, in the
/// caller's transaction. Returns its id.
pub async fn save_new(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    account_id: Option<Uuid>,
    choices: &ComposerChoices,
    media_id: Uuid,
    thumbnail_jpeg: Option<&[u8]>,
) -> AppResult<Uuid> {
    caller.require(MIN_ROLE)?;
    if let Some(account) = account_id {
        TikTokAccount::find_for_team(conn, caller.team_id, account).await?;
    }
    let id: Uuid = diesel::insert_into(drafts::table)
        .values((
            drafts::team_id.eq(caller.team_id),
            drafts::created_by.eq(Some(caller.user_id)),
            drafts::account_id.eq(account_id),
            drafts::choices.eq(json(choices)),
            drafts::media_id.eq(media_id),
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

type Row = (Uuid, Option<Uuid>, Option<String>, serde_json::Value, i64, Option<i32>, Option<String>, OffsetDateTime, bool, Uuid);

/// The team's drafts, last saved first (or just `only`).
async fn load(conn: &mut AsyncPgConnection, caller: Caller, only: Option<Uuid>) -> AppResult<Vec<DraftView>> {
    let mut query = drafts::table
        .inner_join(media::table)
        .left_join(tiktok_accounts::table)
        .left_join(users::table.on(users::id.nullable().eq(drafts::created_by)))
        .filter(drafts::team_id.eq(caller.team_id))
        .order((drafts::updated_at.desc(), drafts::id))
        .limit(500)
        .select((
            drafts::id,
            drafts::account_id,
            tiktok_accounts::display_name.nullable(),
            drafts::choices,
            media::byte_size,
            media::duration_ms,
            users::display_name.nullable(),
            drafts::updated_at,
            drafts::thumbnail_jpeg.is_not_null(),
            drafts::media_id,
        ))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(drafts::id.eq(id));
    }
    let rows: Vec<Row> = query.load(conn).await?;
    let (_, tz) = member_zone(conn, caller.user_id).await?;
    Ok(rows
        .into_iter()
        .map(|(id, account_id, account_name, choices, bytes, duration_ms, created_by, updated_at, has_thumbnail, media_id)| DraftView {
            id,
            account_id,
            account_name,
            choices: serde_json::from_value(choices).unwrap_or_default(),
            video_bytes: u64::try_from(bytes).unwrap_or(0),
            duration_ms,
            created_by: created_by.unwrap_or_else(|| "A former member".into()),
            updated_label: zone::label(updated_at, &tz),
            video_url: format!("/drafts/{id}/video?m={media_id}"),
            thumbnail_url: has_thumbnail.then(|| crate::media::thumbnail::address("drafts", id, updated_at)),
        })
        .collect())
}

pub async fn list(conn: &mut AsyncPgConnection, caller: Caller) -> AppResult<Vec<DraftView>> {
    load(conn, caller, None).await
}

pub async fn find(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid) -> AppResult<DraftView> {
    load(conn, caller, Some(id)).await?.pop().ok_or_else(|| AppError::NotFound("Draft".into()))
}

/// Saves a draft's new account (or none) and choices. A draft is not checked against the
/// creator's rules yet, only the caption's own limits: the rules apply when it is scheduled.
pub async fn update(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid, account_id: Option<Uuid>, choices: ComposerChoices) -> AppResult<()> {
    caller.require(MIN_ROLE)?;
    let choices = normalised(choices);
    if let Some(problem) = caption_problem(&choices.caption) {
        return Err(AppError::invalid("caption", problem));
    }
    if let Some(account) = account_id {
        TikTokAccount::find_for_team(conn, caller.team_id, account).await?;
    }
    conn.transaction(async |conn| {
        let before: serde_json::Value = drafts::table
            .find(id)
            .filter(drafts::team_id.eq(caller.team_id))
            .select(drafts::choices)
            .for_update()
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::NotFound("Draft".into()))?;
        diesel::update(drafts::table.find(id))
            .set((drafts::account_id.eq(account_id), drafts::choices.eq(json(&choices)), drafts::updated_at.eq(diesel::dsl::now)))
            .execute(conn)
            .await?;
        let change = Change::new(Subject::Post, id, "draft.edited", "Edited a draft.").values(Some(before), Some(json(&choices)));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// Deletes a draft; its video is kept for the grace period, then removed.
pub async fn delete(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid) -> AppResult<()> {
    caller.require(MIN_ROLE)?;
    conn.transaction(async |conn| {
        let (media_id, _) = take(conn, caller, id).await?.ok_or_else(|| AppError::NotFound("Draft".into()))?;
        crate::media::catalog::release_media_if_unneeded(conn, media_id).await?;
        crate::audit::ssr::record(conn, caller, Change::new(Subject::Post, id, "draft.deleted", "Deleted a draft.")).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// Removes one of the team's drafts; returns its video and thumbnail, or `None` when there was
/// no such draft (another request took it first).
async fn take(conn: &mut AsyncPgConnection, caller: Caller, id: Uuid) -> QueryResult<Option<(Uuid, Option<Vec<u8>>)>> {
    diesel::delete(drafts::table.find(id).filter(drafts::team_id.eq(caller.team_id)))
        .returning((drafts::media_id, drafts::thumbnail_jpeg))
        .get_result(conn)
        .await
        .optional()
}

/// Schedules a draft for `account_id` at `wall_clock` (the caller's time) with `choices`: the
/// composer's rules for that account, asked fresh from TikTok, apply as for a new post. The
/// post takes the draft's video, and the draft is gone, in one transaction, so two clicks (or
/// two servers) never make two posts of it. Returns the post's id.
pub async fn schedule(
    state: &AppState,
    caller: Caller,
    id: Uuid,
    account_id: Uuid,
    choices: ComposerChoices,
    wall_clock: &str,
) -> AppResult<Uuid> {
    caller.require(MIN_ROLE)?;
    let choices = normalised(choices);
    if let Some(problem) = caption_problem(&choices.caption) {
        return Err(AppError::invalid("caption", problem));
    }
    let (draft, at) = {
        let mut conn = state.pool.get().await?;
        let draft = find(&mut conn, caller, id).await?;
        let (_, tz) = member_zone(&mut conn, caller.user_id).await?;
        (draft, future_time(wall_clock, &tz)?)
    };
    check_for_account(state, caller, account_id, Destination::Profile, &choices, draft.duration_ms).await?;
    let mut conn = state.pool.get().await?;
    conn.transaction(async |conn| {
        let (media_id, thumbnail_jpeg) =
            take(conn, caller, id).await?.ok_or_else(|| AppError::Conflict("This draft was scheduled or deleted meanwhile.".into()))?;
        let (content_type, duration_ms): (String, Option<i32>) =
            media::table.find(media_id).select((media::content_type, media::duration_ms)).first(conn).await?;
        let account = TikTokAccount::find_for_team(conn, caller.team_id, account_id).await?;
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
                media_id: Some(media_id),
                scheduled_at: Some(at),
                thumbnail_jpeg,
                photos: None,
            },
        )
        .await?;
        let change = Change::new(Subject::Post, post.id, "post.scheduled", format!("Scheduled a draft to {}.", account.display_name))
            .values(None, Some(serde_json::json!({ "choices": post.choices(), "scheduled_at": post.scheduled_at, "account_id": account_id, "draft": id })));
        crate::audit::ssr::record(conn, caller, change).await?;
        crate::approvals::ssr::after_change(conn, caller, post.id).await?;
        Ok::<_, AppError>(post.id)
    })
    .await
}
