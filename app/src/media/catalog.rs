//! The `media` table: which stored video or photo belongs to which team and post, and when a file no
//! longer needed may be deleted (after a grace period, so a late look at a post still works).

use crate::{
    db::schema::{drafts, media, posts},
    media::{
        image::PhotoFacts,
        store::{MediaStore, StoredFile, StoredMedia},
    },
    posts::types::PostState,
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a published or cancelled post's video is kept.
pub const GRACE: time::Duration = time::Duration::hours(24);

/// A stored video as a page plays it: its key in the media store, its size and type (read as
/// `(media::storage_key, media::byte_size, media::content_type)`).
pub struct StoredVideo {
    pub storage_key: String,
    pub byte_size: u64,
    pub content_type: String,
}

impl From<(String, i64, String)> for StoredVideo {
    fn from((storage_key, byte_size, content_type): (String, i64, String)) -> Self {
        Self { storage_key, byte_size: u64::try_from(byte_size).unwrap_or(0), content_type }
    }
}

/// Records a stored video for the team; returns its id.
pub async fn record(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    uploaded_by: Uuid,
    stored: &StoredMedia,
) -> QueryResult<Uuid> {
    let facts = &stored.facts;
    diesel::insert_into(media::table)
        .values((
            media::team_id.eq(team_id),
            media::storage_key.eq(&stored.key),
            media::byte_size.eq(stored.byte_size as i64),
            media::content_type.eq(facts.container.mime_type()),
            media::duration_ms.eq(facts.duration_ms()),
            media::width.eq(facts.width.map(|w| w as i32)),
            media::height.eq(facts.height.map(|h| h as i32)),
            media::codec.eq(&facts.codec),
            media::uploaded_by.eq(Some(uploaded_by)),
        ))
        .returning(media::id)
        .get_result(conn)
        .await
}

/// The storage key of a media row.
pub async fn storage_key(conn: &mut AsyncPgConnection, media_id: Uuid) -> QueryResult<String> {
    media::table.find(media_id).select(media::storage_key).first(conn).await
}

/// Records a stored photo for the team (already checked by `media::image`); returns its id.
pub async fn record_photo(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    uploaded_by: Uuid,
    stored: &StoredFile,
    facts: &PhotoFacts,
) -> QueryResult<Uuid> {
    diesel::insert_into(media::table)
        .values((
            media::team_id.eq(team_id),
            media::storage_key.eq(&stored.key),
            media::byte_size.eq(stored.byte_size as i64),
            media::content_type.eq(facts.format.mime_type()),
            media::width.eq(Some(facts.width.min(i32::MAX as u32) as i32)),
            media::height.eq(Some(facts.height.min(i32::MAX as u32) as i32)),
            media::uploaded_by.eq(Some(uploaded_by)),
        ))
        .returning(media::id)
        .get_result(conn)
        .await
}

/// Once no post that still needs the post's video (or images) refers to it, marks the files
/// for removal.
pub async fn release_if_unneeded(conn: &mut AsyncPgConnection, post_id: Uuid) -> QueryResult<()> {
    let (video, images) =
        posts::table.find(post_id).select((posts::media_id, posts::photo_media_ids)).first::<(Option<Uuid>, Option<Vec<Uuid>>)>(conn).await?;
    for media_id in video.into_iter().chain(images.into_iter().flatten()) {
        release_media_if_unneeded(conn, media_id).await?;
    }
    Ok(())
}

/// Takes a post's files back from removal (a failed post sent again, a duplicate).
pub async fn keep(conn: &mut AsyncPgConnection, media_ids: &[Uuid]) -> QueryResult<()> {
    diesel::update(media::table.filter(media::id.eq_any(media_ids)))
        .set(media::remove_after.eq(None::<OffsetDateTime>))
        .execute(conn)
        .await?;
    Ok(())
}

/// Once neither a draft nor a post that still needs it refers to the video, marks the file
/// for removal (after the grace period).
pub async fn release_media_if_unneeded(conn: &mut AsyncPgConnection, media_id: Uuid) -> QueryResult<()> {
    let drafts_using: i64 = drafts::table
        .filter(drafts::media_id.eq(media_id).or(drafts::photo_media_ids.contains(vec![media_id])))
        .count()
        .get_result(conn)
        .await?;
    let posts_needing: i64 = posts::table
        .filter(posts::media_id.eq(media_id).or(posts::photo_media_ids.contains(vec![media_id])))
        .filter(posts::state.eq_any([
            PostState::Scheduled.as_str(),
            PostState::Uploading.as_str(),
            PostState::Failed.as_str(),
            PostState::Unconfirmed.as_str(),
        ]))
        .count()
        .get_result(conn)
        .await?;
    if drafts_using + posts_needing == 0 {
        diesel::update(media::table.find(media_id).filter(media::remove_after.is_null()))
            .set(media::remove_after.eq(Some(OffsetDateTime::now_utc() + GRACE)))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Deletes videos whose grace period is over. Returns how many went.
///
/// The row goes first, in one statement that checks the grace period again: a post that took
/// the video back meanwhile (a duplicate clears `remove_after`) keeps it, and a file is only
/// deleted once nothing can refer to it. A file whose deletion fails then is only an orphan.
pub async fn remove_expired(conn: &mut AsyncPgConnection, store: &MediaStore, now: OffsetDateTime) -> QueryResult<usize> {
    let due: Vec<Uuid> = media::table.filter(media::remove_after.le(now)).select(media::id).limit(500).load(conn).await?;
    let mut removed = 0;
    for id in due {
        let claimed: Option<String> = diesel::delete(media::table.find(id).filter(media::remove_after.le(now)))
            .returning(media::storage_key)
            .get_result(conn)
            .await
            .optional()?;
        let Some(key) = claimed else { continue };
        removed += 1;
        if let Err(error) = store.delete(&key).await {
            tracing::warn!(error = %error, media = %id, "a released video's file could not be deleted; it is left as an orphan");
        }
    }
    Ok(removed)
}
