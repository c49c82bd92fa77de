//! Display API handlers: user info (fields gated by scope), the public video list and the video query.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::Sandbox;
use crate::access;
use crate::audience;
use crate::catalog::{self, Listed};
use crate::envelope::{self, ApiError};
use crate::faults::Endpoint;
use crate::fixtures::CreatorFixture;
use crate::posting::json_body;
use crate::publish::Status;

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
        "follower_count" => json!(creator_totals(sandbox, creator).follower_count),
        "following_count" => json!(creator_totals(sandbox, creator).following_count),
        "likes_count" => json!(creator_totals(sandbox, creator).likes_count),
        "video_count" => {
            let now = Instant::now();
            let config = &sandbox.inner.config;
            let state = sandbox.inner.lock();
            let posted = state
                .publishes
                .iter()
                .filter(|publish| {
                    publish.open_id == creator.open_id && publish.status(now, config.processing_delay) == Status::PublishComplete
                })
                .count();
            let in_app = state.app_videos.iter().filter(|video| video.open_id == creator.open_id).count();
            json!(posted + in_app)
        }
        _ => Value::Null,
    }
}

/// The creator's totals now: the seeded base, steady follower growth and their videos' likes.
fn creator_totals(sandbox: &Sandbox, creator: &CreatorFixture) -> audience::CreatorCounts {
    let config = &sandbox.inner.config;
    let video_likes: i64 = {
        let state = sandbox.inner.lock();
        catalog::public_videos(&state, config, &creator.open_id, Instant::now()).iter().map(|video| video.counts.like_count).sum()
    };
    audience::creator_counts(
        config.audience_seed,
        &creator.open_id,
        creator.follower_count,
        creator.following_count,
        creator.likes_count,
        catalog::now_ms() / 1000,
        video_likes,
    )
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

    let state = sandbox.inner.lock();
    let mut public: Vec<Listed> = catalog::public_videos(&state, &sandbox.inner.config, &caller.open_id, Instant::now())
        .into_iter()
        .filter(|video| video.published_ms < before)
        .collect();
    let has_more = public.len() > page;
    public.truncate(page);
    let cursor = public.last().map_or(request.cursor.unwrap_or(0), |video| video.published_ms);
    let videos: Vec<Value> = public.iter().map(|video| video_object(sandbox, video, &fields)).collect();
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
    let state = sandbox.inner.lock();
    // Only the caller's own public videos; an id that is unknown, private or someone else's is
    // simply absent, so the reply reveals nothing about other creators.
    let own = catalog::public_videos(&state, &sandbox.inner.config, &caller.open_id, Instant::now());
    let videos: Vec<Value> = ids
        .iter()
        .filter_map(|id| own.iter().find(|video| video.post_id.to_string() == *id))
        .map(|video| video_object(sandbox, video, &fields))
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

fn video_object(sandbox: &Sandbox, listed: &Listed, fields: &[String]) -> Value {
    let base = sandbox.inner.config.base_url();
    let post_id = listed.post_id;
    let share_url = format!("{base}/_sandbox/#video-{post_id}");
    let text: String = listed.title.chars().take(DISPLAY_TEXT_LIMIT).collect();
    let mut video = Map::new();
    for field in fields {
        let value = match field.as_str() {
            "id" => json!(post_id.to_string()),
            "create_time" => json!(listed.published_ms / 1000),
            "cover_image_url" => json!(format!("{base}/_sandbox/covers/{post_id}.svg")),
            "share_url" | "embed_link" => json!(share_url),
            "video_description" | "title" => json!(text),
            "duration" => json!(listed.duration_secs),
            "width" => json!(listed.width),
            "height" => json!(listed.height),
            "embed_html" => json!(format!(
                "<blockquote class=\"tiktok-embed\" cite=\"{share_url}\" data-video-id=\"{post_id}\"></blockquote>"
            )),
            // Counters grow with the video's age, from the sandbox's seed (`audience`).
            "like_count" => json!(listed.counts.like_count),
            "comment_count" => json!(listed.counts.comment_count),
            "share_count" => json!(listed.counts.share_count),
            "view_count" => json!(listed.counts.view_count),
            _ => Value::Null,
        };
        video.insert(field.clone(), value);
    }
    Value::Object(video)
}
