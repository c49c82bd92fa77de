//! Taking a video from the browser (photo posts branch off to `publishing::photos`): the composer's fields arrive first, then the file, which
//! is streamed either straight into TikTok ("Post now", "Send to inbox") or into the media
//! store ("Schedule", "Save draft", or a new video for a post or draft: `publishing::replace`).
//! Everything TikTok would refuse is refused before a byte is sent.
//!
//! The work runs in its own task: if the browser goes away mid-upload the request future is
//! dropped, but the task still sees the cut-off stream and cleans up after it.

use crate::{
    accounts::ssr::{TikTokAccount, fresh_creator_info},
    error::{AppError, AppResult},
    media::{
        catalog,
        head::{HeadError, TailCheck, read_head},
        quota,
        probe::{Container, Limits, VideoFacts, objections},
        store::StoreError,
    },
    posts::{
        rules::{ComposerChoices, INBOX_MAX_DURATION_SECS, check},
        ssr::{self as posts, NewPost},
        types::{PostState, PublishMode, UploadOutcome},
    },
    publishing::{
        recovery::{Recovered, Resend, Sent, reconcile},
        send::{SendError, SendTurns, send_video},
    },
    state::AppState,
    teams::ssr::Caller,
    tiktok::chunks::{ChunkPlan, MAX_VIDEO_BYTES},
};
use bytes::Bytes;
use diesel_async::AsyncConnection as _;
use futures_util::{StreamExt as _, stream};
use time::OffsetDateTime;
use uuid::Uuid;

/// Text fields are small; anything longer is not from the composer.
const MAX_FIELD_BYTES: usize = 64 * 1024;
/// The composer sends six fields before the video; a few dozen more are not from it, and each
/// would cost a parse and a buffer.
const MAX_FIELDS: usize = 32;
/// A scheduled post must be at least this far ahead.
pub const MIN_SCHEDULE_LEAD: time::Duration = time::Duration::minutes(1);
/// The latest a post may be scheduled: its video waits in storage until then, so an unbounded
/// date would let anyone park files forever.
pub const MAX_SCHEDULE_AHEAD: time::Duration = time::Duration::days(365);

/// What is wrong with posting at `at`, as a sentence for the `scheduled_at` field.
pub fn schedule_time_problem(at: OffsetDateTime, now: OffsetDateTime) -> Option<&'static str> {
    if at < now + MIN_SCHEDULE_LEAD {
        Some("That time has passed. Choose a time at least a minute from now.")
    } else if at > now + MAX_SCHEDULE_AHEAD {
        Some("That is too far ahead. Choose a time within a year from now.")
    } else {
        None
    }
}

/// The composer's fields, read before the file.
#[derive(Debug, Default)]
pub(crate) struct Fields {
    pub account_id: Option<Uuid>,
    pub mode: Option<PublishMode>,
    /// `mode=draft`: kept as a draft, with no time and maybe no account.
    pub draft: bool,
    pub choices: Option<ComposerChoices>,
    pub scheduled_at: Option<OffsetDateTime>,
    pub video_size: Option<u64>,
    /// `replace_post` / `replace_draft`: a new video for a scheduled post or a draft.
    pub replacing: Option<crate::publishing::replace::Target>,
    /// The frame the composer drew (see `media::thumbnail`); `None` when it sent none or an unusable one.
    pub thumbnail: Option<Vec<u8>>,
    /// `photo`: a photo post's own choices (title, cover, music).
    pub photo: Option<crate::posts::photo_rules::PhotoChoices>,
    /// `image_sizes`: a photo post's image sizes, in the order the `image` fields follow.
    pub image_sizes: Option<Vec<u64>>,
}

/// Handles one multipart upload from the composer for `caller` (already checked to be an
/// editor). Returns once the video is with TikTok or in the media store.
pub async fn accept_upload(state: AppState, caller: Caller, multipart: multer::Multipart<'static>) -> AppResult<UploadOutcome> {
    tokio::spawn(run(state, caller, multipart))
        .await
        .map_err(|e| AppError::internal("upload task failed", e))?
}

async fn run(state: AppState, caller: Caller, mut multipart: multer::Multipart<'static>) -> AppResult<UploadOutcome> {
    let mut fields = Fields::default();
    let mut text_fields = 0;
    let video = loop {
        let Some(mut field) = multipart.next_field().await.map_err(|_| interrupted())? else {
            return Err(AppError::invalid("video", "Choose a video to upload."));
        };
        let name = field.name().unwrap_or_default().to_owned();
        if name == "video" {
            break field;
        }
        // A photo post: its images follow, each in an `image` field (`publishing::photos`).
        if name == "image" {
            return crate::publishing::photos::accept_photos(&state, caller, fields, field, multipart).await;
        }
        text_fields += 1;
        if text_fields > MAX_FIELDS {
            return Err(AppError::invalid("video", "The upload carried more form fields than the composer sends. Please upload from the composer."));
        }
        let mut text = Vec::new();
        while let Some(piece) = field.chunk().await.map_err(|_| interrupted())? {
            text.extend_from_slice(&piece);
            if text.len() > MAX_FIELD_BYTES {
                return Err(AppError::invalid(&name, "This field is too long."));
            }
        }
        let text = String::from_utf8(text).map_err(|_| AppError::invalid(&name, "This field is not text."))?;
        fields.read(&name, text.trim())?;
    };
    if let Some(target) = fields.replacing {
        let replacement = crate::publishing::replace::Replacement {
            video_size: fields.video_size,
            thumbnail: fields.thumbnail,
            cover_timestamp_ms: fields.choices.and_then(|c| c.cover_timestamp_ms),
        };
        return crate::publishing::replace::replace_video(&state, caller, target, replacement, video).await;
    }
    if fields.draft {
        return save_draft(&state, caller, fields, video).await;
    }

    let account_id = fields.account_id.ok_or_else(|| AppError::invalid("account_id", "Choose the TikTok account to post to."))?;
    let mode = fields.mode.ok_or_else(|| AppError::invalid("mode", "Choose how to publish."))?;
    let choices = fields.choices.clone().unwrap_or_default();
    // Before TikTok is asked anything, and for drafts too (they skip the creator's rules).
    if let Some(problem) = crate::posts::rules::caption_problem(&choices.caption) {
        return Err(AppError::invalid("caption", problem));
    }
    let video_size = fields.video_size.ok_or_else(|| AppError::invalid("video", "The video's size is missing."))?;
    ChunkPlan::for_size(video_size).map_err(|e| AppError::invalid("video", capitalised(&e.to_string())))?;
    let scheduled_at = fields.scheduled_for(mode)?;
    // Posting at once skips the approvers a team may require; refused before any byte moves.
    if mode != PublishMode::Schedule {
        let mut conn = state.pool.get().await?;
        crate::approvals::ssr::refuse_immediate_unless_approver(&mut conn, caller).await?;
    }
    // Before any byte is stored: a video that would not fit is refused with what is left.
    if mode == PublishMode::Schedule {
        let mut conn = state.pool.get().await?;
        quota::require_room(&mut conn, caller.team_id, state.config.team_media_quota, video_size).await?;
    }

    let account = {
        let mut conn = state.pool.get().await?;
        TikTokAccount::find_for_team(&mut conn, caller.team_id, account_id).await?
    };
    let limits = match mode {
        // Drafts follow the inbox rules: creator_info is a Direct Post call (`video.publish`),
        // and a draft may run ten minutes whatever the creator's Direct Post maximum.
        PublishMode::SendToInbox => {
            if !account.view().allows().inbox {
                return Err(AppError::invalid("mode", "This account did not grant drafts to its TikTok inbox. Reconnect it and keep \"send drafts\" ticked."));
            }
            Limits { max_duration_secs: INBOX_MAX_DURATION_SECS }
        }
        PublishMode::PostNow | PublishMode::Schedule => {
            if !account.view().allows().direct_post {
                return Err(AppError::invalid("mode", "This account did not grant Direct Post, so Cadence can only send drafts to its inbox. Reconnect it and keep \"post directly\" ticked to post."));
            }
            let creator = fresh_creator_info(&state, account.id).await?;
            if let Some(violation) = check(&choices, &creator).into_iter().next() {
                return Err(AppError::invalid(violation.field, violation.message));
            }
            Limits { max_duration_secs: creator.max_video_post_duration_sec.max(1) as u32 }
        }
    };

    let OpenedVideo { container, facts: head_facts, source } = open_video(video, limits).await?;
    let content_type = container.mime_type().to_owned();
    let head_duration_ms = head_facts.as_ref().and_then(VideoFacts::duration_ms);

    let new_post = |state_: PostState, media_id: Option<Uuid>, duration_ms: Option<i32>, content_type: String| NewPost {
        team_id: caller.team_id,
        account_id: account.id,
        created_by: caller.user_id,
        destination: mode.destination(),
        state: state_,
        choices: choices.clone(),
        video_bytes: video_size,
        content_type,
        duration_ms,
        media_id,
        scheduled_at,
        thumbnail_jpeg: fields.thumbnail.clone(),
        photos: None,
    };

    if mode == PublishMode::Schedule {
        let store = &state.media;
        let stored = store_checked(&state, source, video_size, limits).await?;
        let new = new_post(PostState::Scheduled, None, stored.facts.duration_ms(), stored.facts.container.mime_type().to_owned());
        let created: AppResult<Uuid> = async {
            let mut conn = state.pool.get().await?;
            conn.transaction(async |conn| {
                // Checked again under the team's lock: another upload may have taken the room.
                quota::lock_team(conn, caller.team_id).await?;
                quota::require_room(conn, caller.team_id, state.config.team_media_quota, stored.byte_size).await?;
                let media_id = catalog::record(conn, caller.team_id, caller.user_id, &stored).await?;
                let post = posts::create(conn, NewPost { media_id: Some(media_id), ..new }).await?;
                let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, post.id, "post.scheduled", format!("Scheduled a post to {}.", account.display_name))
                    .values(None, Some(serde_json::json!({ "choices": post.choices(), "scheduled_at": post.scheduled_at, "account_id": post.account_id })));
                crate::audit::ssr::record(conn, caller, change).await?;
                crate::approvals::ssr::after_change(conn, caller, post.id).await?;
                Ok::<_, AppError>(post.id)
            })
            .await
        }
        .await;
        return match created {
            Ok(post_id) => Ok(UploadOutcome { post_id, state: PostState::Scheduled, draft: false }),
            Err(error) => {
                // Nothing refers to the file: it goes with the failed post.
                let _ = store.delete(&stored.key).await;
                Err(error)
            }
        };
    }

    // `moov` at the end: judged as the last bytes pass, before TikTok has them all.
    let (source, refusal) = if head_facts.is_none() && container != Container::WebM {
        let check = TailCheck::new(source, container, limits);
        let verdict = check.verdict();
        (check.boxed(), Some(verdict))
    } else {
        (source.boxed(), None)
    };
    let post = {
        let mut conn = state.pool.get().await?;
        let new = new_post(PostState::Uploading, None, head_duration_ms, content_type);
        let what = if mode == PublishMode::SendToInbox { "Sent a video to the TikTok inbox of" } else { "Posted a video at once to" };
        let summary = format!("{what} {}.", account.display_name);
        conn.transaction(async |conn| {
            let post = posts::create(conn, new).await?;
            let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, post.id, "post.sent_now", summary)
                .values(None, Some(serde_json::json!({ "choices": post.choices(), "account_id": post.account_id })));
            crate::audit::ssr::record(conn, caller, change).await?;
            Ok::<_, AppError>(post)
        })
        .await?
    };
    match send_video(&state, &post, source, SendTurns::default()).await {
        Ok(()) => Ok(UploadOutcome { post_id: post.id, state: PostState::Processing, draft: false }),
        Err(SendError::Interrupted) => {
            // Nothing was published: the post goes, as if the upload never started.
            posts::discard_unsent(&mut *state.pool.get().await?, post.id).await?;
            match refusal.and_then(|verdict| verdict.lock().ok().and_then(|v| v.clone())) {
                Some(refusal) => Err(AppError::invalid("video", refusal)),
                None => Err(SendError::Interrupted.into_app_error()),
            }
        }
        Err(deferred @ SendError::Deferred { .. }) => {
            // Cadence's own limits said "not yet" before anything was sent: nothing to keep.
            posts::discard_unsent(&mut *state.pool.get().await?, post.id).await?;
            Err(deferred.into_app_error())
        }
        Err(SendError::NotSent { error, .. }) => {
            let mut conn = state.pool.get().await?;
            posts::mark_failed(&mut conn, post.id, "not_sent", &error.to_string()).await?;
            Err(error)
        }
        // A lost answer to the last chunk may hide a complete upload: TikTok's status decides
        // between "processing" and failed.
        Err(SendError::UploadFailed { code, message, publish_id, may_be_complete }) => {
            // This request's own view (no lease owner, its publish id) fences the writes.
            let mine = posts::Post { publish_id: Some(publish_id), ..post.clone() };
            let sent = if may_be_complete { Sent::MaybeAll } else { Sent::NotAll };
            let why = format!("The upload failed ({code}): {message}");
            match reconcile(&state, &mine, &why, Resend::AfterRetryDelay, sent).await? {
                Recovered::Reconciled => Ok(UploadOutcome { post_id: post.id, state: PostState::Processing, draft: false }),
                Recovered::Waiting => Err(AppError::Conflict(format!(
                    "{message} TikTok may still have received the whole video, so Cadence will ask TikTok again within \
                     the hour; the post's page will say whether it was published. Do not post it again until then."
                ))),
                _ => Err(AppError::Conflict(message)),
            }
        }
        Err(lost @ SendError::LeaseLost) => Err(lost.into_app_error()),
        Err(SendError::InitUnconfirmed { message }) => {
            posts::mark_unconfirmed(&mut *state.pool.get().await?, post.id, &message).await?;
            Err(AppError::Conflict(message))
        }
    }
}

/// A video being received: what its head says (checked against `limits` where it tells), and
/// the whole of it again as one stream, head first.
pub(crate) struct OpenedVideo {
    pub container: Container,
    pub facts: Option<VideoFacts>,
    pub source: futures_util::stream::BoxStream<'static, Result<Bytes, std::io::Error>>,
}

/// Reads the head of the upload's `video` field and refuses what TikTok would refuse outright.
pub(crate) async fn open_video(mut video: multer::Field<'static>, limits: Limits) -> AppResult<OpenedVideo> {
    let head = read_head(&mut video).await.map_err(|error| match error {
        HeadError::Probe(probe) => AppError::invalid("video", probe.to_string()),
        HeadError::Interrupted => interrupted(),
    })?;
    if let Some(facts) = &head.facts {
        refuse_objections(facts, limits)?;
    }
    let source = stream::iter(head.pieces.into_iter().map(Ok::<Bytes, multer::Error>))
        .chain(video)
        .map(|piece| piece.map_err(std::io::Error::other))
        .boxed();
    Ok(OpenedVideo { container: head.container, facts: head.facts, source })
}

/// Stores the video of `video_size` bytes (as announced) in the media store, or refuses it
/// (and removes what was written) when it breaks `limits` or its announced size.
pub(crate) async fn store_checked(
    state: &AppState,
    source: impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
    video_size: u64,
    limits: Limits,
) -> AppResult<crate::media::store::StoredMedia> {
    let store = &state.media;
    // Counted against the announced size, so a video larger than announced stops there
    // (and its partial file goes) instead of filling the disk up to the 4 GB maximum.
    let stored = store.put(Box::pin(source), video_size.min(MAX_VIDEO_BYTES)).await.map_err(|error| match error {
        StoreError::Interrupted => interrupted(),
        StoreError::TooLarge { .. } => AppError::invalid(
            "video",
            "The video is larger than the browser announced, so Cadence stopped storing it. Please upload it again.",
        ),
        StoreError::Io(_) | StoreError::Bucket(_) => AppError::internal("storing a video failed", error),
        other => AppError::invalid("video", other.to_string()),
    })?;
    let refused = if stored.byte_size != video_size {
        Some(AppError::invalid("video", "The video arrived with a different size than announced. Please upload it again."))
    } else {
        refuse_objections(&stored.facts, limits).err()
    };
    if let Some(error) = refused {
        let _ = store.delete(&stored.key).await;
        return Err(error);
    }
    Ok(stored)
}

/// Keeps the upload as a draft: the video in the media store (within the team's room and
/// TikTok's own limits; the creator's come when it is scheduled), the choices as they are, an
/// account only if one was chosen.
async fn save_draft(state: &AppState, caller: Caller, fields: Fields, video: multer::Field<'static>) -> AppResult<UploadOutcome> {
    let choices = fields.choices.unwrap_or_default();
    if let Some(problem) = crate::posts::rules::caption_problem(&choices.caption) {
        return Err(AppError::invalid("caption", problem));
    }
    let video_size = fields.video_size.ok_or_else(|| AppError::invalid("video", "The video's size is missing."))?;
    ChunkPlan::for_size(video_size).map_err(|e| AppError::invalid("video", capitalised(&e.to_string())))?;
    {
        let mut conn = state.pool.get().await?;
        caller.require(crate::teams::types::Role::Editor)?;
        if let Some(account) = fields.account_id {
            TikTokAccount::find_for_team(&mut conn, caller.team_id, account).await?;
        }
        quota::require_room(&mut conn, caller.team_id, state.config.team_media_quota, video_size).await?;
    }
    let limits = Limits { max_duration_secs: INBOX_MAX_DURATION_SECS };
    let stored = store_checked(state, open_video(video, limits).await?.source, video_size, limits).await?;
    let saved: AppResult<Uuid> = async {
        let mut conn = state.pool.get().await?;
        conn.transaction(async |conn| {
            quota::lock_team(conn, caller.team_id).await?;
            quota::require_room(conn, caller.team_id, state.config.team_media_quota, stored.byte_size).await?;
            let media_id = catalog::record(conn, caller.team_id, caller.user_id, &stored).await?;
            crate::drafts::ssr::save_new(conn, caller, fields.account_id, &choices, crate::drafts::ssr::DraftMedia::Video(media_id), fields.thumbnail.as_deref()).await
        })
        .await
    }
    .await;
    match saved {
        Ok(id) => Ok(UploadOutcome { post_id: id, state: PostState::Scheduled, draft: true }),
        Err(error) => {
            let _ = state.media.delete(&stored.key).await;
            Err(error)
        }
    }
}

impl Fields {
    /// When a `mode=schedule` post is due, checked against now; `None` for any other mode.
    pub(crate) fn scheduled_for(&self, mode: PublishMode) -> AppResult<Option<OffsetDateTime>> {
        if mode != PublishMode::Schedule {
            return Ok(None);
        }
        let at = self.scheduled_at.ok_or_else(|| AppError::invalid("scheduled_at", "Choose when to post."))?;
        match schedule_time_problem(at, OffsetDateTime::now_utc()) {
            Some(problem) => Err(AppError::invalid("scheduled_at", problem)),
            None => Ok(Some(at)),
        }
    }

    fn read(&mut self, name: &str, value: &str) -> AppResult<()> {
        match name {
            // A draft may have no account yet; anything else then says which is missing.
            "account_id" if value.is_empty() => {}
            "account_id" => {
                self.account_id =
                    Some(value.parse().map_err(|_| AppError::invalid("account_id", "Choose the TikTok account to post to."))?)
            }
            "mode" if value == "draft" => self.draft = true,
            // A new video for a post or draft names no mode; anything else says it is missing.
            "mode" if value.is_empty() => {}
            "mode" => self.mode = Some(PublishMode::parse(value).ok_or_else(|| AppError::invalid("mode", "Choose how to publish."))?),
            "choices" => {
                self.choices = Some(
                    serde_json::from_str(value).map_err(|_| AppError::invalid("choices", "The post's settings could not be read."))?,
                )
            }
            "scheduled_at" if !value.is_empty() => {
                self.scheduled_at = Some(
                    OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
                        .map_err(|_| AppError::invalid("scheduled_at", "Choose a valid date and time."))?,
                )
            }
            "video_size" => {
                self.video_size =
                    Some(value.parse().map_err(|_| AppError::invalid("video", "The video's size could not be read."))?)
            }
            "replace_post" | "replace_draft" => {
                use crate::publishing::replace::Target;
                let id: Uuid = value.parse().map_err(|_| AppError::invalid("video", "Which video to replace could not be read. Reload the page and try again."))?;
                self.replacing = Some(if name == "replace_post" { Target::Post(id) } else { Target::Draft(id) });
            }
            "photo" => self.photo = Some(crate::publishing::photos::parse_choices(value)?),
            "image_sizes" => self.image_sizes = Some(crate::publishing::photos::parse_sizes(value)?),
            // Only decoration: one that cannot be used is left out, and the upload goes on.
            "thumbnail" => self.thumbnail = crate::media::thumbnail::from_data_url(value),
            _ => {}
        }
        Ok(())
    }
}

fn refuse_objections(facts: &VideoFacts, limits: Limits) -> AppResult<()> {
    match objections(facts, limits).into_iter().next() {
        Some(objection) => Err(AppError::invalid("video", objection.0)),
        None => Ok(()),
    }
}

pub(crate) fn interrupted() -> AppError {
    AppError::Conflict("The upload was cut off before the whole video arrived. Nothing was posted.".into())
}

pub(crate) fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect::<String>() + ".",
        None => String::new(),
    }
}
