//! Taking a photo post from the browser: the composer's fields, then 1 to 35 images, each
//! checked from its first bytes (`media::image`) before it is stored, then the post created
//! and, for "Post now" or "Send to inbox", TikTok asked at once to pull the images
//! (`publishing::pull`). TikTok takes photos only by PULL_FROM_URL, so every image is stored,
//! even for a post that goes out at once, and a server without a verified media URL refuses
//! photo posts before a byte is sent.

use crate::{
    accounts::ssr::{TikTokAccount, fresh_creator_info},
    error::{AppError, AppResult},
    media::{
        catalog,
        image::{HEAD_BYTES, MAX_PHOTO_BYTES, PhotoFacts, count_problem, objection, read_facts},
        quota,
        store::{StoreError, StoredFile},
    },
    posts::{
        photo_rules::{PhotoChoices, check_photos, normalised, text_problems},
        rules::ComposerChoices,
        ssr::{self as posts, NewPost},
        types::{PostState, PublishMode, UploadOutcome},
    },
    publishing::{
        intake::{Fields, interrupted},
        pull::send_by_pull,
        send::{SendError, SendTurns},
    },
    state::AppState,
    teams::ssr::Caller,
};
use bytes::Bytes;
use diesel_async::AsyncConnection as _;
use futures_util::{StreamExt as _, stream};

/// Why a server refuses photo posts, for the composer and for a scheduled post that meets a
/// server started without the setting.
pub const NEEDS_MEDIA_URL: &str = "Photo posts need CADENCE_MEDIA_PUBLIC_URL: TikTok takes photos only by downloading them \
    from a URL prefix verified for the app, and this server has none configured. Ask the operator to set it (see the README).";

/// Handles a photo post whose first image field is `first`; `fields` came before it.
pub(crate) async fn accept_photos(
    state: &AppState,
    caller: Caller,
    fields: Fields,
    first: multer::Field<'static>,
    mut multipart: multer::Multipart<'static>,
) -> AppResult<UploadOutcome> {
    let Some(public) = state.config.media_public_url.clone() else {
        return Err(AppError::invalid("photos", NEEDS_MEDIA_URL));
    };
    if fields.replacing.is_some() {
        return Err(AppError::invalid("photos", "A post's or draft's video can be replaced only by a video."));
    }
    if fields.draft {
        return save_photo_draft(state, caller, fields, first, multipart).await;
    }
    let account_id = fields.account_id.ok_or_else(|| AppError::invalid("account_id", "Choose the TikTok account to post to."))?;
    let mode = fields.mode.ok_or_else(|| AppError::invalid("mode", "Choose how to publish."))?;
    let (choices, photo, sizes) = announced(&fields)?;
    let total: u64 = sizes.iter().sum();
    let scheduled_at = fields.scheduled_for(mode)?;
    let account = {
        let mut conn = state.pool.get().await?;
        // Posting at once skips the approvers a team may require.
        if mode != PublishMode::Schedule {
            crate::approvals::ssr::refuse_immediate_unless_approver(&mut conn, caller).await?;
        }
        // Every photo post is stored, so every one needs room.
        quota::require_room(&mut conn, caller.team_id, state.config.team_media_quota, total).await.map_err(as_photos_error)?;
        TikTokAccount::find_for_team(&mut conn, caller.team_id, account_id).await?
    };
    match mode {
        PublishMode::SendToInbox => {
            if !account.view().allows().inbox {
                return Err(AppError::invalid("mode", "This account did not grant drafts to its TikTok inbox. Reconnect it and keep \"send drafts\" ticked."));
            }
            // MEDIA_UPLOAD: the creator finishes the post in the app; only the text and the
            // images are checked here.
            if let Some(first) = check_photos(&choices, &photo, sizes.len(), None).into_iter().next() {
                return Err(AppError::invalid(first.field, first.message));
            }
        }
        PublishMode::PostNow | PublishMode::Schedule => {
            if !account.view().allows().direct_post {
                return Err(AppError::invalid("mode", "This account did not grant Direct Post, so Cadence can only send drafts to its inbox. Reconnect it and keep \"post directly\" ticked to post."));
            }
            let creator = fresh_creator_info(state, account.id).await?;
            if let Some(first) = check_photos(&choices, &photo, sizes.len(), Some(&creator)).into_iter().next() {
                return Err(AppError::invalid(first.field, first.message));
            }
        }
    }

    let stored = store_all(state, &sizes, first, &mut multipart).await?;
    let first_type = stored.first().map(|(_, facts)| facts.format.mime_type()).unwrap_or("image/jpeg");
    let new = NewPost {
        team_id: caller.team_id,
        account_id: account.id,
        created_by: caller.user_id,
        destination: mode.destination(),
        state: if mode == PublishMode::Schedule { PostState::Scheduled } else { PostState::Uploading },
        choices,
        video_bytes: total,
        content_type: first_type.to_owned(),
        duration_ms: None,
        media_id: None,
        scheduled_at,
        thumbnail_jpeg: fields.thumbnail.clone(),
        photos: None,
    };
    let created: AppResult<posts::Post> = async {
        let mut conn = state.pool.get().await?;
        conn.transaction(async |conn| {
            // Checked again under the team's lock: another upload may have taken the room.
            quota::lock_team(conn, caller.team_id).await?;
            quota::require_room(conn, caller.team_id, state.config.team_media_quota, total).await.map_err(as_photos_error)?;
            let images = record_all(conn, caller, &stored).await?;
            let post = posts::create(conn, NewPost { photos: Some((images, photo.clone())), ..new }).await?;
            let count = stored.len();
            let (action, summary) = match mode {
                PublishMode::Schedule => ("post.scheduled", format!("Scheduled a post of {count} photo(s) to {}.", account.display_name)),
                PublishMode::SendToInbox => ("post.sent_now", format!("Sent {count} photo(s) to the TikTok inbox of {}.", account.display_name)),
                PublishMode::PostNow => ("post.sent_now", format!("Posted {count} photo(s) at once to {}.", account.display_name)),
            };
            let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, post.id, action, summary).values(
                None,
                Some(serde_json::json!({ "choices": post.choices(), "photos": post.photo_choices(), "images": count, "scheduled_at": post.scheduled_at, "account_id": post.account_id })),
            );
            crate::audit::ssr::record(conn, caller, change).await?;
            if mode == PublishMode::Schedule {
                crate::approvals::ssr::after_change(conn, caller, post.id).await?;
            }
            Ok::<_, AppError>(post)
        })
        .await
    }
    .await;
    let post = match created {
        Ok(post) => post,
        Err(error) => {
            // Nothing refers to the files: they go with the failed post.
            delete_all(state, &stored).await;
            return Err(error);
        }
    };
    if mode == PublishMode::Schedule {
        return Ok(UploadOutcome { post_id: post.id, state: PostState::Scheduled, draft: false });
    }
    match send_by_pull(state, &post, &public, SendTurns::default()).await {
        Ok(()) => Ok(UploadOutcome { post_id: post.id, state: PostState::Processing, draft: false }),
        Err(deferred @ SendError::Deferred { .. }) => {
            // Cadence's own limits said "not yet" before anything was sent: nothing to keep.
            let mut conn = state.pool.get().await?;
            posts::discard_unsent(&mut conn, post.id).await?;
            for media_id in post.stored_media() {
                catalog::release_media_if_unneeded(&mut conn, media_id).await?;
            }
            Err(deferred.into_app_error())
        }
        Err(SendError::NotSent { error, .. }) => {
            // The images stay stored, so "Send again" on the post can try once more.
            posts::mark_failed(&mut *state.pool.get().await?, post.id, "not_sent", &error.to_string()).await?;
            Err(error)
        }
        Err(other) => Err(other.into_app_error()),
    }
}

/// Keeps a carousel as a draft: its images stored (within the team's room and TikTok's own
/// limits), the text within TikTok's, an account only if one was chosen; the creator's rules
/// come when it is scheduled.
async fn save_photo_draft(
    state: &AppState,
    caller: Caller,
    fields: Fields,
    first: multer::Field<'static>,
    mut multipart: multer::Multipart<'static>,
) -> AppResult<UploadOutcome> {
    caller.require(crate::teams::types::Role::Editor)?;
    let (choices, photo, sizes) = announced(&fields)?;
    if photo.cover_index as usize >= sizes.len() {
        return Err(AppError::invalid("photo_cover", "Choose one of the photos as the cover."));
    }
    let total: u64 = sizes.iter().sum();
    {
        let mut conn = state.pool.get().await?;
        if let Some(account) = fields.account_id {
            TikTokAccount::find_for_team(&mut conn, caller.team_id, account).await?;
        }
        quota::require_room(&mut conn, caller.team_id, state.config.team_media_quota, total).await.map_err(as_photos_error)?;
    }
    let stored = store_all(state, &sizes, first, &mut multipart).await?;
    let saved: AppResult<uuid::Uuid> = async {
        let mut conn = state.pool.get().await?;
        conn.transaction(async |conn| {
            quota::lock_team(conn, caller.team_id).await?;
            quota::require_room(conn, caller.team_id, state.config.team_media_quota, total).await.map_err(as_photos_error)?;
            let images = record_all(conn, caller, &stored).await?;
            let held = crate::drafts::ssr::DraftMedia::Photos(images, photo);
            crate::drafts::ssr::save_new(conn, caller, fields.account_id, &choices, held, fields.thumbnail.as_deref()).await
        })
        .await
    }
    .await;
    match saved {
        Ok(id) => Ok(UploadOutcome { post_id: id, state: PostState::Scheduled, draft: true }),
        Err(error) => {
            delete_all(state, &stored).await;
            Err(error)
        }
    }
}

/// The photo post's choices and announced image sizes, refused when TikTok would refuse the
/// count, a size or the text whatever the account.
fn announced(fields: &Fields) -> AppResult<(ComposerChoices, PhotoChoices, Vec<u64>)> {
    let choices = normalised(&fields.choices.clone().unwrap_or_default());
    let photo = fields.photo.clone().unwrap_or_default();
    let sizes = fields.image_sizes.clone().unwrap_or_default();
    if let Some(problem) = count_problem(sizes.len()) {
        return Err(AppError::invalid("photos", problem));
    }
    if let Some(index) = sizes.iter().position(|size| *size > MAX_PHOTO_BYTES) {
        return Err(AppError::invalid("photos", format!("Photo {}: {}", index + 1, too_large(sizes[index]))));
    }
    if let Some(first) = text_problems(&choices, &photo).into_iter().next() {
        return Err(AppError::invalid(first.field, first.message));
    }
    Ok((choices, photo, sizes))
}

/// Records the stored images in `media`, in order, in the caller's transaction.
async fn record_all(conn: &mut diesel_async::AsyncPgConnection, caller: Caller, stored: &[(StoredFile, PhotoFacts)]) -> AppResult<Vec<uuid::Uuid>> {
    let mut images = Vec::with_capacity(stored.len());
    for (file, facts) in stored {
        images.push(catalog::record_photo(conn, caller.team_id, caller.user_id, file, facts).await?);
    }
    Ok(images)
}

/// Stores each image field (the first already open) after checking its head; on any refusal
/// or cut-off, removes what was stored and says which photo was wrong.
async fn store_all(
    state: &AppState,
    sizes: &[u64],
    first: multer::Field<'static>,
    multipart: &mut multer::Multipart<'static>,
) -> AppResult<Vec<(StoredFile, PhotoFacts)>> {
    let mut stored = Vec::with_capacity(sizes.len());
    let mut next = Some(first);
    let mut index = 0;
    let outcome = loop {
        let field = match next.take() {
            Some(field) => field,
            None => match multipart.next_field().await {
                Ok(Some(field)) if field.name() == Some("image") => field,
                Ok(Some(_)) => break Err(AppError::invalid("photos", "The upload carried something besides the photos. Please upload from the composer.")),
                Ok(None) => break Ok(()),
                Err(_) => break Err(interrupted()),
            },
        };
        let Some(&announced) = sizes.get(index) else {
            break Err(AppError::invalid("photos", "More photos arrived than the browser announced. Please upload them again."));
        };
        match store_one(state, field, announced).await {
            Ok(file) => stored.push(file),
            Err(error) => break Err(about_photo(index, error)),
        }
        index += 1;
    };
    let outcome = outcome.and_then(|()| {
        (stored.len() == sizes.len())
            .then_some(())
            .ok_or_else(|| AppError::invalid("photos", "Fewer photos arrived than the browser announced. Please upload them again."))
    });
    match outcome {
        Ok(()) => Ok(stored),
        Err(error) => {
            delete_all(state, &stored).await;
            Err(error)
        }
    }
}

/// Reads one image's head, refuses what TikTok would refuse, then streams it into the store.
async fn store_one(state: &AppState, mut field: multer::Field<'static>, announced: u64) -> AppResult<(StoredFile, PhotoFacts)> {
    let mut head: Vec<Bytes> = Vec::new();
    let mut head_len = 0;
    let mut ended = false;
    while head_len < HEAD_BYTES {
        match field.chunk().await.map_err(|_| interrupted())? {
            Some(piece) => {
                head_len += piece.len();
                head.push(piece);
            }
            None => {
                ended = true;
                break;
            }
        }
    }
    let joined: Vec<u8> = head.iter().flat_map(|piece| piece.iter().copied()).collect();
    let facts = read_facts(&joined).map_err(|problem| AppError::invalid("photos", problem))?;
    if let Some(problem) = objection(&facts, announced) {
        return Err(AppError::invalid("photos", problem));
    }
    let rest = if ended { stream::empty().boxed() } else { field.boxed() };
    let source = stream::iter(head.into_iter().map(Ok::<Bytes, multer::Error>)).chain(rest).map(|piece| piece.map_err(std::io::Error::other));
    // Counted against the announced size, so an image larger than announced stops there.
    let file = state.media.put_file(Box::pin(source), announced.min(MAX_PHOTO_BYTES)).await.map_err(|error| match error {
        StoreError::Interrupted => interrupted(),
        StoreError::TooLarge { .. } => AppError::invalid("photos", "This photo is larger than the browser announced. Please upload it again."),
        other => AppError::internal("storing a photo failed", other),
    })?;
    if file.byte_size != announced {
        let _ = state.media.delete(&file.key).await;
        return Err(AppError::invalid("photos", "This photo arrived with a different size than announced. Please upload it again."));
    }
    Ok((file, facts))
}

async fn delete_all(state: &AppState, stored: &[(StoredFile, PhotoFacts)]) {
    for (file, _) in stored {
        let _ = state.media.delete(&file.key).await;
    }
}

/// Names the photo a field error is about ("Photo 3: …"), so the person knows which to fix.
fn about_photo(index: usize, error: AppError) -> AppError {
    match error {
        AppError::Validation { field, message } => AppError::Validation { field, message: format!("Photo {}: {message}", index + 1) },
        other => other,
    }
}

/// The room check speaks of "video"; for photos the composer shows it under the photos.
fn as_photos_error(error: AppError) -> AppError {
    match error {
        AppError::Validation { field, message } if field == "video" => AppError::Validation { field: "photos".into(), message },
        other => other,
    }
}

fn too_large(size: u64) -> String {
    format!("it is {}; TikTok takes photos of up to 20 MB.", crate::ui::human_bytes(size))
}

/// `image_sizes`: the byte size of each image, in order, as the browser announces them.
pub(crate) fn parse_sizes(value: &str) -> AppResult<Vec<u64>> {
    value
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(|part| part.trim().parse::<u64>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| AppError::invalid("photos", "The photos' sizes could not be read."))
}

/// `photo`: the photo post's own choices, as JSON.
pub(crate) fn parse_choices(value: &str) -> AppResult<PhotoChoices> {
    serde_json::from_str(value).map_err(|_| AppError::invalid("photos", "The photo post's settings could not be read."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn announced_sizes_are_read_in_order() {
        assert_eq!(parse_sizes("10, 20,30").unwrap(), [10, 20, 30]);
        assert_eq!(parse_sizes("").unwrap(), Vec::<u64>::new());
        assert!(parse_sizes("10,x").is_err());
        assert!(parse_sizes("-1").is_err());
    }

    #[test]
    fn a_refusal_names_the_photo() {
        let error = about_photo(2, AppError::invalid("photos", "Too big."));
        assert_eq!(error.field_message("photos").as_deref(), Some("Photo 3: Too big."));
        assert_eq!(as_photos_error(AppError::invalid("video", "No room.")).field_message("photos").as_deref(), Some("No room."));
    }
}
