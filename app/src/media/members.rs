//! The team's own stored videos, photos and thumbnails, for its members' pages (the post page's phone preview, the lists' frames): found only through a post or draft of the caller's team.

use crate::{
    db::schema::{drafts, media, posts},
    error::{AppError, AppResult},
    media::catalog::StoredVideo,
    teams::ssr::Caller,
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// What a member's page may show: a post's or a draft's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    Post(Uuid),
    Draft(Uuid),
}

/// The video of `owner`, if it is the caller's team's and still stored (a published post's is
/// kept only for a grace period; "Post now" never stores one). Any viewer may watch it.
pub async fn video_of(conn: &mut AsyncPgConnection, caller: Caller, owner: Owner) -> AppResult<StoredVideo> {
    let columns = (media::storage_key, media::byte_size, media::content_type);
    let found: Option<(String, i64, String)> = match owner {
        Owner::Post(id) => {
            posts::table
                .inner_join(media::table)
                .filter(posts::id.eq(id))
                .filter(posts::team_id.eq(caller.team_id))
                .filter(media::team_id.eq(caller.team_id))
                .select(columns)
                .first(conn)
                .await
        }
        Owner::Draft(id) => {
            drafts::table
                .inner_join(media::table)
                .filter(drafts::id.eq(id))
                .filter(drafts::team_id.eq(caller.team_id))
                .filter(media::team_id.eq(caller.team_id))
                .select(columns)
                .first(conn)
                .await
        }
    }
    .optional()?;
    found.map(StoredVideo::from).ok_or_else(|| AppError::NotFound("Video".into()))
}

/// Image `index` (0-based) of a photo post or photo draft of the caller's team, while it is stored.
pub async fn photo_of(conn: &mut AsyncPgConnection, caller: Caller, owner: Owner, index: usize) -> AppResult<StoredVideo> {
    let images: Option<Option<Vec<Uuid>>> = match owner {
        Owner::Post(id) => {
            posts::table.filter(posts::id.eq(id)).filter(posts::team_id.eq(caller.team_id)).select(posts::photo_media_ids).first(conn).await
        }
        Owner::Draft(id) => {
            drafts::table.filter(drafts::id.eq(id)).filter(drafts::team_id.eq(caller.team_id)).select(drafts::photo_media_ids).first(conn).await
        }
    }
    .optional()?;
    let Some(media_id) = images.flatten().and_then(|images| images.get(index).copied()) else {
        return Err(AppError::NotFound("Photo".into()));
    };
    let found: Option<(String, i64, String)> = media::table
        .filter(media::id.eq(media_id))
        .filter(media::team_id.eq(caller.team_id))
        .select((media::storage_key, media::byte_size, media::content_type))
        .first(conn)
        .await
        .optional()?;
    found.map(StoredVideo::from).ok_or_else(|| AppError::NotFound("Photo".into()))
}

/// The thumbnail JPEG of `owner`, if it is the caller's team's and has one.
pub async fn thumbnail_of(conn: &mut AsyncPgConnection, caller: Caller, owner: Owner) -> AppResult<Vec<u8>> {
    let found: Option<Option<Vec<u8>>> = match owner {
        Owner::Post(id) => {
            posts::table
                .filter(posts::id.eq(id))
                .filter(posts::team_id.eq(caller.team_id))
                .select(posts::thumbnail_jpeg)
                .first(conn)
                .await
        }
        Owner::Draft(id) => {
            drafts::table
                .filter(drafts::id.eq(id))
                .filter(drafts::team_id.eq(caller.team_id))
                .select(drafts::thumbnail_jpeg)
                .first(conn)
                .await
        }
    }
    .optional()?;
    found.flatten().ok_or_else(|| AppError::NotFound("Thumbnail".into()))
}
