//! Display API handlers: user info (fields gated by scope), the public video list and the video query.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Sandbox;
use crate::access::{self, Caller};
use crate::config::SandboxConfig;
use crate::envelope::{self, ApiError};
use crate::faults::Endpoint;
use crate::fixtures::{CreatorFixture, PrivacyLevel};
use crate::posting::json_body;
use crate::publish::{Publish, PublishKind, Status};

/// Each user field with the scope that unlocks it (§6).
const USER_FIELDS: &[(&str, &str)] = &[
    ("open_id", "user.info.basic"),
    ("union_id", "user.info.basic"),
    ("avatar_url", "user.info.basic"),
    ("avatar_url_100", "user.info.basic"),
    ("avatar_large_url", "user.info.basic"),
    ("display_name", "user.info.basic"),
    ("bio_description", "user.info.profile"),
    ("profile_deep_link", "user.info.profile"),
    ("username", "user.info.profile"),
    ("is_verified", "user.info.profile"),
    ("follower_count", "user.info.stats"),
    ("following_count", "user.info.stats"),
    ("likes_count", "user.info.stats"),
    ("video_count", "user.info.stats"),
];

/// Video object fields (§7.3).
const VIDEO_FIELDS: &[&str] = &[
    "id",
    "create_time",
    "cover_image_url",
    "share_url",
    "video_description",
    "duration",
    "height",
    "width",
    "title",
    "embed_html",
    "embed_link",
    "like_count",
    "comment_count",
    "share_count",
    "view_count",
];

const DEFAULT_PAGE: usize = 10;
const MAX_PAGE: i64 = 20;
/// TikTok caps titles and descriptions in the Display API at 150 characters.
const DISPLAY_TEXT_LIMIT: usize = 150;

/// `GET /v2/user/info/?fields=…`
pub async fn user_info(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery, headers: HeaderMap) -> Response {
    user_info_reply(&sandbox, query.as_deref(), &headers).unwrap_or_else(IntoResponse::into_response)
}

fn user_info_reply(sandbox: &Sandbox, query: Option<&str>, headers: &HeaderMap) -> Result<Response, ApiError> {
    let caller = access::authorize(sandbox, headers, Endpoint::UserInfo)?;
    let fields = requested_fields(query)?;
    for field in &fields {
        let (_, scope) = USER_FIELDS
            .iter()
            .find(|(name, _)| name == field)
            .ok_or_else(|| ApiError::invalid_params(format!("Unknown field: {field}.")))?;
        if !caller.has_scope(scope) {
            return Err(ApiError::scope_not_authorized(scope));
        }
    }
    let creator = sandbox.inner.creator(&caller.open_id).ok_or_else(ApiError::access_token_invalid)?;
    let mut user = Map::new();
    for field in fields {
        let value = user_field(sandbox, creator, &field);
        user.insert(field, value);
    }
    Ok(envelope::ok(json!({ "user": user })))
}

fn user_field(sandbox: &Sandbox, creator: &CreatorFixture, field: &str) -> Value {
    let base = sandbox.inner.config.base_url();
    let avatar = format!("{base}{}", creator.avatar_path());
    match field {
        "open_id" => json!(creator.open_id),
        "union_id" => json!(creator.union_id),
        "avatar_url" => json!(avatar),
        "avatar_url_100" => json!(format!("{avatar}?size=100")),
        "avatar_large_url" => json!(format!("{avatar}?size=large")),
        "display_name" => json!(creator.display_name),
        "bio_description" => json!(creator.bio_description),
        "profile_deep_link" => json!(format!("{base}/_sandbox/#creator-{}", creator.open_id)),
        "username" => json!(creator.username),
        "is_verified" => json!(creator.is_verified),
        "follower_count" => json!(creator.follower_count),
        "following_count" => json!(creator.following_count),
        "likes_count" => json!(creator.likes_count),
        "video_count" => {
            let now = Instant::now();
            let delay = sandbox.inner.config.processing_delay;
            let posted = sandbox
                .inner
                .lock()
                .publishes
                .iter()
                .filter(|publish| {
                    publish.open_id == creator.open_id && publish.status(now, delay) == Status::PublishComplete
                })
                .count();
            json!(posted)
        }
        _ => Value::Null,
    }
}

/// The comma list of `fields=`; required and non-empty.
fn requested_fields(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let raw = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(key, _)| key == "fields")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    let mut fields: Vec<String> = Vec::new();
    for field in raw.split(',').map(str::trim).filter(|field| !field.is_empty()) {
        if !fields.iter().any(|known| known == field) {
            fields.push(field.to_owned());
        }
    }
    if fields.is_empty() {
        return Err(ApiError::invalid_params("The fields parameter is required."));
    }
    Ok(fields)
}

#[derive(Deserialize, Default)]
struct ListBody {
    cursor: Option<i64>,
    max_count: Option<i64>,
}

/// `POST /v2/video/list/?fields=…`
pub async fn video_list(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    video_list_reply(&sandbox, query.as_deref(), &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn video_list_reply(
    sandbox: &Sandbox,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let caller = access::authorize(sandbox, headers, Endpoint::VideoList)?;
    let fields = video_fields(query)?;
    let request: ListBody = json_body(headers, body)?.unwrap_or_default();
    let page = match request.max_count {
        None => DEFAULT_PAGE,
        Some(count @ 1..=MAX_PAGE) => usize::try_from(count).unwrap_or(DEFAULT_PAGE),
        Some(_) => return Err(ApiError::invalid_params("max_count must be between 1 and 20.")),
    };
    // The cursor is a Unix time in ms; videos posted strictly before it are listed.
    let before = request.cursor.filter(|&cursor| cursor > 0).unwrap_or(i64::MAX);

    let now = Instant::now();
    let config = &sandbox.inner.config;
    let state = sandbox.inner.lock();
    let mut public: Vec<(&Publish, i64, i64)> = state
        .publishes
        .iter()
        .filter(|publish| is_public_video_of(publish, &caller, now, config))
        .filter_map(|publish| Some((publish, publish.published_ms?, publish.post_id?)))
        .filter(|(_, published_ms, _)| *published_ms < before)
        .collect();
    public.sort_by_key(|(_, published_ms, _)| std::cmp::Reverse(*published_ms));
    let has_more = public.len() > page;
    public.truncate(page);
    let cursor = public.last().map_or(request.cursor.unwrap_or(0), |(_, published_ms, _)| *published_ms);
    let videos: Vec<Value> = public
        .iter()
        .map(|(publish, published_ms, post_id)| video_object(sandbox, publish, *published_ms, *post_id, &fields))
        .collect();
    Ok(envelope::ok(json!({ "videos": videos, "cursor": cursor, "has_more": has_more })))
}

/// The `fields=` of a video endpoint: known video fields only. Every one of them needs
/// `video.list`, which the endpoint itself already required of the caller.
fn video_fields(query: Option<&str>) -> Result<Vec<String>, ApiError> {
    let fields = requested_fields(query)?;
    if let Some(unknown) = fields.iter().find(|field| !VIDEO_FIELDS.contains(&field.as_str())) {
        return Err(ApiError::invalid_params(format!("Unknown field: {unknown}.")));
    }
    Ok(fields)
}

#[derive(Deserialize)]
struct QueryBody {
    filters: Option<QueryFilters>,
}

#[derive(Deserialize)]
struct QueryFilters {
    video_ids: Option<Vec<Value>>,
}

/// `POST /v2/video/query/?fields=…`
pub async fn video_query(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    video_query_reply(&sandbox, query.as_deref(), &headers, &body).unwrap_or_else(IntoResponse::into_response)
}

fn video_query_reply(
    sandbox: &Sandbox,
    query: Option<&str>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, ApiError> {
    let caller = access::authorize(sandbox, headers, Endpoint::VideoQuery)?;
    let fields = video_fields(query)?;
    let ids = queried_ids(json_body(headers, body)?)?;
    let now = Instant::now();
    let config = &sandbox.inner.config;
    let state = sandbox.inner.lock();
    // Only the caller's own public videos; an id that is unknown, private or someone else's is
    // simply absent, so the reply reveals nothing about other creators.
    let videos: Vec<Value> = ids
        .iter()
        .filter_map(|id| {
            state
                .publishes
                .iter()
                .filter(|publish| is_public_video_of(publish, &caller, now, config))
                .find_map(|publish| {
                    let post_id = publish.post_id.filter(|post_id| post_id.to_string() == *id)?;
                    Some(video_object(sandbox, publish, publish.published_ms?, post_id, &fields))
                })
        })
        .collect();
    Ok(envelope::ok(json!({ "videos": videos, "cursor": 0, "has_more": false })))
}

/// `filters.video_ids`: required, 1 to 20 strings (TikTok documents the ids as strings, so the
/// sandbox takes the strictest reading and refuses numbers), duplicates answered once.
fn queried_ids(body: Option<QueryBody>) -> Result<Vec<String>, ApiError> {
    let raw = body
        .and_then(|body| body.filters)
        .and_then(|filters| filters.video_ids)
        .ok_or_else(|| ApiError::invalid_params("filters.video_ids is required."))?;
    if raw.is_empty() || raw.len() > MAX_PAGE as usize {
        return Err(ApiError::invalid_params("filters.video_ids must hold between 1 and 20 ids."));
    }
    let mut ids: Vec<String> = Vec::new();
    for value in raw {
        let id = value.as_str().ok_or_else(|| ApiError::invalid_params("Video ids must be strings."))?;
        if !ids.iter().any(|known| known == id) {
            ids.push(id.to_owned());
        }
    }
    Ok(ids)
}

/// The Display API lists public videos only once moderation has passed, like the post id.
fn is_public_video_of(publish: &Publish, caller: &Caller, now: Instant, config: &SandboxConfig) -> bool {
    publish.open_id == caller.open_id
        && publish.kind == PublishKind::Direct
        && publish.settings.privacy == Some(PrivacyLevel::PublicToEveryone)
        && !publish.public_post_ids(now, config.processing_delay, config.moderation_delay).is_empty()
}

fn video_object(sandbox: &Sandbox, publish: &Publish, published_ms: i64, post_id: i64, fields: &[String]) -> Value {
    let base = sandbox.inner.config.base_url();
    let share_url = format!("{base}/_sandbox/#video-{post_id}");
    let media = publish.verdict.and_then(Result::ok);
    let text: String = publish.settings.title.chars().take(DISPLAY_TEXT_LIMIT).collect();
    let mut video = Map::new();
    for field in fields {
        let value = match field.as_str() {
            "id" => json!(post_id.to_string()),
            "create_time" => json!(published_ms / 1000),
            "cover_image_url" => json!(format!("{base}/_sandbox/covers/{post_id}.svg")),
            "share_url" | "embed_link" => json!(share_url),
            "video_description" | "title" => json!(text),
            "duration" => json!(media.and_then(|info| info.duration).map_or(0, |duration| duration.whole_seconds())),
            "width" => json!(media.and_then(|info| info.dimensions).map_or(0, |(width, _)| width)),
            "height" => json!(media.and_then(|info| info.dimensions).map_or(0, |(_, height)| height)),
            "embed_html" => json!(format!(
                "<blockquote class=\"tiktok-embed\" cite=\"{share_url}\" data-video-id=\"{post_id}\"></blockquote>"
            )),
            // A sandbox post has no audience, so its counters are all zero.
            "like_count" | "comment_count" | "share_count" | "view_count" => json!(0),
            _ => Value::Null,
        };
        video.insert(field.clone(), value);
    }
    Value::Object(video)
}
