//! The `/_sandbox/` control room: a status page for people, JSON and fault switches for tests.

use std::fmt::Write as _;
use std::time::Instant;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::middleware;
use axum::routing::{get, post};

use crate::Sandbox;
use crate::control_access;
use crate::faults::Fault;
use crate::fixtures::avatar_svg;
use crate::html::{self, escape};
use crate::publish::Status;

/// The page shows this many of the latest requests.
const PAGE_REQUESTS: usize = 200;
const PAGE_WEBHOOKS: usize = 50;

/// The control endpoints (behind `admin_token` when set), and the images TikTok's CDN would
/// serve to anyone: avatars and covers, which the consent page and API replies link to.
pub fn routes(sandbox: &Sandbox) -> Router<Sandbox> {
    let control = Router::new()
        .route("/_sandbox/", get(page))
        .route("/_sandbox/requests", get(requests))
        .route("/_sandbox/webhooks", get(webhooks))
        .route("/_sandbox/creators", get(creators))
        .route("/_sandbox/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/_sandbox/creators/{open_id}/revoke", post(revoke))
        .route("/_sandbox/publishes/{publish_id}/post", post(post_draft))
        .route_layer(middleware::from_fn_with_state(sandbox.clone(), control_access::require_admin));
    let public = Router::new()
        .route("/_sandbox/avatars/{file}", get(avatar))
        .route("/_sandbox/covers/{file}", get(cover));
    control.merge(public)
}

async fn requests(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.requests()).into_response()
}

async fn webhooks(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.webhook_deliveries()).into_response()
}

async fn creators(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.creators()).into_response()
}

async fn list_faults(State(sandbox): State<Sandbox>) -> Response {
    Json(sandbox.faults()).into_response()
}

async fn add_fault(State(sandbox): State<Sandbox>, Json(fault): Json<Fault>) -> Response {
    if fault.count == 0 {
        return (StatusCode::BAD_REQUEST, "count must be at least 1").into_response();
    }
    sandbox.inject(fault);
    (StatusCode::CREATED, Json(sandbox.faults())).into_response()
}

async fn clear_faults(State(sandbox): State<Sandbox>) -> StatusCode {
    sandbox.clear_faults();
    StatusCode::NO_CONTENT
}

/// JSON clients get 204; the page's own form gets sent back to the page.
async fn revoke(State(sandbox): State<Sandbox>, Path(open_id): Path<String>, headers: HeaderMap) -> Response {
    if sandbox.inner.creator(&open_id).is_none() {
        return (StatusCode::NOT_FOUND, "no such creator").into_response();
    }
    sandbox.revoke_creator(&open_id);
    let from_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if from_form {
        let mut response = StatusCode::SEE_OTHER.into_response();
        response.headers_mut().insert(header::LOCATION, HeaderValue::from_static("../../"));
        response
    } else {
        StatusCode::NO_CONTENT.into_response()
    }
}

/// The creator posts a draft from their inbox in the TikTok app.
async fn post_draft(State(sandbox): State<Sandbox>, Path(publish_id): Path<String>) -> Response {
    if sandbox.post_draft(&publish_id) {
        StatusCode::NO_CONTENT.into_response()
    } else {
        (StatusCode::NOT_FOUND, "no draft waiting in an inbox with that publish id").into_response()
    }
}

fn svg(body: String) -> Response {
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
    response
}

async fn avatar(State(sandbox): State<Sandbox>, Path(file): Path<String>) -> Response {
    let creator = file.strip_suffix(".svg").and_then(|open_id| sandbox.inner.creator(open_id));
    match creator {
        Some(creator) => svg(avatar_svg(creator)),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A placeholder cover naming the post, for `cover_image_url`.
async fn cover(State(sandbox): State<Sandbox>, Path(file): Path<String>) -> Response {
    let Some(post_id) = file.strip_suffix(".svg").and_then(|id| id.parse::<i64>().ok()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let title = sandbox
        .inner
        .lock()
        .publishes
        .iter()
        .find(|publish| publish.post_id == Some(post_id))
        .map(|publish| publish.settings.title.chars().take(40).collect::<String>());
    let Some(title) = title else {
        return StatusCode::NOT_FOUND.into_response();
    };
    svg(format!(
        concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="360" height="640" viewBox="0 0 360 640">"#,
            r##"<rect width="360" height="640" fill="#111"/>"##,
            r##"<text x="180" y="320" font-family="sans-serif" font-size="18" fill="#fff" text-anchor="middle">{}</text>"##,
            "</svg>"
        ),
        escape(&title)
    ))
}

async fn page(State(sandbox): State<Sandbox>) -> Response {
    let mut body = String::from(
        "<h1>TikTok sandbox</h1>\n<p>A local stand-in for TikTok's Login Kit, Display and Content Posting APIs.</p>\n\
         <p>JSON: <a href=\"requests\">requests</a>, <a href=\"webhooks\">webhooks</a>, \
         <a href=\"creators\">creators</a>, <a href=\"faults\">faults</a>.</p>\n",
    );
    creators_section(&sandbox, &mut body);
    grants_section(&sandbox, &mut body);
    publishes_section(&sandbox, &mut body);
    faults_section(&sandbox, &mut body);
    webhooks_section(&sandbox, &mut body);
    requests_section(&sandbox, &mut body);
    html::page(StatusCode::OK, "TikTok sandbox", &body)
}

fn creators_section(sandbox: &Sandbox, out: &mut String) {
    out.push_str(
        "<h2>Creators</h2>\n<table>\n<tr><th>Account</th><th>open_id</th><th>Privacy options</th>\
         <th>Disabled</th><th>Max duration</th><th>Posting</th><th></th></tr>\n",
    );
    for creator in &sandbox.inner.creators {
        let options: Vec<&str> = creator.privacy_level_options.iter().map(|level| level.as_str()).collect();
        let disabled: Vec<&str> = [
            (creator.comment_disabled, "comment"),
            (creator.duet_disabled, "duet"),
            (creator.stitch_disabled, "stitch"),
        ]
        .into_iter()
        .filter_map(|(off, name)| off.then_some(name))
        .collect();
        let _ = writeln!(
            out,
            "<tr id=\"creator-{id}\"><td><img src=\"avatars/{id}.svg\" alt=\"\" width=\"32\" height=\"32\"> {name} (@{user}, {kind})</td>\
             <td><code>{id}</code></td><td>{options}</td><td>{disabled}</td><td>{max} s</td><td>{condition}</td>\
             <td><form method=\"post\" action=\"creators/{id}/revoke\"><button type=\"submit\">Remove app</button></form></td></tr>",
            id = escape(&creator.open_id),
            name = escape(&creator.display_name),
            user = escape(&creator.username),
            kind = if creator.is_private { "private" } else { "public" },
            options = options.join(", "),
            disabled = if disabled.is_empty() { "none".to_owned() } else { disabled.join(", ") },
            max = creator.max_video_post_duration_sec,
            condition = creator.posting_condition.error_code().unwrap_or("normal"),
        );
    }
    out.push_str("</table>\n");
}

fn grants_section(sandbox: &Sandbox, out: &mut String) {
    let grants = sandbox.inner.lock().grants.active(Instant::now());
    out.push_str("<h2>Active grants</h2>\n");
    if grants.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str("<table>\n<tr><th>#</th><th>Creator</th><th>Scopes</th><th>Authorized at</th></tr>\n");
    for grant in grants {
        let name = sandbox
            .inner
            .creator(&grant.open_id)
            .map_or(grant.open_id.as_str(), |creator| creator.display_name.as_str());
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            grant.id,
            escape(name),
            escape(&grant.scopes.join(", ")),
            grant.created
        );
    }
    out.push_str("</table>\n");
}

fn publishes_section(sandbox: &Sandbox, out: &mut String) {
    let now = Instant::now();
    let delay = sandbox.inner.config.processing_delay;
    let state = sandbox.inner.lock();
    out.push_str("<h2>Publishes</h2>\n");
    if state.publishes.is_empty() {
        out.push_str("<p>None.</p>\n");
        return;
    }
    out.push_str(
        "<table>\n<tr><th>Created</th><th>publish_id</th><th>Type</th><th>Creator</th><th>Privacy</th><th>Title</th>\
         <th>Settings</th><th>Status</th><th>Uploaded</th><th>SHA-256</th><th>Post</th></tr>\n",
    );
    for publish in state.publishes.iter().rev() {
        let status = publish.status(now, delay);
        let status_text = match status {
            Status::Failed(reason) => format!("FAILED ({reason})"),
            other => other.as_str().to_owned(),
        };
        let settings = &publish.settings;
        let flags: Vec<&str> = [
            (settings.disable_comment, "no comments"),
            (settings.disable_duet, "no duet"),
            (settings.disable_stitch, "no stitch"),
            (settings.brand_content_toggle, "branded content"),
            (settings.brand_organic_toggle, "your brand"),
            (settings.is_aigc, "AI-generated"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let name = sandbox
            .inner
            .creator(&publish.open_id)
            .map_or(publish.open_id.as_str(), |creator| creator.display_name.as_str());
        let post = publish
            .public_post_ids(now, delay, sandbox.inner.config.moderation_delay)
            .first()
            .map(|id| format!("<span id=\"video-{id}\">{id}</span>"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<tr id=\"publish-{id}\"><td>{created}</td><td><code>{id}</code></td><td>{kind}</td><td>{name}</td><td>{privacy}</td><td>{title}</td>\
             <td>{flags}</td><td>{status}</td><td>{received} / {total}</td><td><code>{sha}</code></td><td>{post}</td></tr>",
            created = publish.created,
            id = escape(&publish.id),
            kind = publish.kind.publish_type(),
            name = escape(name),
            privacy = settings.privacy.map_or("(chosen in app)", |level| level.as_str()),
            title = escape(&settings.title),
            flags = flags.join(", "),
            status = status_text,
            // A pull's progress is its download (its upload task is closed).
            received = publish.pull.as_ref().map_or(publish.upload.received, |pull| pull.downloaded),
            total = match &publish.pull {
                Some(pull) => pull.total.map_or_else(|| "?".to_owned(), |total| total.to_string()),
                None => publish.upload.plan.video_size.to_string(),
            },
            sha = publish.upload.sha256.as_deref().unwrap_or(""),
        );
    }
    out.push_str("</table>\n");
}

fn faults_section(sandbox: &Sandbox, out: &mut String) {
    let faults = sandbox.faults();
    out.push_str("<h2>Queued faults</h2>\n");
    if faults.is_empty() {
        out.push_str("<p>None. POST a JSON fault to <code>faults</code> to add one.</p>\n");
        return;
    }
    out.push_str("<ul>\n");
    for fault in faults {
        let after = if fault.skip > 0 { format!(" after {} untouched calls", fault.skip) } else { String::new() };
        let _ = writeln!(out, "<li>{:?} on {:?}, {} more{after}</li>", fault.kind, fault.endpoint, fault.count);
    }
    out.push_str("</ul>\n");
}

fn webhooks_section(sandbox: &Sandbox, out: &mut String) {
    let deliveries = sandbox.webhook_deliveries();
    out.push_str("<h2>Webhooks</h2>\n");
    if sandbox.inner.config.webhook_url.is_none() {
        out.push_str("<p>No webhook URL is configured.</p>\n");
        return;
    }
    out.push_str("<table>\n<tr><th>Event</th><th>Creator</th><th>Attempts</th><th>Delivered</th></tr>\n");
    for delivery in deliveries.iter().rev().take(PAGE_WEBHOOKS) {
        let attempts: Vec<String> = delivery
            .attempts
            .iter()
            .map(|attempt| {
                attempt.status.map_or_else(|| attempt.error.clone().unwrap_or_default(), |status| status.to_string())
            })
            .collect();
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&delivery.event),
            escape(&delivery.user_openid),
            escape(&attempts.join(", ")),
            if delivery.delivered { "yes" } else { "no" }
        );
    }
    out.push_str("</table>\n");
}

fn requests_section(sandbox: &Sandbox, out: &mut String) {
    let state = sandbox.inner.lock();
    out.push_str(
        "<h2>Latest requests</h2>\n<table>\n<tr><th>At</th><th>Request</th><th>Status</th><th>Error</th></tr>\n",
    );
    for request in state.requests.iter().rev().take(PAGE_REQUESTS) {
        let status = request.status.map_or_else(|| "(no reply)".to_owned(), |status| status.to_string());
        let error = match (&request.error_code, request.fault) {
            (_, Some(fault)) => format!("injected {fault:?}"),
            (Some(code), None) => code.clone(),
            (None, None) => String::new(),
        };
        // Paths only: queries hold codes and upload tokens.
        let _ = writeln!(
            out,
            "<tr><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td></tr>",
            escape(&request.at),
            escape(&request.method),
            escape(&request.path),
            status,
            escape(&error)
        );
    }
    out.push_str("</table>\n");
}
