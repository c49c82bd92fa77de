//! Content Posting API handlers: creator_info, video init (direct and inbox), status fetch, cancel.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::Sandbox;
use crate::access::{self, Caller};
use crate::chunks::ChunkPlan;
use crate::envelope::{self, ApiError};
use crate::faults::Endpoint;
use crate::fixtures::{CreatorFixture, PostingCondition, PrivacyLevel};
use crate::publish::{PostSettings, Publish, PublishKind, Status, UploadTask};
use crate::pull;
use crate::state::State as SandboxState;

/// TikTok's caps are counted over a day.
const DAY: Duration = Duration::from_secs(24 * 60 * 60);
/// Unaudited clients may have at most this many distinct posting creators per day (§4.1).
const UNAUDITED_CREATORS_PER_DAY: usize = 5;
/// Title limit in UTF-16 code units (§4.3).
const MAX_TITLE_UTF16: usize = 2200;

/// `POST /v2/post/publish/creator_info/query/`
pub async fn creator_info(State(sandbox): State<Sandbox>, headers: HeaderMap) -> Response {
    let caller = match access::authorize(&sandbox, &headers, Endpoint::CreatorInfo) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let Some(creator) = sandbox.inner.creator(&caller.open_id) else {
        return ApiError::access_token_invalid().into_response();
    };
    let blocked = {
        let state = sandbox.inner.lock();
        direct_post_block(&state, &sandbox, creator, Instant::now())
    };
    if let Some(code) = blocked {
        // TikTok answers these with HTTP 200 on purpose; the app must read error.code.
        return envelope::envelope(StatusCode::OK, code, posting_block_message(code), Some(json!({})));
    }
    let base = sandbox.inner.config.base_url();
    envelope::ok(json!({
        "creator_avatar_url": format!("{base}{}", creator.avatar_path()),
        "creator_username": creator.username,
        "creator_nickname": creator.display_name,
        "privacy_level_options": creator.privacy_level_options,
        "comment_disabled": creator.comment_disabled,
        "duet_disabled": creator.duet_disabled,
        "stitch_disabled": creator.stitch_disabled,
        "max_video_post_duration_sec": creator.max_video_post_duration_sec,
    }))
}

/// `POST /v2/post/publish/video/init/`
pub async fn direct_init(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    init(&sandbox, &headers, &body, PublishKind::Direct).unwrap_or_else(IntoResponse::into_response)
}

/// `POST /v2/post/publish/inbox/video/init/`
pub async fn inbox_init(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    init(&sandbox, &headers, &body, PublishKind::Inbox).unwrap_or_else(IntoResponse::into_response)
}

#[derive(Deserialize)]
struct InitBody {
    post_info: Option<PostInfo>,
    source_info: Option<SourceInfo>,
}

#[derive(Deserialize)]
struct PostInfo {
    title: Option<String>,
    privacy_level: Option<String>,
    disable_duet: Option<bool>,
    disable_stitch: Option<bool>,
    disable_comment: Option<bool>,
    /// Validated for type only: the sandbox renders no cover.
    #[expect(dead_code, reason = "parsed so a wrong type is refused like TikTok does")]
    video_cover_timestamp_ms: Option<i32>,
    brand_content_toggle: Option<bool>,
    brand_organic_toggle: Option<bool>,
    is_aigc: Option<bool>,
}

#[derive(Deserialize)]
struct SourceInfo {
    source: Option<String>,
    video_size: Option<i64>,
    chunk_size: Option<i64>,
    total_chunk_count: Option<i64>,
    video_url: Option<String>,
}

fn init(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8], kind: PublishKind) -> Result<Response, ApiError> {
    let endpoint = match kind {
        PublishKind::Direct => Endpoint::VideoInit,
        PublishKind::Inbox => Endpoint::InboxVideoInit,
    };
    let caller = access::authorize(sandbox, headers, endpoint)?;
    let request: InitBody =
        json_body(headers, body)?.ok_or_else(|| ApiError::invalid_params("The request body is empty."))?;
    let creator = sandbox.inner.creator(&caller.open_id).ok_or_else(ApiError::access_token_invalid)?;
    let config = &sandbox.inner.config;
    let now = Instant::now();

    // Account-level refusals come before field checks: the creator cannot post whatever is sent.
    if let Some(code) = account_block(sandbox, creator, kind, now) {
        return Err(ApiError::new(StatusCode::FORBIDDEN, code, posting_block_message(code)));
    }

    let settings = match kind {
        PublishKind::Direct => direct_settings(sandbox, creator, request.post_info)?,
        // Inbox init documents no post_info; the creator fills everything in the app.
        PublishKind::Inbox => PostSettings::default(),
    };
    let source = request.source_info.ok_or_else(|| ApiError::invalid_params("source_info is required."))?;
    let plan = match source.source.as_deref() {
        Some("FILE_UPLOAD") => {
            let (Some(video_size), Some(chunk_size), Some(count)) =
                (source.video_size, source.chunk_size, source.total_chunk_count)
            else {
                return Err(ApiError::invalid_params(
                    "video_size, chunk_size and total_chunk_count are required for FILE_UPLOAD.",
                ));
            };
            ChunkPlan::new(video_size, chunk_size, count).map_err(ApiError::invalid_params)?
        }
        Some("PULL_FROM_URL") => {
            let url = source.video_url.filter(|url| !url.is_empty());
            let url = url.ok_or_else(|| ApiError::invalid_params("video_url is required for PULL_FROM_URL."))?;
            pull::check_url(config, &url).map_err(|refusal| match refusal {
                pull::UrlRefusal::NotAUrl => ApiError::invalid_params("video_url is not a valid https URL."),
                pull::UrlRefusal::Unverified => url_ownership_unverified(),
            })?;
            let publish = Publish::pulled(kind, caller.open_id, settings, url.clone(), now);
            let publish_id = publish.id.clone();
            sandbox.inner.lock().publishes.push(publish);
            // TikTok starts downloading as soon as it accepts the init.
            pull::start(sandbox, publish_id.clone(), url);
            return Ok(envelope::ok(json!({ "publish_id": publish_id })));
        }
        _ => return Err(ApiError::invalid_params("source must be FILE_UPLOAD or PULL_FROM_URL.")),
    };

    let upload = UploadTask::new(plan, config.upload_url_ttl, now);
    let upload_url =
        format!("{}/upload/video/?upload_id={}&upload_token={}", config.base_url(), upload.upload_id, upload.token);
    let publish = Publish::new(kind, caller.open_id, settings, upload, now);
    let publish_id = publish.id.clone();
    sandbox.inner.lock().publishes.push(publish);
    Ok(envelope::ok(json!({ "publish_id": publish_id, "upload_url": upload_url })))
}

/// Why the creator cannot start a publish of `kind` now (video or photo), if they cannot.
pub(crate) fn account_block(sandbox: &Sandbox, creator: &CreatorFixture, kind: PublishKind, now: Instant) -> Option<&'static str> {
    let state = sandbox.inner.lock();
    match kind {
        // It is the account that must be private, whatever privacy the post asks for.
        PublishKind::Direct => direct_post_block(&state, sandbox, creator, now).or_else(|| {
            (sandbox.inner.config.unaudited && !creator.is_private)
                .then_some("unaudited_client_can_only_post_to_private_accounts")
        }),
        PublishKind::Inbox => inbox_block(&state, sandbox, creator, now),
    }
}

/// TikTok's refusal of a URL outside the app's verified domains and URL prefixes.
pub fn url_ownership_unverified() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "url_ownership_unverified",
        "The URL is not under a domain or URL prefix verified for this app.",
    )
}

/// Privacy, title and interaction settings of a direct post, as TikTok would apply them.
fn direct_settings(
    sandbox: &Sandbox,
    creator: &CreatorFixture,
    post_info: Option<PostInfo>,
) -> Result<PostSettings, ApiError> {
    let mismatch = || {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "privacy_level_option_mismatch",
            "privacy_level is missing or not one of the creator's privacy_level_options.",
        )
    };
    let post_info = post_info.ok_or_else(mismatch)?;
    let requested = post_info.privacy_level.as_deref().and_then(PrivacyLevel::parse).ok_or_else(mismatch)?;
    if !creator.privacy_level_options.contains(&requested) {
        return Err(mismatch());
    }
    let title = post_info.title.unwrap_or_default();
    if title.encode_utf16().count() > MAX_TITLE_UTF16 {
        return Err(ApiError::invalid_params("The title is longer than 2200 UTF-16 code units."));
    }
    Ok(PostSettings {
        title,
        // Unaudited clients' posts are forced to SELF_ONLY whatever was chosen.
        privacy: Some(if sandbox.inner.config.unaudited { PrivacyLevel::SelfOnly } else { requested }),
        // The creator's own "No one" settings win over the request.
        disable_comment: post_info.disable_comment.unwrap_or(false) || creator.comment_disabled,
        disable_duet: post_info.disable_duet.unwrap_or(false) || creator.duet_disabled,
        disable_stitch: post_info.disable_stitch.unwrap_or(false) || creator.stitch_disabled,
        brand_content_toggle: post_info.brand_content_toggle.unwrap_or(false),
        brand_organic_toggle: post_info.brand_organic_toggle.unwrap_or(false),
        is_aigc: post_info.is_aigc.unwrap_or(false),
    })
}

/// Why the creator cannot direct-post now, if they cannot: what creator_info reports (with HTTP
/// 200) and video init refuses (with 403).
fn direct_post_block(
    state: &SandboxState,
    sandbox: &Sandbox,
    creator: &CreatorFixture,
    now: Instant,
) -> Option<&'static str> {
    let config = &sandbox.inner.config;
    if let Some(code) = creator.posting_condition.error_code() {
        return Some(code);
    }
    let recent_direct =
        |publish: &&Publish| publish.kind == PublishKind::Direct && now.duration_since(publish.created_at) < DAY;
    let posts_today =
        state.publishes.iter().filter(recent_direct).filter(|publish| publish.open_id == creator.open_id).count();
    if posts_today >= config.daily_post_cap as usize {
        return Some("spam_risk_too_many_posts");
    }
    if config.unaudited {
        let mut posting_creators: Vec<&str> =
            state.publishes.iter().filter(recent_direct).map(|publish| publish.open_id.as_str()).collect();
        posting_creators.sort_unstable();
        posting_creators.dedup();
        if !posting_creators.contains(&creator.open_id.as_str()) && posting_creators.len() >= UNAUDITED_CREATORS_PER_DAY
        {
            return Some("reached_active_user_cap");
        }
    }
    None
}

/// Why the creator cannot share to their inbox now, if they cannot.
fn inbox_block(
    state: &SandboxState,
    sandbox: &Sandbox,
    creator: &CreatorFixture,
    now: Instant,
) -> Option<&'static str> {
    // Of the account conditions, only a ban is documented for inbox uploads.
    if creator.posting_condition == PostingCondition::Banned {
        return creator.posting_condition.error_code();
    }
    let delay = sandbox.inner.config.processing_delay;
    // Drafts shared in the last day that the creator has not posted yet; failed ones do not count.
    let pending = state
        .publishes
        .iter()
        .filter(|publish| publish.open_id == creator.open_id)
        .filter(|publish| now.duration_since(publish.created_at) < DAY)
        .filter(|publish| publish.is_pending_share(now, delay))
        .count();
    (pending >= sandbox.inner.config.pending_inbox_cap as usize).then_some("spam_risk_too_many_pending_share")
}

pub(crate) fn posting_block_message(code: &str) -> &'static str {
    match code {
        "spam_risk_too_many_posts" => "The creator has reached today's posting limit. Try again later.",
        "spam_risk_user_banned_from_posting" => "The creator is banned from posting.",
        "reached_active_user_cap" => "The app has reached its daily quota of active publishers.",
        "unaudited_client_can_only_post_to_private_accounts" => {
            "Unaudited clients can only post to private accounts; this account is public."
        }
        "spam_risk_too_many_pending_share" => "The creator has too many pending inbox shares in the last 24 hours.",
        _ => "The creator cannot post right now.",
    }
}

#[derive(Deserialize)]
struct PublishIdBody {
    publish_id: Option<String>,
}

/// `POST /v2/post/publish/status/fetch/`
pub async fn status_fetch(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    fetch_status(&sandbox, &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn fetch_status(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let caller = access::authorize(sandbox, headers, Endpoint::StatusFetch)?;
    let publish_id = publish_id(headers, body)?;
    let state = sandbox.inner.lock();
    let publish = owned_publish(&state, &caller, &publish_id)?;
    let now = Instant::now();
    let config = &sandbox.inner.config;
    let delay = config.processing_delay;
    let status = publish.status(now, delay);
    let post_ids = if config.withhold_post_ids {
        Vec::new()
    } else {
        publish.public_post_ids(now, delay, config.moderation_delay)
    };
    let mut data = json!({
        "status": status.as_str(),
        "publicaly_available_post_id": post_ids,
    });
    // Each source reports its own progress field (§4.8).
    match &publish.pull {
        Some(pull) => data["downloaded_bytes"] = json!(pull.downloaded),
        None => data["uploaded_bytes"] = json!(publish.upload.reported_bytes(now, config.uploaded_bytes_lag)),
    }
    if let Status::Failed(reason) = status {
        data["fail_reason"] = json!(reason);
    }
    Ok(envelope::ok(data))
}

/// `POST /v2/post/publish/cancel/` — replies carry only `{"error": …}`.
pub async fn cancel(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    cancel_publish(&sandbox, &headers, &body).unwrap_or_else(ApiError::into_error_only_response)
}

/// TikTok documents cancel only for PULL_FROM_URL downloads still in progress (§4.9): a
/// FILE_UPLOAD, or a download that finished (processing or final), is not cancellable.
fn cancel_publish(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<Response, ApiError> {
    let caller = access::authorize(sandbox, headers, Endpoint::Cancel)?;
    let publish_id = publish_id(headers, body)?;
    let now = Instant::now();
    let delay = sandbox.inner.config.processing_delay;
    let cancelled = {
        let mut state = sandbox.inner.lock();
        owned_publish(&state, &caller, &publish_id)?;
        let publish = state.publish_mut(&publish_id).ok_or_else(unknown_publish_id)?;
        let downloading = publish.status(now, delay) == Status::ProcessingDownload;
        downloading && publish.abort("publish_cancelled", now, delay)
    };
    if !cancelled {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "publish_not_cancellable",
            "Only a PULL_FROM_URL download still in progress can be cancelled.",
        ));
    }
    // TikTok follows a cancel with `post.publish.failed` (`publish_cancelled`).
    crate::publish::notify_if_final(sandbox, &publish_id);
    Ok(envelope::envelope(StatusCode::OK, "ok", "", None))
}

fn publish_id(headers: &HeaderMap, body: &[u8]) -> Result<String, ApiError> {
    let request: PublishIdBody =
        json_body(headers, body)?.ok_or_else(|| ApiError::invalid_params("publish_id is required."))?;
    request.publish_id.filter(|id| !id.is_empty()).ok_or_else(|| ApiError::invalid_params("publish_id is required."))
}

fn unknown_publish_id() -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_publish_id", "The publish_id does not exist.")
}

fn owned_publish<'a>(state: &'a SandboxState, caller: &Caller, publish_id: &str) -> Result<&'a Publish, ApiError> {
    let publish = state.publish(publish_id).ok_or_else(unknown_publish_id)?;
    if publish.open_id != caller.open_id {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "token_not_authorized_for_specified_publish_id",
            "The access token is not authorized for this publish_id.",
        ));
    }
    Ok(publish)
}

/// Parses a JSON body; `Ok(None)` for an empty one. Anything else than JSON is refused, as the
/// endpoints document a JSON content type.
pub fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &[u8]) -> Result<Option<T>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return Err(ApiError::invalid_params("Content-Type must be application/json."));
    }
    serde_json::from_slice(body)
        .map(Some)
        .map_err(|error| ApiError::invalid_params(format!("The request body is invalid: {error}.")))
}
