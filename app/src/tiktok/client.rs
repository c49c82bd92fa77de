//! The one HTTP client for TikTok: base URLs from configuration, a timeout on every call,
//! strict parsing, and the typed [`TikTokError`].
//!
//! OAuth endpoints answer flat JSON and report errors in an `error` field, often with HTTP 200
//! (tiktok-api.md §2.7), so the body decides. Resource endpoints wrap everything in
//! `{data, error:{code,message,log_id}}` and succeed only with `error.code == "ok"` (§1.1).

use super::{
    chunks::ChunkPlan,
    error::TikTokError,
    types::{CreatorInfo, UserInfo},
};
use crate::crypto::SecretToken;
use reqwest::{RequestBuilder, StatusCode, header};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use serde_json::Value;
use std::time::Duration;

/// Fields requested from `/v2/user/info/`; `username` needs `user.info.profile`.
const USER_FIELDS_BASIC: &str = "open_id,union_id,avatar_url,display_name";
const USER_FIELDS_PROFILE: &str = "open_id,union_id,avatar_url,display_name,username";

/// Where TikTok lives and who we are to it.
#[derive(Clone)]
pub struct TikTokEndpoints {
    /// e.g. `https://open.tiktokapis.com` (no trailing slash).
    pub api_base: String,
    /// e.g. `https://www.tiktok.com`; the browser is sent to `{authorize_base}/v2/auth/authorize/`.
    pub authorize_base: String,
    pub client_key: String,
    pub client_secret: SecretString,
    /// The scopes asked for on the consent screen (see [`super::scopes`]).
    pub scopes: Vec<String>,
}

/// Tokens from a code exchange or a refresh. Prints without its secrets.
#[derive(Debug, Clone)]
pub struct TokenGrant {
    pub open_id: String,
    pub access_token: SecretToken,
    pub refresh_token: SecretToken,
    /// Seconds, as TikTok returned them (never assumed).
    pub expires_in: i64,
    pub refresh_expires_in: i64,
    pub scopes: Vec<String>,
}

/// `post_info` of a direct post (tiktok-api.md §4.3): exactly what the person chose.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostInfo {
    pub title: String,
    pub privacy_level: String,
    pub disable_duet: bool,
    pub disable_stitch: bool,
    pub disable_comment: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_cover_timestamp_ms: Option<u32>,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    pub is_aigc: bool,
}

/// `post_info` of a photo post (tiktok-api.md §4.5). Only title and description go with an
/// inbox upload (MEDIA_UPLOAD); the creator picks the rest in the app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoPostInfo {
    pub title: String,
    pub description: String,
    pub privacy_level: String,
    pub disable_comment: bool,
    pub auto_add_music: bool,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    /// Sent at the top level of the request, where the photo-post page documents it.
    #[serde(skip)]
    pub is_aigc: bool,
}

/// The body of `/v2/post/publish/content/init/` for `images` (pull URLs) with the cover at
/// `cover_index`: DIRECT_POST with every setting, or MEDIA_UPLOAD with the text only.
pub fn photo_init_body(info: &PhotoPostInfo, direct: bool, images: &[String], cover_index: u32) -> Value {
    let post_info = if direct {
        serde_json::to_value(info).unwrap_or_default()
    } else {
        serde_json::json!({ "title": info.title, "description": info.description })
    };
    serde_json::json!({
        "media_type": "PHOTO",
        "post_mode": if direct { "DIRECT_POST" } else { "MEDIA_UPLOAD" },
        "post_info": post_info,
        "is_aigc": info.is_aigc,
        "source_info": { "source": "PULL_FROM_URL", "photo_images": images, "photo_cover_index": cover_index },
    })
}

/// What an init returns: the id to track, and where to PUT the bytes.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PublishInit {
    pub publish_id: String,
    pub upload_url: String,
}

/// What a PULL_FROM_URL init returns: only the id to track, as TikTok fetches the file itself.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct PullInit {
    pub publish_id: String,
}

/// `data` of `/v2/post/publish/status/fetch/` (§4.8), read tolerantly in its own module.
pub use super::publish_status::PublishStatus;

/// What the upload URL said about one chunk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChunkReceipt {
    /// 206: accepted; this many bytes are in so far.
    Partial { uploaded: u64 },
    /// 201: the whole video is in and processing starts.
    Complete,
    /// 416: the range does not match TikTok's progress, which says this many bytes are in
    /// (`None` when the reply had no progress header). After a resubmitted chunk this is how
    /// TikTok answers a chunk it had already received.
    RangeMismatch { uploaded: Option<u64> },
}

#[derive(Deserialize)]
struct RawGrant {
    access_token: String,
    refresh_token: String,
    open_id: String,
    expires_in: i64,
    refresh_expires_in: i64,
    #[serde(default)]
    scope: String,
}

#[derive(Deserialize)]
struct Envelope {
    #[serde(default)]
    data: Option<Value>,
    error: ApiError,
}

#[derive(Deserialize)]
struct ApiError {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    log_id: Option<String>,
}

/// The client plus what the rest of Cadence needs to talk OAuth and verify webhooks.
#[derive(Clone)]
pub struct TikTokApp {
    pub client: TikTokClient,
    /// The absolute callback URL registered with TikTok (`…/oauth/tiktok/callback`).
    pub redirect_uri: String,
    /// The app's client secret, which also signs webhooks.
    pub webhook_secret: SecretString,
}

/// Cheap to clone; share one per process.
#[derive(Clone)]
pub struct TikTokClient {
    http: reqwest::Client,
    endpoints: TikTokEndpoints,
    breakers: std::sync::Arc<super::breaker::Breakers>,
}

impl TikTokClient {
    pub fn new(endpoints: TikTokEndpoints) -> Result<Self, TikTokError> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(30))
            .user_agent(concat!("Cadence/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TikTokError::Protocol(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self { http, endpoints, breakers: Default::default() })
    }

    /// Each endpoint's circuit breaker state now (for `/healthz` and `/metrics`).
    pub fn breaker_states(&self) -> Vec<(&'static str, &'static str)> {
        self.breakers.states(std::time::Instant::now())
    }

    /// The origin of TikTok's consent screen (`https://www.tiktok.com`, or the sandbox's own),
    /// which Cadence's CSP must allow as a form target: the Connect form's POST is answered with
    /// a redirect there, and `form-action` applies to every hop of that navigation.
    pub fn consent_origin(&self) -> Option<String> {
        let base = &self.endpoints.authorize_base;
        let (scheme, rest) = base.split_once("://")?;
        let host = rest.split(['/', '?', '#']).next().filter(|host| !host.is_empty())?;
        Some(format!("{scheme}://{host}"))
    }

    /// The URL the browser visits to grant Cadence access (tiktok-api.md §2.2). The consent
    /// page is always shown (`disable_auto_auth=1`), so a team member connecting a second
    /// account is not silently signed in as the TikTok user already logged in in the browser.
    pub fn authorize_url(&self, redirect_uri: &str, state: &str) -> String {
        let scope = self.endpoints.scopes.join(",");
        let query = [
            ("client_key", self.endpoints.client_key.as_str()),
            ("response_type", "code"),
            ("scope", scope.as_str()),
            ("redirect_uri", redirect_uri),
            ("state", state),
            ("disable_auto_auth", "1"),
        ];
        let query = serde_urlencoded::to_string(query).unwrap_or_default();
        format!("{}/v2/auth/authorize/?{query}", self.endpoints.authorize_base)
    }

    /// Exchanges an authorization code. Not retried: codes are single-use.
    pub async fn exchange_code(&self, code: &str, redirect_uri: &str) -> Result<TokenGrant, TikTokError> {
        let secret = self.endpoints.client_secret.expose_secret();
        let form = [
            ("client_key", self.endpoints.client_key.as_str()),
            ("client_secret", secret),
            ("code", code),
            ("grant_type", "authorization_code"),
            ("redirect_uri", redirect_uri),
        ];
        self.grant(&form).await
    }

    /// Spends a refresh token for a new pair. Not retried after the request may have reached
    /// TikTok: with strict rotation a second attempt would present a dead token.
    pub async fn refresh(&self, refresh_token: &SecretToken) -> Result<TokenGrant, TikTokError> {
        let secret = self.endpoints.client_secret.expose_secret();
        let form = [
            ("client_key", self.endpoints.client_key.as_str()),
            ("client_secret", secret),
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        self.grant(&form).await
    }

    /// Revokes the grant behind an access token (the app disappears from the user's list).
    pub async fn revoke(&self, access_token: &SecretToken) -> Result<(), TikTokError> {
        let secret = self.endpoints.client_secret.expose_secret();
        let form = [
            ("client_key", self.endpoints.client_key.as_str()),
            ("client_secret", secret),
            ("token", access_token.expose()),
        ];
        self.oauth_post("/v2/oauth/revoke/", &form).await.map(|_| ())
    }

    /// The creator's identity; asks for `username` only when that scope was granted.
    pub async fn user_info(&self, access_token: &SecretToken, with_profile: bool) -> Result<UserInfo, TikTokError> {
        let fields = if with_profile { USER_FIELDS_PROFILE } else { USER_FIELDS_BASIC };
        let url = format!("{}/v2/user/info/", self.endpoints.api_base);
        let data: Value = self
            .with_retries("user_info", || self.http.get(&url).query(&[("fields", fields)]).bearer_auth(access_token.expose()))
            .await?;
        let user = data.get("user").cloned().ok_or_else(|| TikTokError::Protocol("user info without `user`".into()))?;
        serde_json::from_value(user).map_err(|e| TikTokError::Protocol(format!("user info: {e}")))
    }

    /// What the creator may post right now (tiktok-api.md §4.2). Spam/cap answers come back
    /// with HTTP 200 and surface as [`TikTokError::Rejected`].
    pub async fn creator_info(&self, access_token: &SecretToken) -> Result<CreatorInfo, TikTokError> {
        let url = format!("{}/v2/post/publish/creator_info/query/", self.endpoints.api_base);
        self.with_retries("creator_info", || self.json_post(&url, access_token, "{}".to_owned())).await
    }

    /// Starts a direct post with FILE_UPLOAD. Never retried once it may have reached TikTok:
    /// a second init would be a second post.
    pub async fn init_direct_post(
        &self,
        access_token: &SecretToken,
        post: &PostInfo,
        plan: &ChunkPlan,
    ) -> Result<PublishInit, TikTokError> {
        let body = serde_json::json!({ "post_info": post, "source_info": source_info(plan) });
        self.post_once("/v2/post/publish/video/init/", access_token, &body).await
    }

    /// Starts an upload to the creator's TikTok inbox (a draft they finish in the app).
    /// Starts a direct post that TikTok downloads from `video_url` (PULL_FROM_URL, §4.7). Never
    /// retried once it may have reached TikTok: TikTok starts pulling at once.
    pub async fn init_direct_pull(&self, access_token: &SecretToken, post: &PostInfo, video_url: &str) -> Result<PullInit, TikTokError> {
        let body = serde_json::json!({ "post_info": post, "source_info": pull_source_info(video_url) });
        self.post_once("/v2/post/publish/video/init/", access_token, &body).await
    }

    /// Starts an inbox draft that TikTok downloads from `video_url`.
    pub async fn init_inbox_pull(&self, access_token: &SecretToken, video_url: &str) -> Result<PullInit, TikTokError> {
        let body = serde_json::json!({ "source_info": pull_source_info(video_url) });
        self.post_once("/v2/post/publish/inbox/video/init/", access_token, &body).await
    }

    /// Starts a photo post that TikTok downloads image by image from `images` (photos have only
    /// PULL_FROM_URL). Never retried once it may have reached TikTok.
    pub async fn init_photo_post(
        &self,
        access_token: &SecretToken,
        info: &PhotoPostInfo,
        direct: bool,
        images: &[String],
        cover_index: u32,
    ) -> Result<PullInit, TikTokError> {
        let body = photo_init_body(info, direct, images, cover_index);
        self.post_once("/v2/post/publish/content/init/", access_token, &body).await
    }

    pub async fn init_inbox_upload(&self, access_token: &SecretToken, plan: &ChunkPlan) -> Result<PublishInit, TikTokError> {
        let body = serde_json::json!({ "source_info": source_info(plan) });
        self.post_once("/v2/post/publish/inbox/video/init/", access_token, &body).await
    }

    /// Sends chunk `index` of `plan` to the upload URL within `timeout`. `body` must yield
    /// exactly the chunk's bytes; it is streamed, never buffered here.
    pub async fn upload_chunk(
        &self,
        upload_url: &str,
        content_type: &str,
        plan: &ChunkPlan,
        index: u64,
        body: reqwest::Body,
        timeout: Duration,
    ) -> Result<ChunkReceipt, TikTokError> {
        let (first, last) = plan.range(index);
        let started = std::time::Instant::now();
        let response = self
            .http
            .put(upload_url)
            .header(header::CONTENT_TYPE, content_type)
            .header(header::CONTENT_LENGTH, last - first + 1)
            .header(header::CONTENT_RANGE, plan.content_range(index))
            // Scaled to the chunk by the caller: the 30 s default would cut a big one off.
            .timeout(timeout)
            .body(body)
            .send()
            .await
            .map_err(transport_error);
        // Transport failures here; TikTok's answers are counted below by their status.
        crate::metrics::tiktok_call("upload_chunk", &response.as_ref().map(|r| r.status()).map_err(Clone::clone).and_then(upload_status_result), started.elapsed());
        let response = response?;
        let status = response.status();
        let uploaded = uploaded_bytes(response.headers());
        // The chunk's bytes are TikTok's once it answers 201 or 206.
        if matches!(status, StatusCode::CREATED | StatusCode::PARTIAL_CONTENT) { crate::metrics::bytes_uploaded(last - first + 1); }
        match status {
            StatusCode::CREATED => Ok(ChunkReceipt::Complete),
            StatusCode::PARTIAL_CONTENT => Ok(ChunkReceipt::Partial { uploaded: uploaded.unwrap_or(last + 1) }),
            StatusCode::RANGE_NOT_SATISFIABLE => Ok(ChunkReceipt::RangeMismatch { uploaded }),
            status if status.is_server_error() => Err(TikTokError::Transient(format!("upload answered HTTP {status}"))),
            status => {
                let code = match status {
                    StatusCode::FORBIDDEN => "upload_url_expired",
                    StatusCode::NOT_FOUND => "upload_not_found",
                    _ => "upload_refused",
                };
                let message = match uploaded {
                    Some(bytes) => format!("HTTP {status}; TikTok has {bytes} bytes"),
                    None => format!("HTTP {status}"),
                };
                Err(TikTokError::Rejected { status: status.as_u16(), code: code.to_owned(), message, log_id: None })
            }
        }
    }

    /// Where a publish stands. Safe to repeat, so transient failures are retried.
    pub async fn publish_status(&self, access_token: &SecretToken, publish_id: &str) -> Result<PublishStatus, TikTokError> {
        let url = format!("{}/v2/post/publish/status/fetch/", self.endpoints.api_base);
        let body = serde_json::json!({ "publish_id": publish_id }).to_string();
        self.with_retries("publish_status", || self.json_post(&url, access_token, body.clone())).await
    }

    /// Asks TikTok to stop publish `publish_id` (§4.9). TikTok only cancels PULL_FROM_URL
    /// downloads: a FILE_UPLOAD publish answers `Rejected { code: "publish_not_cancellable" }`,
    /// which callers must read as "TikTok may still publish it".
    pub async fn cancel(&self, access_token: &SecretToken, publish_id: &str) -> Result<(), TikTokError> {
        let body = serde_json::json!({ "publish_id": publish_id });
        // The reply carries only `{"error": …}`: no data to read.
        self.post_once::<Option<Value>>("/v2/post/publish/cancel/", access_token, &body).await.map(|_| ())
    }

    /// One POST with a JSON body; retried only when the connection failed before anything
    /// was sent.
    async fn post_once<T: DeserializeOwned>(
        &self,
        path: &'static str,
        access_token: &SecretToken,
        body: &Value,
    ) -> Result<T, TikTokError> {
        self.guarded(path, self.post_once_unguarded(path, access_token, body)).await
    }

    async fn post_once_unguarded<T: DeserializeOwned>(
        &self,
        path: &'static str,
        access_token: &SecretToken,
        body: &Value,
    ) -> Result<T, TikTokError> {
        let url = format!("{}{path}", self.endpoints.api_base);
        let mut attempt = 0;
        loop {
            let sent = self.json_post(&url, access_token, body.to_string()).send().await;
            match sent {
                Err(error) if error.is_connect() && attempt < 2 => {
                    attempt += 1;
                    tokio::time::sleep(backoff(attempt)).await;
                }
                // Not a refused connection: the request may have reached TikTok.
                Err(error) if !error.is_connect() => {
                    return Err(TikTokError::ReplyLost(transport_error(error).to_string()));
                }
                Err(error) => return Err(transport_error(error)),
                Ok(response) => {
                    let status = response.status();
                    let retry_after = retry_after(response.headers());
                    let bytes = response
                        .bytes()
                        .await
                        .map_err(|e| TikTokError::ReplyLost(transport_error(e).to_string()))?;
                    return parse_resource_reply(status, retry_after, &bytes);
                }
            }
        }
    }

    /// A resource API POST: Bearer token, JSON body, TikTok's documented content type.
    /// e.g. `https://open.tiktokapis.com`, for the calls kept in sibling modules.
    pub(super) fn api_base(&self) -> &str {
        &self.endpoints.api_base
    }

    /// A resource API GET (query parameters only, never a body), for sibling modules.
    pub(super) fn http_get(&self, url: &str) -> RequestBuilder {
        self.http.get(url)
    }

    pub(super) fn json_post(&self, url: &str, access_token: &SecretToken, body: String) -> RequestBuilder {
        self.http
            .post(url)
            .bearer_auth(access_token.expose())
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(body)
    }

    async fn grant(&self, form: &[(&str, &str)]) -> Result<TokenGrant, TikTokError> {
        let value = self.oauth_post("/v2/oauth/token/", form).await?;
        let raw: RawGrant =
            serde_json::from_value(value).map_err(|e| TikTokError::Protocol(format!("token reply: {e}")))?;
        Ok(TokenGrant {
            open_id: raw.open_id,
            access_token: SecretToken::new(raw.access_token),
            refresh_token: SecretToken::new(raw.refresh_token),
            expires_in: raw.expires_in,
            refresh_expires_in: raw.refresh_expires_in,
            scopes: raw.scope.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        })
    }

    /// An OAuth POST (token, revoke) through the endpoint's circuit breaker: a TikTok whose
    /// OAuth endpoint keeps failing is not asked again by every refresh and callback for a
    /// while, so none of them waits out its timeout.
    async fn oauth_post(&self, path: &'static str, form: &[(&str, &str)]) -> Result<Value, TikTokError> {
        let url = format!("{}{path}", self.endpoints.api_base);
        self.guarded(path, async {
            let response = self
                .http
                .post(&url)
                .header(header::CACHE_CONTROL, "no-cache")
                .form(form)
                .send()
                .await
                .map_err(transport_error)?;
            let status = response.status();
            let retry_after = retry_after(response.headers());
            let body = response.bytes().await.map_err(transport_error)?;
            parse_oauth_reply(status, retry_after, &body)
        })
        .await
    }

    /// Sends an idempotent request, retrying transient failures twice with jittered backoff.
    pub(super) async fn with_retries<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        build: impl Fn() -> RequestBuilder,
    ) -> Result<T, TikTokError> {
        let mut attempt = 0;
        loop {
            let result = self.guarded(endpoint, async {
                let response = build().send().await.map_err(transport_error)?;
                let status = response.status();
                let retry_after = retry_after(response.headers());
                let body = response.bytes().await.map_err(transport_error)?;
                parse_resource_reply(status, retry_after, &body)
            })
            .await;
            match result {
                Err(TikTokError::Transient(reason)) if attempt < 2 => {
                    attempt += 1;
                    tracing::debug!(attempt, reason, "retrying a TikTok read after a transient failure");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                other => return other,
            }
        }
    }
}

impl TikTokClient {
    /// Runs one call through `endpoint`'s circuit breaker.
    async fn guarded<T>(
        &self,
        endpoint: &'static str,
        call: impl Future<Output = Result<T, TikTokError>>,
    ) -> Result<T, TikTokError> {
        if let Err(wait) = self.breakers.admit(endpoint, std::time::Instant::now()) {
            return Err(TikTokError::Transient(format!(
                "calls to TikTok's {endpoint} endpoint are paused for {} s after repeated failures",
                wait.as_secs().max(1)
            )));
        }
        // A call dropped before it answers (its caller gave up) counts as a failure, so a
        // half-open circuit never waits for a trial that will not report.
        struct Unfinished<'a>(Option<(&'a super::breaker::Breakers, &'static str)>);
        impl Drop for Unfinished<'_> {
            fn drop(&mut self) {
                if let Some((breakers, endpoint)) = self.0.take() {
                    breakers.record(endpoint, true, std::time::Instant::now());
                }
            }
        }
        let mut unfinished = Unfinished(Some((&self.breakers, endpoint)));
        let started = std::time::Instant::now();
        let result = call.await;
        crate::metrics::tiktok_call(endpoint, &result, started.elapsed());
        unfinished.0 = None;
        let transient = matches!(result, Err(TikTokError::Transient(_) | TikTokError::ReplyLost(_)));
        self.breakers.record(endpoint, transient, std::time::Instant::now());
        result
    }
}

/// How an upload PUT's HTTP status counts in the metrics.
fn upload_status_result(status: StatusCode) -> Result<(), TikTokError> {
    match status {
        StatusCode::CREATED | StatusCode::PARTIAL_CONTENT | StatusCode::RANGE_NOT_SATISFIABLE => Ok(()),
        status if status.is_server_error() => Err(TikTokError::Transient(String::new())),
        status => Err(TikTokError::Rejected { status: status.as_u16(), code: String::new(), message: String::new(), log_id: None }),
    }
}

fn source_info(plan: &ChunkPlan) -> Value {
    serde_json::json!({
        "source": "FILE_UPLOAD",
        "video_size": plan.video_size,
        "chunk_size": plan.chunk_size,
        "total_chunk_count": plan.total_chunk_count,
    })
}

fn pull_source_info(video_url: &str) -> Value {
    serde_json::json!({ "source": "PULL_FROM_URL", "video_url": video_url })
}

/// `Content-Range: bytes 0-{last}/{total}` on upload replies → bytes received so far.
fn uploaded_bytes(headers: &header::HeaderMap) -> Option<u64> {
    let value = headers.get(header::CONTENT_RANGE)?.to_str().ok()?;
    let range = value.strip_prefix("bytes ")?.split('/').next()?;
    if range == "*" {
        return Some(0);
    }
    range.split('-').nth(1)?.parse::<u64>().ok().map(|last| last + 1)
}

/// 250 ms, 1 s, … with ±25 % jitter so many callers do not retry in step.
fn backoff(attempt: u32) -> Duration {
    use rand::Rng as _;
    let base = 250u64 * 4u64.pow(attempt.saturating_sub(1));
    let jitter = rand::rng().random_range(0.75..1.25);
    Duration::from_millis((base as f64 * jitter) as u64)
}

fn transport_error(error: reqwest::Error) -> TikTokError {
    // Never echo URLs: upload URLs carry tokens in their query.
    let error = error.without_url();
    if error.is_timeout() {
        TikTokError::Transient("timed out".into())
    } else if error.is_connect() {
        TikTokError::Transient("could not connect".into())
    } else {
        TikTokError::Transient(format!("connection failed: {error}"))
    }
}

fn retry_after(headers: &header::HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// OAuth replies: an error iff the body has a non-empty string `error` (whatever the status).
pub(crate) fn parse_oauth_reply(status: StatusCode, retry: Option<Duration>, body: &[u8]) -> Result<Value, TikTokError> {
    if status == StatusCode::TOO_MANY_REQUESTS {
        return Err(TikTokError::RateLimited { retry_after: retry });
    }
    let value: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        match serde_json::from_slice(body) {
            Ok(value) => value,
            Err(_) if status.is_server_error() => return Err(TikTokError::Transient(format!("HTTP {status}"))),
            Err(_) => return Err(TikTokError::Protocol(format!("HTTP {status} with a body that is not JSON"))),
        }
    };
    if let Some(code) = value.get("error").and_then(Value::as_str).filter(|code| !code.is_empty()) {
        let message = value.get("error_description").and_then(Value::as_str).unwrap_or_default().to_owned();
        let log_id = value.get("log_id").and_then(Value::as_str).map(str::to_owned);
        return Err(match code {
            "invalid_grant" => TikTokError::Unauthorized { code: code.to_owned(), message },
            "server_error" | "temporarily_unavailable" => TikTokError::Transient(format!("{code}: {message}")),
            _ => TikTokError::Rejected { status: status.as_u16(), code: code.to_owned(), message, log_id },
        });
    }
    if status.is_server_error() {
        return Err(TikTokError::Transient(format!("HTTP {status}")));
    }
    if !status.is_success() {
        return Err(TikTokError::Protocol(format!("HTTP {status} without an error code")));
    }
    Ok(value)
}

/// Resource replies: success only with `error.code == "ok"`; the code decides the variant.
pub(crate) fn parse_resource_reply<T: DeserializeOwned>(
    status: StatusCode,
    retry: Option<Duration>,
    body: &[u8],
) -> Result<T, TikTokError> {
    let envelope: Envelope = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(_) if status == StatusCode::TOO_MANY_REQUESTS => return Err(TikTokError::RateLimited { retry_after: retry }),
        Err(_) if status.is_server_error() => return Err(TikTokError::Transient(format!("HTTP {status}"))),
        Err(e) => return Err(TikTokError::Protocol(format!("HTTP {status}: {e}"))),
    };
    let ApiError { code, message, log_id } = envelope.error;
    match code.as_str() {
        "ok" if status.is_success() => {
            let data = envelope.data.unwrap_or(Value::Null);
            serde_json::from_value(data).map_err(|e| TikTokError::Protocol(format!("unexpected data: {e}")))
        }
        "rate_limit_exceeded" => Err(TikTokError::RateLimited { retry_after: retry }),
        _ if status == StatusCode::TOO_MANY_REQUESTS => Err(TikTokError::RateLimited { retry_after: retry }),
        "access_token_invalid" | "scope_not_authorized" => Err(TikTokError::Unauthorized { code, message }),
        "internal_error" => Err(TikTokError::Transient(format!("internal_error: {message}"))),
        _ if status.is_server_error() => Err(TikTokError::Transient(format!("HTTP {status}: {code}"))),
        _ => Err(TikTokError::Rejected { status: status.as_u16(), code, message, log_id }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn oauth(status: u16, body: &str) -> Result<Value, TikTokError> {
        parse_oauth_reply(StatusCode::from_u16(status).unwrap(), None, body.as_bytes())
    }

    fn resource(status: u16, body: &str) -> Result<Value, TikTokError> {
        parse_resource_reply(StatusCode::from_u16(status).unwrap(), Some(Duration::from_secs(7)), body.as_bytes())
    }

    #[test]
    fn oauth_errors_are_read_from_the_body_even_with_http_200() {
        let error = oauth(200, r#"{"error":"invalid_grant","error_description":"Refresh token is invalid.","log_id":"x"}"#);
        assert_eq!(
            error.unwrap_err(),
            TikTokError::Unauthorized { code: "invalid_grant".into(), message: "Refresh token is invalid.".into() }
        );
        let error = oauth(200, r#"{"error":"invalid_request","error_description":"Redirect_uri is not matched.","log_id":"L1"}"#);
        assert!(matches!(error.unwrap_err(), TikTokError::Rejected { code, log_id: Some(_), .. } if code == "invalid_request"));
        assert!(matches!(oauth(200, r#"{"error":"temporarily_unavailable"}"#), Err(TikTokError::Transient(_))));
    }

    #[test]
    fn oauth_success_and_empty_revoke_replies() {
        assert!(oauth(200, r#"{"access_token":"act.x","error":""}"#).is_ok());
        assert_eq!(oauth(200, "").unwrap(), serde_json::json!({}));
        assert!(matches!(oauth(502, "<html>bad gateway</html>"), Err(TikTokError::Transient(_))));
        assert!(matches!(oauth(429, ""), Err(TikTokError::RateLimited { .. })));
    }

    #[test]
    fn resource_replies_succeed_only_with_code_ok() {
        let ok = resource(200, r#"{"data":{"a":1},"error":{"code":"ok","message":"","log_id":"L"}}"#);
        assert_eq!(ok.unwrap(), serde_json::json!({"a":1}));
        // creator_info answers caps with HTTP 200 and a spam code.
        let capped = resource(200, r#"{"data":{},"error":{"code":"spam_risk_too_many_posts","message":"m","log_id":"L"}}"#);
        assert!(matches!(capped.unwrap_err(), TikTokError::Rejected { status: 200, code, .. } if code == "spam_risk_too_many_posts"));
    }

    #[test]
    fn resource_errors_map_to_their_kind() {
        let unauthorized = resource(401, r#"{"data":{},"error":{"code":"access_token_invalid","message":"The access token is invalid or not found in the request.","log_id":"L"}}"#);
        assert!(matches!(unauthorized.unwrap_err(), TikTokError::Unauthorized { code, .. } if code == "access_token_invalid"));
        let limited = resource(429, r#"{"data":{},"error":{"code":"rate_limit_exceeded","message":"","log_id":"L"}}"#);
        assert_eq!(limited.unwrap_err(), TikTokError::RateLimited { retry_after: Some(Duration::from_secs(7)) });
        assert!(matches!(resource(500, r#"{"error":{"code":"internal_error","message":"","log_id":"L"}}"#), Err(TikTokError::Transient(_))));
        assert!(matches!(resource(503, "Service Unavailable"), Err(TikTokError::Transient(_))));
        let unknown = resource(403, r#"{"error":{"code":"brand_new_code","message":"m","log_id":"L"}}"#);
        assert!(matches!(unknown.unwrap_err(), TikTokError::Rejected { status: 403, code, .. } if code == "brand_new_code"));
        assert!(matches!(resource(200, "not json"), Err(TikTokError::Protocol(_))));
    }

    #[test]
    fn upload_progress_is_read_from_content_range() {
        let mut headers = header::HeaderMap::new();
        headers.insert(header::CONTENT_RANGE, "bytes 0-9999999/50000123".parse().unwrap());
        assert_eq!(uploaded_bytes(&headers), Some(10_000_000));
        headers.insert(header::CONTENT_RANGE, "bytes */50000123".parse().unwrap());
        assert_eq!(uploaded_bytes(&headers), Some(0));
        assert_eq!(uploaded_bytes(&header::HeaderMap::new()), None);
    }

    #[test]
    fn direct_post_bodies_carry_every_choice_and_the_chunk_plan() {
        let post = PostInfo {
            title: "a #cat video @tiktok".into(),
            privacy_level: "SELF_ONLY".into(),
            disable_duet: true,
            disable_stitch: true,
            disable_comment: false,
            video_cover_timestamp_ms: Some(1000),
            brand_content_toggle: false,
            brand_organic_toggle: true,
            is_aigc: false,
        };
        let plan = ChunkPlan::for_size(50_000_123).unwrap();
        let body = serde_json::json!({ "post_info": post, "source_info": source_info(&plan) });
        assert_eq!(body["post_info"]["privacy_level"], "SELF_ONLY");
        assert_eq!(body["post_info"]["video_cover_timestamp_ms"], 1000);
        assert_eq!(body["source_info"]["total_chunk_count"], 1);
        assert_eq!(body["source_info"]["chunk_size"], 50_000_123);
    }

    #[test]
    fn backoff_grows_and_jitters_within_bounds() {
        for _ in 0..20 {
            let first = backoff(1).as_millis();
            let second = backoff(2).as_millis();
            assert!((187..=312).contains(&first), "{first}");
            assert!((750..=1250).contains(&second), "{second}");
        }
    }

    #[test]
    fn authorize_urls_carry_every_parameter_encoded() {
        let client = TikTokClient::new(TikTokEndpoints {
            api_base: "http://127.0.0.1:1".into(),
            authorize_base: "/sandbox/tiktok".into(),
            client_key: "ck".into(),
            client_secret: "cs".to_owned().into(),
            scopes: vec!["user.info.basic".into(), "video.upload".into()],
        })
        .unwrap();
        let url = client.authorize_url("http://127.0.0.1:3000/oauth/tiktok/callback", "st*te");
        assert!(url.starts_with("/sandbox/tiktok/v2/auth/authorize/?client_key=ck&response_type=code&scope=user.info.basic%2Cvideo.upload&"), "{url}");
        assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A3000%2Foauth%2Ftiktok%2Fcallback"));
        assert!(url.contains("&state=st*te&"));
        assert!(url.ends_with("disable_auto_auth=1"));
        assert!(!url.contains("cs"), "the client secret never goes to the browser");
        assert_eq!(client.consent_origin(), None, "a relative consent page needs no CSP entry");
    }

    #[test]
    fn the_consent_origin_is_scheme_and_host_of_the_authorize_base() {
        let client = |base: &str| {
            TikTokClient::new(TikTokEndpoints {
                api_base: "http://127.0.0.1:1".into(),
                authorize_base: base.into(),
                client_key: "ck".into(),
                client_secret: "cs".to_owned().into(),
                scopes: vec!["user.info.basic".into()],
            })
            .unwrap()
        };
        assert_eq!(client("https://www.tiktok.com").consent_origin().as_deref(), Some("https://www.tiktok.com"));
        assert_eq!(client("http://127.0.0.1:4100/tiktok").consent_origin().as_deref(), Some("http://127.0.0.1:4100"));
    }
}
