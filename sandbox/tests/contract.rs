//! The sandbox's contract, driven the way a real TikTok client drives TikTok: OAuth, Display API,
//! Content Posting (init, chunked PUT, status, cancel), faults, recording and signed webhooks.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use bytes::Bytes;
use hmac::{Hmac, Mac};
use http_body_util::BodyExt as _;
use sandbox::{Endpoint, Fault, FaultKind, Sandbox, SandboxConfig, synthetic::{SyntheticVideo, mp4_header}};
use serde_json::{Value, json};
use sha2::Sha256;
use tower::ServiceExt as _;

const BASE: &str = "http://sandbox.test/tiktok";
const REDIRECT: &str = "https://cadence.test/auth/tiktok/callback";
const ALL_SCOPES: &str = "user.info.basic,user.info.profile,user.info.stats,video.list,video.upload,video.publish";
const MAYA: &str = "Maya Public";
const LEO: &str = "Leo Private";
const SAM: &str = "Short Clips Sam";

// ---------------------------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------------------------

fn config() -> SandboxConfig {
    SandboxConfig {
        public_base_url: BASE.to_owned(),
        processing_delay: Duration::ZERO,
        webhook_retry_delays: Vec::new(),
        ..SandboxConfig::default()
    }
}

struct Harness {
    sandbox: Sandbox,
    router: Router,
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

#[derive(Clone, Debug)]
struct Tokens {
    access: String,
    refresh: String,
    open_id: String,
    scope: String,
}

impl Harness {
    fn new(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let router = sandbox.router();
        Self { sandbox, router }
    }

    async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        Reply { status, headers, body }
    }

    async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    async fn form(&self, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    async fn api_get(&self, uri: &str, token: &str) -> Reply {
        let request =
            Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
        self.send(request).await
    }

    async fn api_post(&self, uri: &str, token: &str, body: &Value) -> Reply {
        let request = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    fn open_id(&self, display_name: &str) -> String {
        self.sandbox.creators().into_iter().find(|creator| creator.display_name == display_name).unwrap().open_id
    }

    /// The consent page for `scope`, as Cadence's "Connect TikTok" link would open it.
    async fn authorize_page(&self, scope: &str, state: &str) -> Reply {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_key", "sbx_client_key"),
                ("response_type", "code"),
                ("scope", scope),
                ("redirect_uri", REDIRECT),
                ("state", state),
            ])
            .finish();
        self.get(&format!("/v2/auth/authorize/?{query}")).await
    }

    /// Clicks through the consent page as `display_name`, ticking only `ticked` of the requested
    /// scopes; returns the callback's query parameters.
    async fn consent(&self, display_name: &str, scope: &str, ticked: &[&str]) -> Vec<(String, String)> {
        let page = self.authorize_page(scope, "csrf-state-1").await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text());
        let request_id = hidden_request_id(&page.text());
        let open_id = self.open_id(display_name);
        let mut pairs = vec![("request_id", request_id.as_str()), ("open_id", open_id.as_str())];
        pairs.extend(ticked.iter().map(|scope| ("scope", *scope)));
        let reply = self.form("/v2/auth/authorize/", &pairs).await;
        assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
        callback_params(reply.header("location").unwrap())
    }

    async fn exchange(&self, code: &str, redirect_uri: &str) -> Reply {
        self.form(
            "/v2/oauth/token/",
            &[
                ("client_key", "sbx_client_key"),
                ("client_secret", "sbx_client_secret"),
                ("code", code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", redirect_uri),
            ],
        )
        .await
    }

    async fn refresh(&self, refresh_token: &str) -> Reply {
        self.form(
            "/v2/oauth/token/",
            &[
                ("client_key", "sbx_client_key"),
                ("client_secret", "sbx_client_secret"),
                ("grant_type", "refresh_token"),
                ("refresh_token", refresh_token),
            ],
        )
        .await
    }

    async fn revoke(&self, access_token: &str) -> Reply {
        self.form(
            "/v2/oauth/revoke/",
            &[("client_key", "sbx_client_key"), ("client_secret", "sbx_client_secret"), ("token", access_token)],
        )
        .await
    }

    /// The whole OAuth flow for one creator, granting every requested scope.
    async fn connect(&self, display_name: &str, scope: &str) -> Tokens {
        let ticked: Vec<&str> = scope.split(',').collect();
        let params = self.consent(display_name, scope, &ticked).await;
        let reply = self.exchange(param(&params, "code"), REDIRECT).await;
        assert_eq!(reply.status, StatusCode::OK);
        tokens(&reply.json())
    }

    async fn creator_info(&self, token: &str) -> Reply {
        let request = Request::post("/v2/post/publish/creator_info/query/")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    async fn direct_init(&self, token: &str, privacy: &str, video_size: u64, chunk_size: u64) -> Reply {
        let body = json!({
            "post_info": { "title": "sandbox #test", "privacy_level": privacy, "disable_comment": false },
            "source_info": file_upload(video_size, chunk_size),
        });
        self.api_post("/v2/post/publish/video/init/", token, &body).await
    }

    async fn inbox_init(&self, token: &str, video_size: u64, chunk_size: u64) -> Reply {
        let body = json!({ "source_info": file_upload(video_size, chunk_size) });
        self.api_post("/v2/post/publish/inbox/video/init/", token, &body).await
    }

    async fn status(&self, token: &str, publish_id: &str) -> Reply {
        self.api_post("/v2/post/publish/status/fetch/", token, &json!({ "publish_id": publish_id })).await
    }

    /// Polls until the status is `want` (status/fetch allows 30 calls a minute, so gently).
    async fn wait_for_status(&self, token: &str, publish_id: &str, want: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let reply = self.status(token, publish_id).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
            let body = reply.json();
            if body["data"]["status"] == want {
                return body;
            }
            assert!(Instant::now() < deadline, "still {} instead of {want}", body["data"]["status"]);
            tokio::time::sleep(Duration::from_millis(40)).await;
        }
    }

    async fn put(&self, upload_url: &str, video: &Video, first: u64, last: u64) -> Reply {
        let request = Request::put(relative(upload_url))
            .header(header::CONTENT_TYPE, "video/mp4")
            .header(header::CONTENT_LENGTH, (last - first + 1).to_string())
            .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{}", video.0.size))
            .body(video.body(first, last))
            .unwrap();
        self.send(request).await
    }

    /// Sends every chunk in order, checking the 206s and the final 201.
    async fn upload(&self, upload_url: &str, video: &Video, chunk_size: u64) {
        let count = video.0.size / chunk_size;
        for index in 0..count {
            let first = index * chunk_size;
            let last = if index + 1 == count { video.0.size - 1 } else { first + chunk_size - 1 };
            let reply = self.put(upload_url, video, first, last).await;
            let expected = if index + 1 == count { StatusCode::CREATED } else { StatusCode::PARTIAL_CONTENT };
            assert_eq!(reply.status, expected, "chunk {index}: {}", reply.text());
            assert_eq!(reply.header("content-range"), Some(format!("bytes 0-{last}/{}", video.0.size).as_str()));
        }
    }

    /// Init + upload of a single-chunk video; returns the publish id.
    async fn post_video(&self, token: &str, privacy: &str, video: &Video) -> String {
        let reply = self.direct_init(token, privacy, video.0.size, video.0.size).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let data = &reply.json()["data"];
        self.upload(data["upload_url"].as_str().unwrap(), video, video.0.size).await;
        data["publish_id"].as_str().unwrap().to_owned()
    }
}

fn file_upload(video_size: u64, chunk_size: u64) -> Value {
    json!({
        "source": "FILE_UPLOAD",
        "video_size": video_size,
        "chunk_size": chunk_size,
        "total_chunk_count": video_size / chunk_size,
    })
}

fn tokens(body: &Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().unwrap_or_else(|| panic!("no token in {body}")).to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        open_id: body["open_id"].as_str().unwrap().to_owned(),
        scope: body["scope"].as_str().unwrap().to_owned(),
    }
}

fn hidden_request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("request_id field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

fn callback_params(location: &str) -> Vec<(String, String)> {
    let (base, query) = location.split_once('?').expect("query in callback");
    assert_eq!(base, REDIRECT);
    form_urlencoded::parse(query.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

fn param<'a>(params: &'a [(String, String)], key: &str) -> &'a str {
    params.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str()).unwrap_or_else(|| panic!("no {key}"))
}

fn relative(upload_url: &str) -> &str {
    upload_url.strip_prefix(BASE).unwrap_or_else(|| panic!("upload_url {upload_url} is not under {BASE}"))
}

fn assert_log_id(log_id: &str) {
    assert_eq!(log_id.len(), 34, "{log_id}");
    assert!(log_id[..14].bytes().all(|byte| byte.is_ascii_digit()), "{log_id}");
    assert!(log_id[14..].bytes().all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte)), "{log_id}");
    assert!(log_id.starts_with("20"), "{log_id}");
}

fn assert_api_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
    assert_log_id(body["error"]["log_id"].as_str().unwrap());
}

fn assert_oauth_error(reply: &Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].as_str().is_some_and(|text| !text.is_empty()));
    assert_log_id(body["log_id"].as_str().unwrap());
    assert!(body.get("data").is_none(), "OAuth errors are flat: {body}");
}

/// A synthetic video, streamed to the sandbox in 64 KiB pieces so no test holds a whole chunk.
struct Video(SyntheticVideo);

impl Video {
    fn mp4(duration_secs: u32, size: u64) -> Self {
        Self(SyntheticVideo::mp4(duration_secs, size))
    }

    fn raw(header: &[u8], size: u64) -> Self {
        Self(SyntheticVideo::raw(header, size))
    }

    fn body(&self, first: u64, last: u64) -> Body {
        let pieces = self.0.pieces(first, last, 64 * 1024).map(Ok::<_, std::io::Error>);
        Body::from_stream(futures_util::stream::iter(pieces))
    }
}

// ---------------------------------------------------------------------------------------------
// OAuth
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn consent_page_lists_requested_scopes_and_every_creator() {
    let h = Harness::new(config());
    let page = h.authorize_page("user.info.basic,video.publish,video.upload", "s").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let html = page.text();
    for creator in h.sandbox.creators() {
        assert!(html.contains(&creator.display_name), "{} missing", creator.display_name);
        assert!(html.contains(&format!("value=\"{}\"", creator.open_id)));
    }
    assert!(html.contains("name=\"scope\" value=\"video.publish\" checked"));
    assert!(html.contains("name=\"scope\" value=\"video.upload\" checked"));
    assert!(!html.contains("value=\"video.list\""), "only requested scopes are offered");
    assert!(html.contains("user.info.basic"));
    assert!(html.contains(">Authorize</button>") && html.contains(">Cancel</a>"));
    assert!(!html.contains("<script") && !html.contains("style="), "the host CSP forbids inline scripts and styles");
}

#[tokio::test]
async fn full_code_flow_with_a_partial_grant() {
    let h = Harness::new(config());
    let params = h.consent(MAYA, "user.info.basic,video.publish,video.list", &["video.publish"]).await;
    assert_eq!(param(&params, "state"), "csrf-state-1");
    assert_eq!(param(&params, "scopes"), "user.info.basic,video.publish", "video.list was unticked");
    let code = param(&params, "code");
    assert!(code.contains('*') && code.contains('!'), "codes need URL-decoding: {code}");

    let reply = h.exchange(code, REDIRECT).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert!(body.get("data").is_none() && body.get("error").is_none(), "flat JSON: {body}");
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "open_id", "refresh_expires_in", "refresh_token", "scope", "token_type"]
    );
    assert!(body["access_token"].as_str().unwrap().starts_with("act."));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("rft."));
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["refresh_expires_in"], 15_552_000);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["open_id"], h.open_id(MAYA));
    assert_eq!(body["scope"], "user.info.basic,video.publish");

    // The token works, and the code cannot be spent twice.
    let tokens = tokens(&body);
    let info = h.api_get("/v2/user/info/?fields=open_id,display_name", &tokens.access).await;
    assert_eq!(info.json()["data"]["user"]["display_name"], MAYA);
    assert_oauth_error(&h.exchange(code, REDIRECT).await, StatusCode::OK, "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_must_match_the_authorize_request() {
    let h = Harness::new(config());
    let params = h.consent(LEO, "user.info.basic", &[]).await;
    let code = param(&params, "code");
    let reply = h.exchange(code, "https://cadence.test/other/callback").await;
    assert_oauth_error(&reply, StatusCode::OK, "invalid_request");
    assert_eq!(reply.json()["error_description"], "Redirect_uri is not matched with the uri when requesting code.");
    // The mismatch did not spend the code.
    assert_eq!(h.exchange(code, REDIRECT).await.status, StatusCode::OK);
    assert_oauth_error(&h.exchange("made-up*code!0000", REDIRECT).await, StatusCode::OK, "invalid_grant");
}

#[tokio::test]
async fn authorize_request_errors_show_an_error_page() {
    let h = Harness::new(config());
    let cases = [
        (
            "client_key=nope&response_type=code&scope=user.info.basic&redirect_uri=https%3A%2F%2Fa.test%2Fcb&state=s",
            "invalid_client",
        ),
        ("response_type=code&scope=user.info.basic&redirect_uri=https%3A%2F%2Fa.test%2Fcb&state=s", "invalid_request"),
        (
            "client_key=sbx_client_key&response_type=token&scope=user.info.basic&redirect_uri=https%3A%2F%2Fa.test%2Fcb&state=s",
            "unsupported_response_type",
        ),
        (
            "client_key=sbx_client_key&response_type=code&scope=user.info.basic%20video.publish&redirect_uri=https%3A%2F%2Fa.test%2Fcb&state=s",
            "invalid_scope",
        ),
        (
            "client_key=sbx_client_key&response_type=code&scope=user.info.basic&redirect_uri=%2Fcb&state=s",
            "invalid_request",
        ),
        (
            "client_key=sbx_client_key&response_type=code&scope=user.info.basic&redirect_uri=https%3A%2F%2Fa.test%2Fcb",
            "invalid_request",
        ),
    ];
    for (query, error) in cases {
        let reply = h.get(&format!("/v2/auth/authorize/?{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        assert!(reply.header("location").is_none(), "no redirect for {query}");
        assert!(reply.text().contains(error), "{query}: {}", reply.text());
    }
}

#[tokio::test]
async fn cancel_redirects_with_access_denied() {
    let h = Harness::new(config());
    let page = h.authorize_page("user.info.basic", "keep-me").await;
    let html = page.text();
    let request_id = hidden_request_id(&html);
    assert!(html.contains(&format!("href=\"./?cancel={request_id}\"")));
    let reply = h.get(&format!("/v2/auth/authorize/?cancel={request_id}")).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let params = callback_params(reply.header("location").unwrap());
    assert_eq!(param(&params, "error"), "access_denied");
    assert!(!param(&params, "error_description").is_empty());
    assert_eq!(param(&params, "state"), "keep-me");
    // The request is answered; authorizing it afterwards fails.
    let late = h.form("/v2/auth/authorize/", &[("request_id", &request_id), ("open_id", &h.open_id(MAYA))]).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_endpoint_refuses_bad_clients_and_grants() {
    let h = Harness::new(config());
    let wrong_key = h
        .form(
            "/v2/oauth/token/",
            &[
                ("client_key", "x"),
                ("client_secret", "sbx_client_secret"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "rft.x"),
            ],
        )
        .await;
    assert_oauth_error(&wrong_key, StatusCode::OK, "invalid_client");
    let no_secret =
        h.form("/v2/oauth/token/", &[("client_key", "sbx_client_key"), ("grant_type", "refresh_token")]).await;
    assert_oauth_error(&no_secret, StatusCode::OK, "invalid_request");
    assert_eq!(no_secret.json()["error_description"], "Client secret is missed in request.");
    let wrong_secret = h
        .form(
            "/v2/oauth/token/",
            &[("client_key", "sbx_client_key"), ("client_secret", "nope"), ("grant_type", "refresh_token")],
        )
        .await;
    assert_oauth_error(&wrong_secret, StatusCode::OK, "invalid_client");
    let grant = h
        .form(
            "/v2/oauth/token/",
            &[("client_key", "sbx_client_key"), ("client_secret", "sbx_client_secret"), ("grant_type", "password")],
        )
        .await;
    assert_oauth_error(&grant, StatusCode::OK, "unsupported_grant_type");
    let json_body = Request::post("/v2/oauth/token/")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"client_key":"sbx_client_key"}"#))
        .unwrap();
    assert_oauth_error(&h.send(json_body).await, StatusCode::OK, "invalid_request");
    let unknown_refresh = h.refresh("rft.unknown").await;
    assert_oauth_error(&unknown_refresh, StatusCode::OK, "invalid_grant");
    let client = h
        .form(
            "/v2/oauth/token/",
            &[
                ("client_key", "sbx_client_key"),
                ("client_secret", "sbx_client_secret"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert!(client.json()["access_token"].as_str().unwrap().starts_with("clt."));

    // The OAuth error status is a switch.
    let strict = Harness::new(SandboxConfig { oauth_error_status: 400, ..config() });
    assert_oauth_error(&strict.refresh("rft.unknown").await, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let h = Harness::new(config());
    let first = h.connect(MAYA, "user.info.basic,video.publish").await;
    let reply = h.refresh(&first.refresh).await;
    assert_eq!(reply.status, StatusCode::OK);
    let second = tokens(&reply.json());
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(second.open_id, first.open_id);
    assert_eq!(second.scope, first.scope);
    assert_eq!(h.creator_info(&second.access).await.status, StatusCode::OK);
    // A new access token does not end the older one; only its own TTL does.
    assert_eq!(h.creator_info(&first.access).await.status, StatusCode::OK);
    assert_oauth_error(&h.refresh(&first.refresh).await, StatusCode::OK, "invalid_grant");
    assert_eq!(h.refresh(&second.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_kills_every_token_of_the_grant() {
    let h = Harness::new(config());
    let tokens = h.connect(LEO, "user.info.basic,video.publish").await;
    let reply = h.revoke(&tokens.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({}));
    assert_api_error(&h.creator_info(&tokens.access).await, StatusCode::UNAUTHORIZED, "access_token_invalid");
    assert_oauth_error(&h.refresh(&tokens.refresh).await, StatusCode::OK, "invalid_grant");
    assert_oauth_error(&h.revoke(&tokens.access).await, StatusCode::OK, "invalid_grant");
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let h = Harness::new(SandboxConfig { access_token_ttl: Duration::from_millis(200), ..config() });
    // Started before the token exists, so "elapsed < TTL" proves the token is still alive.
    let started = Instant::now();
    let tokens = h.connect(MAYA, "user.info.basic").await;
    assert_eq!(tokens.scope, "user.info.basic");
    let reply = h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await;
    if started.elapsed() < Duration::from_millis(200) {
        assert_eq!(reply.status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    // Refreshing still works: the refresh token has its own, longer life.
    let fresh = tokens_from(&h.refresh(&tokens.refresh).await);
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &fresh.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_set_latency_delays_api_replies_and_can_be_taken_back() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic").await;
    h.sandbox.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150), "answered after {:?}", started.elapsed());
    h.sandbox.set_latency(Duration::ZERO);
    let started = Instant::now();
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(150), "still delayed: {:?}", started.elapsed());
}

fn tokens_from(reply: &Reply) -> Tokens {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    tokens(&reply.json())
}

// ---------------------------------------------------------------------------------------------
// Envelope, bearer, scopes, user info
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn envelope_shape_and_fresh_log_ids() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, ALL_SCOPES).await;
    let reply = h.api_get("/v2/user/info/?fields=open_id,union_id,avatar_url,display_name", &tokens.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["error"]["code"], "ok");
    assert_eq!(body["error"]["message"], "");
    let log_id = body["error"]["log_id"].as_str().unwrap();
    assert_log_id(log_id);
    assert_eq!(reply.header("x-tt-logid"), Some(log_id));
    let user = body["data"]["user"].as_object().unwrap();
    assert_eq!(user.len(), 4, "only the requested fields: {body}");
    assert_eq!(user["open_id"], tokens.open_id);
    assert!(user["avatar_url"].as_str().unwrap().starts_with(&format!("{BASE}/_sandbox/avatars/")));

    let again = h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.json();
    assert_ne!(again["error"]["log_id"], body["error"]["log_id"]);

    let error = h.api_get("/v2/user/info/?fields=open_id", "act.nope").await;
    assert_api_error(&error, StatusCode::UNAUTHORIZED, "access_token_invalid");
    assert_eq!(error.json()["data"], json!({}), "errors keep an empty data object");
}

#[tokio::test]
async fn bearer_then_scope_then_validation() {
    let h = Harness::new(config());
    let basic = h.connect(MAYA, "user.info.basic").await;
    let no_header = h.send(Request::get("/v2/user/info/?fields=open_id").body(Body::empty()).unwrap()).await;
    assert_api_error(&no_header, StatusCode::UNAUTHORIZED, "access_token_invalid");
    let basic_scheme = h
        .send(
            Request::get("/v2/user/info/?fields=open_id")
                .header(header::AUTHORIZATION, format!("Basic {}", basic.access))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_api_error(&basic_scheme, StatusCode::UNAUTHORIZED, "access_token_invalid");
    // A bad token wins over a missing scope, and a missing scope over a bad body.
    assert_api_error(
        &h.api_post("/v2/post/publish/video/init/", "act.bad", &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    assert_api_error(
        &h.api_post("/v2/post/publish/video/init/", &basic.access, &json!("garbage")).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_api_error(&h.creator_info(&basic.access).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");
    assert_api_error(&h.inbox_init(&basic.access, 1000, 1000).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");
    assert_api_error(
        &h.api_post("/v2/video/list/?fields=id", &basic.access, &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    // Profile and stats fields need their own scopes (the 2024 scope migration).
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=open_id,username", &basic.access).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=follower_count", &basic.access).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=shoe_size", &basic.access).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(&h.api_get("/v2/user/info/", &basic.access).await, StatusCode::BAD_REQUEST, "invalid_params");

    let full = h.connect(MAYA, ALL_SCOPES).await;
    let reply = h
        .api_get(
            "/v2/user/info/?fields=username,is_verified,bio_description,profile_deep_link,follower_count,video_count",
            &full.access,
        )
        .await;
    let user = &reply.json()["data"]["user"];
    assert_eq!(user["username"], "maya.public");
    assert_eq!(user["is_verified"], true);
    assert!(user["follower_count"].as_u64().unwrap() > 0);
    assert_eq!(user["video_count"], 0);
}

// ---------------------------------------------------------------------------------------------
// creator_info and init
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn creator_info_reflects_each_fixture() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let data = h.creator_info(&maya.access).await.json()["data"].clone();
    assert_eq!(data["creator_nickname"], MAYA);
    assert_eq!(data["creator_username"], "maya.public");
    assert_eq!(data["privacy_level_options"], json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]));
    assert_eq!(data["max_video_post_duration_sec"], 600);
    assert_eq!((data["comment_disabled"].clone(), data["duet_disabled"].clone()), (json!(false), json!(false)));
    let avatar = data["creator_avatar_url"].as_str().unwrap();
    let svg = h.get(relative(avatar)).await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text().starts_with("<svg"));

    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let data = h.creator_info(&leo.access).await.json()["data"].clone();
    assert_eq!(data["privacy_level_options"], json!(["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]));
    assert_eq!((data["duet_disabled"].clone(), data["stitch_disabled"].clone()), (json!(true), json!(true)));
    assert_eq!(data["max_video_post_duration_sec"], 300);

    // Posting conditions come back with HTTP 200 and must be read from error.code.
    for (name, code) in [
        ("Capped Carla", "spam_risk_too_many_posts"),
        ("Banned Ben", "spam_risk_user_banned_from_posting"),
        ("Quota Quinn", "reached_active_user_cap"),
    ] {
        let tokens = h.connect(name, "user.info.basic,video.publish").await;
        assert_api_error(&h.creator_info(&tokens.access).await, StatusCode::OK, code);
        assert_api_error(&h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await, StatusCode::FORBIDDEN, code);
    }
}

#[tokio::test]
async fn rate_limit_allows_six_inits_a_minute() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    for attempt in 0..6 {
        let reply = h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await;
        assert_eq!(reply.status, StatusCode::OK, "init {attempt}: {}", reply.text());
    }
    assert_api_error(
        &h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    // The limit comes before validation.
    assert_api_error(
        &h.api_post("/v2/post/publish/video/init/", &tokens.access, &json!({})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    // Other endpoints have their own window.
    assert_eq!(h.creator_info(&tokens.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn direct_post_init_validates_privacy_title_and_source() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let init = |body: Value| {
        let token = tokens.access.clone();
        let h = &h;
        async move { h.api_post("/v2/post/publish/video/init/", &token, &body).await }
    };
    let source = file_upload(1000, 1000);
    assert_api_error(
        &init(json!({ "source_info": source })).await,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
    assert_api_error(
        &init(json!({ "post_info": { "title": "x" }, "source_info": source })).await,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
    assert_api_error(
        &init(json!({ "post_info": { "privacy_level": "FOLLOWER_OF_CREATOR" }, "source_info": source })).await,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
    let long_title = "😀".repeat(1101); // 2202 UTF-16 units
    assert_api_error(
        &init(json!({ "post_info": { "privacy_level": "SELF_ONLY", "title": long_title }, "source_info": source }))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(
        &init(
            json!({ "post_info": { "privacy_level": "SELF_ONLY", "disable_comment": "yes" }, "source_info": source }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(
        &init(json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": { "source": "PULL_FROM_URL", "video_url": "https://cdn.example/v.mp4" } })).await,
        StatusCode::FORBIDDEN,
        "url_ownership_unverified",
    );

    // A fresh creator, because the six calls above used up Maya's minute.
    let sam = h.connect(SAM, "user.info.basic,video.publish").await;
    let exact_title = "😀".repeat(1100); // 2200 UTF-16 units: allowed
    let body = json!({ "post_info": { "privacy_level": "SELF_ONLY", "title": exact_title }, "source_info": source });
    let reply = h.api_post("/v2/post/publish/video/init/", &sam.access, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let data = &reply.json()["data"];
    let publish_id = data["publish_id"].as_str().unwrap();
    let digits = publish_id.strip_prefix("v_pub_file~v2-1.").unwrap();
    assert!(digits.len() == 19 && digits.bytes().all(|byte| byte.is_ascii_digit()), "{publish_id}");
    let upload_url = data["upload_url"].as_str().unwrap();
    assert!(
        upload_url.starts_with(&format!("{BASE}/upload/video/?upload_id=")) && upload_url.contains("&upload_token=")
    );
    let not_json = Request::post("/v2/post/publish/video/init/")
        .header(header::AUTHORIZATION, format!("Bearer {}", sam.access))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_api_error(&h.send(not_json).await, StatusCode::BAD_REQUEST, "invalid_params");
    let form = Request::post("/v2/post/publish/video/init/")
        .header(header::AUTHORIZATION, format!("Bearer {}", sam.access))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("post_info=1"))
        .unwrap();
    assert_api_error(&h.send(form).await, StatusCode::BAD_REQUEST, "invalid_params");
}

/// Init in a sandbox of its own, so no case is cut short by the six-a-minute limit.
async fn init_once(source_info: Value) -> Reply {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let body = json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": source_info });
    h.api_post("/v2/post/publish/video/init/", &tokens.access, &body).await
}

#[tokio::test]
async fn chunk_arithmetic_at_the_boundaries() {
    let source = |video: u64, chunk: u64, count: u64| json!({ "source": "FILE_UPLOAD", "video_size": video, "chunk_size": chunk, "total_chunk_count": count });
    let accepted = [
        (4_999_999, 4_999_999, 1), // under 5 MB: one whole chunk
        (5_000_000, 5_000_000, 1),
        (10_000_000, 5_000_000, 2),      // exact multiple
        (64_000_000, 64_000_000, 1),     // largest single chunk
        (50_000_123, 10_000_000, 5),     // TikTok's example
        (127_999_999, 64_000_000, 1),    // last chunk absorbs the remainder, < 128 MB
        (191_999_999, 64_000_000, 2),    // 64 MB + 127,999,999 last
        (4_000_000_000, 5_000_000, 800), // the size ceiling
    ];
    for (video, chunk, count) in accepted {
        let reply = init_once(source(video, chunk, count)).await;
        assert_eq!(reply.status, StatusCode::OK, "{video}/{chunk}/{count}: {}", reply.text());
    }
    let refused = [
        (9_999_998, 4_999_999, 2, "The chunk size is invalid"), // small chunks only for a sole chunk
        (64_000_001, 64_000_001, 1, "The chunk size is invalid"), // over 64 MB must be split
        (128_000_002, 64_000_001, 2, "The chunk size is invalid"),
        (15_000_000, 5_000_000, 4, "The total chunk count is invalid"), // must be floor(size / chunk)
        (14_999_999, 5_000_000, 3, "The total chunk count is invalid"), // ceil is wrong
        (1000, 2000, 0, "The chunk size is invalid"),
        (4_000_000_001, 5_000_000, 800, "The video size is invalid"),
        (5_005_000_000, 5_000_000, 1001, "The video size is invalid"), // 1001 chunks cannot fit 4 GB
    ];
    for (video, chunk, count, message) in refused {
        let reply = init_once(source(video, chunk, count)).await;
        assert_api_error(&reply, StatusCode::BAD_REQUEST, "invalid_params");
        assert_eq!(reply.json()["error"]["message"], message, "{video}/{chunk}/{count}");
    }
    let missing = init_once(json!({ "source": "FILE_UPLOAD", "video_size": 1000 })).await;
    assert_api_error(&missing, StatusCode::BAD_REQUEST, "invalid_params");
}

#[tokio::test]
async fn unaudited_clients_post_privately_to_private_accounts_only() {
    let h = Harness::new(SandboxConfig { unaudited: true, ..config() });
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    // It is the account that must be private; choosing SELF_ONLY does not help.
    assert_api_error(
        &h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    // creator_info still answers normally: the refusal belongs to init.
    assert_eq!(h.creator_info(&maya.access).await.json()["error"]["code"], "ok");
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 4000);
    let publish_id = h.post_video(&leo.access, "FOLLOWER_OF_CREATOR", &video).await;
    let status = h.wait_for_status(&leo.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_eq!(status["data"]["publicaly_available_post_id"], json!([]), "forced to SELF_ONLY");
}

#[tokio::test]
async fn daily_cap_and_pending_inbox_cap() {
    let h = Harness::new(SandboxConfig { daily_post_cap: 2, pending_inbox_cap: 1, ..config() });
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.upload").await;
    for _ in 0..2 {
        assert_eq!(h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await.status, StatusCode::OK);
    }
    assert_api_error(
        &h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_posts",
    );
    assert_api_error(&h.creator_info(&maya.access).await, StatusCode::OK, "spam_risk_too_many_posts");

    assert_eq!(h.inbox_init(&maya.access, 1000, 1000).await.status, StatusCode::OK);
    assert_api_error(
        &h.inbox_init(&maya.access, 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_pending_share",
    );

    let ben = h.connect("Banned Ben", "user.info.basic,video.upload").await;
    assert_api_error(
        &h.inbox_init(&ben.access, 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "spam_risk_user_banned_from_posting",
    );
    // A capped creator may still share drafts to the inbox.
    let carla = h.connect("Capped Carla", "user.info.basic,video.upload").await;
    assert_eq!(h.inbox_init(&carla.access, 1000, 1000).await.status, StatusCode::OK);
}

// ---------------------------------------------------------------------------------------------
// Upload and status
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn multi_chunk_upload_then_publish_complete() {
    let delay = Duration::from_millis(300);
    let h = Harness::new(SandboxConfig { processing_delay: delay, ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish,video.list").await;
    let video = Video::mp4(30, 10_000_123);
    let init = h.direct_init(&tokens.access, "PUBLIC_TO_EVERYONE", video.0.size, 5_000_000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap().to_owned();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();

    let fetched = h.status(&tokens.access, &publish_id).await.json();
    assert_eq!(fetched["data"]["status"], "PROCESSING_UPLOAD");
    assert_eq!(fetched["data"]["uploaded_bytes"], 0);

    // Out of order first: the last chunk before the first.
    let early = h.put(&url, &video, 5_000_000, 10_000_122).await;
    assert_eq!(early.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(early.header("content-range"), Some("bytes */10000123"));

    let first = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(first.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(first.header("content-range"), Some("bytes 0-4999999/10000123"));
    assert_eq!(h.status(&tokens.access, &publish_id).await.json()["data"]["uploaded_bytes"], 5_000_000);

    // A repeat of the first chunk, or a last chunk cut short, does not match the progress.
    let repeat = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(repeat.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(repeat.header("content-range"), Some("bytes 0-4999999/10000123"));
    let short = h.put(&url, &video, 5_000_000, 9_999_999).await;
    assert_eq!(short.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // Taken before the last byte is sent, so "elapsed < delay" proves processing is not over.
    let sent = Instant::now();
    let last = h.put(&url, &video, 5_000_000, 10_000_122).await;
    assert_eq!(last.status, StatusCode::CREATED);
    assert_eq!(last.header("content-range"), Some("bytes 0-10000122/10000123"));
    let processing = h.status(&tokens.access, &publish_id).await.json();
    if sent.elapsed() < delay {
        assert_eq!(processing["data"]["status"], "PROCESSING_UPLOAD");
        assert_eq!(processing["data"]["publicaly_available_post_id"], json!([]));
    }
    assert_eq!(processing["data"]["uploaded_bytes"], 10_000_123);
    let after = h.put(&url, &video, 5_000_000, 10_000_122).await;
    assert_eq!(after.status, StatusCode::RANGE_NOT_SATISFIABLE, "a complete upload takes no more bytes");

    let done = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert!(done["data"].get("fail_reason").is_none());
    let ids = done["data"]["publicaly_available_post_id"].as_array().unwrap();
    assert_eq!(ids.len(), 1);
    assert!(ids[0].is_u64(), "post ids are JSON numbers: {done}");
    let post_id = ids[0].as_u64().unwrap();
    assert_eq!(post_id.to_string().len(), 19);
    assert!(i64::try_from(post_id).is_ok());

    let list = h
        .api_post(
            "/v2/video/list/?fields=id,title,duration,create_time,share_url",
            &tokens.access,
            &json!({ "max_count": 20 }),
        )
        .await
        .json();
    let videos = list["data"]["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0]["id"], post_id.to_string());
    assert_eq!(videos[0]["duration"], 30);
    assert_eq!(videos[0]["title"], "sandbox #test");
    assert_eq!(list["data"]["has_more"], false);
}

#[tokio::test]
async fn a_small_file_goes_in_one_chunk() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(10, 4_999_999);
    let publish_id = h.post_video(&tokens.access, "MUTUAL_FOLLOW_FRIENDS", &video).await;
    let done = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_eq!(done["data"]["publicaly_available_post_id"], json!([]), "only public posts get an id");
    assert_eq!(done["data"]["uploaded_bytes"], 4_999_999);
}

#[tokio::test]
async fn upload_rejects_bad_headers_and_unknown_urls() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 2000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", 2000, 2000).await.json();
    let url = relative(init["data"]["upload_url"].as_str().unwrap()).to_owned();
    let put = |content_type: &str, length: &str, range: &str, body: Body| {
        let mut request = Request::put(&url).header(header::CONTENT_TYPE, content_type);
        if !length.is_empty() {
            request = request.header(header::CONTENT_LENGTH, length);
        }
        if !range.is_empty() {
            request = request.header(header::CONTENT_RANGE, range);
        }
        request.body(body).unwrap()
    };
    let wrong_type = h.send(put("application/octet-stream", "2000", "bytes 0-1999/2000", video.body(0, 1999))).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_type.header("content-range"), Some("bytes */2000"));
    let no_range = h.send(put("video/mp4", "2000", "", video.body(0, 1999))).await;
    assert_eq!(no_range.status, StatusCode::BAD_REQUEST);
    let lying_length = h.send(put("video/mp4", "2000", "bytes 0-1999/2000", video.body(0, 1998))).await;
    assert_eq!(lying_length.status, StatusCode::BAD_REQUEST, "body shorter than Content-Length");
    let long_body = h.send(put("video/mp4", "2000", "bytes 0-1999/2000", Body::from(vec![0u8; 2001]))).await;
    assert_eq!(long_body.status, StatusCode::BAD_REQUEST, "body longer than Content-Length");
    let length_vs_range = h.send(put("video/mp4", "1999", "bytes 0-1999/2000", video.body(0, 1998))).await;
    assert_eq!(length_vs_range.status, StatusCode::BAD_REQUEST);
    let wrong_total = h.send(put("video/mp4", "2000", "bytes 0-1999/2001", video.body(0, 1999))).await;
    assert_eq!(wrong_total.status, StatusCode::RANGE_NOT_SATISFIABLE);
    // None of that moved the upload forward; a correct chunk still completes it.
    let quicktime = h.send(put("video/quicktime", "2000", "bytes 0-1999/2000", video.body(0, 1999))).await;
    assert_eq!(quicktime.status, StatusCode::CREATED);

    let (path, _) = url.split_once('?').unwrap();
    for query in ["upload_id=1&upload_token=x", "", "upload_token=x"] {
        let reply = h
            .send(
                put("video/mp4", "2000", "bytes 0-1999/2000", video.body(0, 1999)).map_uri(&format!("{path}?{query}")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{query}");
    }
    let wrong_token = url.replace("upload_token=", "upload_token=x");
    let reply = h.send(put("video/mp4", "2000", "bytes 0-1999/2000", video.body(0, 1999)).map_uri(&wrong_token)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

trait MapUri {
    fn map_uri(self, uri: &str) -> Self;
}

impl MapUri for Request<Body> {
    fn map_uri(mut self, uri: &str) -> Self {
        *self.uri_mut() = uri.parse().unwrap();
        self
    }
}

#[tokio::test]
async fn a_second_put_while_a_chunk_streams_is_out_of_order() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 2000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", 2000, 2000).await.json();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    let mut data = mp4_header(5000, Some((720, 1280)), 2000);
    data.resize(2000, 0);

    // The first PUT's body arrives piece by piece through a channel of capacity one.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(1);
    let pieces = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (Ok::<_, std::io::Error>(piece), receiver))
    });
    let first = Request::put(relative(&url))
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, "2000")
        .header(header::CONTENT_RANGE, "bytes 0-1999/2000")
        .body(Body::from_stream(pieces))
        .unwrap();
    let router = h.router.clone();
    let streaming = tokio::spawn(async move { router.oneshot(first).await.unwrap() });
    sender.send(Bytes::copy_from_slice(&data[..500])).await.unwrap();
    // Once this second piece is accepted, the first has been read: the chunk is mid-stream.
    sender.send(Bytes::copy_from_slice(&data[500..1000])).await.unwrap();

    let second = h.put(&url, &video, 0, 1999).await;
    assert_eq!(second.status, StatusCode::RANGE_NOT_SATISFIABLE, "{}", second.text());
    assert_eq!(second.header("content-range"), Some("bytes */2000"));

    sender.send(Bytes::copy_from_slice(&data[1000..])).await.unwrap();
    drop(sender);
    let first = streaming.await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let status =
        h.wait_for_status(&tokens.access, init["data"]["publish_id"].as_str().unwrap(), "PUBLISH_COMPLETE").await;
    assert_eq!(status["data"]["uploaded_bytes"], 2000, "counted once");
}

#[tokio::test]
async fn works_nested_under_a_prefix() {
    let sandbox = Sandbox::new(config());
    let app = Router::new().nest("/sandbox/tiktok", sandbox.router());
    let get = |uri: &str| {
        let app = app.clone();
        let request = Request::get(uri).body(Body::empty()).unwrap();
        async move { app.oneshot(request).await.unwrap() }
    };
    sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind: FaultKind::Status503, count: 1 });
    assert_eq!(get("/sandbox/tiktok/v2/user/info/?fields=open_id").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(get("/sandbox/tiktok/v2/user/info/?fields=open_id").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/sandbox/tiktok/v2/nothing/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get("/sandbox/tiktok/_sandbox/").await.status(), StatusCode::OK);
    let svg = get(&format!("/sandbox/tiktok/_sandbox/avatars/{}.svg", sandbox.creators()[0].open_id)).await;
    assert_eq!(svg.status(), StatusCode::OK);
    let paths: Vec<String> = sandbox.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, ["/v2/user/info/", "/v2/user/info/", "/v2/nothing/"], "paths are relative to the sandbox");
}

#[tokio::test]
async fn upload_urls_expire() {
    let h = Harness::new(SandboxConfig { upload_url_ttl: Duration::from_millis(100), ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 2000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", 2000, 2000).await.json();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let reply = h.put(init["data"]["upload_url"].as_str().unwrap(), &video, 0, 1999).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.header("content-range"), Some("bytes */2000"));
}

#[tokio::test]
async fn processing_fails_for_non_video_bytes_and_overlong_videos() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let not_video = Video::raw(b"GIF89a this is a picture, not a video", 3000);
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &not_video).await;
    let failed = h.wait_for_status(&maya.access, &publish_id, "FAILED").await;
    assert_eq!(failed["data"]["fail_reason"], "file_format_check_failed");
    assert_eq!(failed["data"]["publicaly_available_post_id"], json!([]));

    let sam = h.connect(SAM, "user.info.basic,video.publish").await;
    let publish_id = h.post_video(&sam.access, "PUBLIC_TO_EVERYONE", &Video::mp4(61, 3000)).await;
    let failed = h.wait_for_status(&sam.access, &publish_id, "FAILED").await;
    assert_eq!(failed["data"]["fail_reason"], "duration_check_failed");
    let publish_id = h.post_video(&sam.access, "PUBLIC_TO_EVERYONE", &Video::mp4(60, 3000)).await;
    h.wait_for_status(&sam.access, &publish_id, "PUBLISH_COMPLETE").await;

    let webm = Video::raw(&[0x1A, 0x45, 0xDF, 0xA3, 0x42, 0x86, 0x81, 0x01], 3000);
    let publish_id = h.post_video(&sam.access, "SELF_ONLY", &webm).await;
    h.wait_for_status(&sam.access, &publish_id, "PUBLISH_COMPLETE").await;
}

#[tokio::test]
async fn inbox_uploads_land_in_the_inbox() {
    let h = Harness::new(config());
    let tokens = h.connect(LEO, "user.info.basic,video.upload").await;
    let video = Video::mp4(20, 6000);
    let init = h.inbox_init(&tokens.access, video.0.size, video.0.size).await;
    assert_eq!(init.status, StatusCode::OK, "{}", init.text());
    let data = init.json()["data"].clone();
    let publish_id = data["publish_id"].as_str().unwrap();
    assert!(publish_id.starts_with("v_inbox_file~v2."), "{publish_id}");
    h.upload(data["upload_url"].as_str().unwrap(), &video, video.0.size).await;
    let status = h.wait_for_status(&tokens.access, publish_id, "SEND_TO_USER_INBOX").await;
    assert_eq!(status["data"]["publicaly_available_post_id"], json!([]));
    // video.upload alone may not direct-post.
    assert_api_error(
        &h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn status_fetch_refuses_unknown_and_foreign_publish_ids() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let init = h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap();
    assert_api_error(
        &h.status(&maya.access, "v_pub_file~v2-1.0000000000000000000").await,
        StatusCode::BAD_REQUEST,
        "invalid_publish_id",
    );
    assert_api_error(
        &h.status(&leo.access, publish_id).await,
        StatusCode::BAD_REQUEST,
        "token_not_authorized_for_specified_publish_id",
    );
    assert_api_error(
        &h.api_post("/v2/post/publish/status/fetch/", &maya.access, &json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
}

#[tokio::test]
async fn cancel_works_only_while_uploading() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 10_000_000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", video.0.size, 5_000_000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap().to_owned();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    assert_eq!(h.put(&url, &video, 0, 4_999_999).await.status, StatusCode::PARTIAL_CONTENT);

    let cancel = h.api_post("/v2/post/publish/cancel/", &tokens.access, &json!({ "publish_id": publish_id })).await;
    assert_eq!(cancel.status, StatusCode::OK);
    let body = cancel.json();
    assert_eq!(body["error"]["code"], "ok");
    assert!(body.get("data").is_none(), "cancel answers with error only: {body}");
    let status = h.status(&tokens.access, &publish_id).await.json();
    assert_eq!(status["data"]["status"], "FAILED");
    assert_eq!(status["data"]["fail_reason"], "publish_cancelled");
    assert_eq!(h.put(&url, &video, 5_000_000, 9_999_999).await.status, StatusCode::NOT_FOUND);

    let again = h.api_post("/v2/post/publish/cancel/", &tokens.access, &json!({ "publish_id": publish_id })).await;
    assert_api_error(&again, StatusCode::BAD_REQUEST, "publish_not_cancellable");
    assert!(again.json().get("data").is_none());

    let small = Video::mp4(5, 1000);
    let done_id = h.post_video(&tokens.access, "SELF_ONLY", &small).await;
    let late = h.api_post("/v2/post/publish/cancel/", &tokens.access, &json!({ "publish_id": done_id })).await;
    assert_api_error(&late, StatusCode::BAD_REQUEST, "publish_not_cancellable");
    let unknown =
        h.api_post("/v2/post/publish/cancel/", &tokens.access, &json!({ "publish_id": "v_pub_file~v2-1.1" })).await;
    assert_api_error(&unknown, StatusCode::BAD_REQUEST, "invalid_publish_id");
    assert!(unknown.json().get("data").is_none());
}

#[tokio::test]
async fn video_list_pages_newest_first_with_a_millisecond_cursor() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish,video.list,user.info.stats").await;
    let mut post_ids = Vec::new();
    for seconds in [11, 12, 13] {
        let publish_id = h.post_video(&tokens.access, "PUBLIC_TO_EVERYONE", &Video::mp4(seconds, 1000)).await;
        let done = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
        post_ids.push(done["data"]["publicaly_available_post_id"][0].as_u64().unwrap().to_string());
    }
    // A private post is not listed.
    h.post_video(&tokens.access, "SELF_ONLY", &Video::mp4(5, 1000)).await;

    let list = |body: Value| {
        let token = tokens.access.clone();
        let h = &h;
        async move { h.api_post("/v2/video/list/?fields=id,create_time,duration", &token, &body).await }
    };
    let page = list(json!({ "max_count": 2 })).await.json();
    let videos = page["data"]["videos"].as_array().unwrap();
    assert_eq!(
        videos.iter().map(|video| video["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [&post_ids[2], &post_ids[1]]
    );
    assert_eq!(videos[0]["duration"], 13);
    assert_eq!(page["data"]["has_more"], true);
    let cursor = page["data"]["cursor"].as_i64().unwrap();
    assert!(cursor > 1_600_000_000_000, "cursor is Unix milliseconds: {cursor}");
    assert_eq!(videos[1]["create_time"].as_i64().unwrap(), cursor / 1000, "create_time is seconds");

    let next = list(json!({ "cursor": cursor, "max_count": 2 })).await.json();
    let videos = next["data"]["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0]["id"], post_ids[0].as_str());
    assert_eq!(next["data"]["has_more"], false);

    assert_api_error(&list(json!({ "max_count": 21 })).await, StatusCode::BAD_REQUEST, "invalid_params");
    assert_api_error(
        &h.api_post("/v2/video/list/?fields=id,colour", &tokens.access, &json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    let count = h.api_get("/v2/user/info/?fields=video_count", &tokens.access).await.json();
    assert_eq!(count["data"]["user"]["video_count"], 4);
}

// ---------------------------------------------------------------------------------------------
// Faults, recording, admin, routing
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn faults_are_consumed_exactly_count_times() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let info = || h.api_get("/v2/user/info/?fields=open_id", &tokens.access);
    for (kind, status, code) in [
        (FaultKind::Status429, StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded"),
        (FaultKind::Status500, StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        (FaultKind::Status503, StatusCode::SERVICE_UNAVAILABLE, "internal_error"),
        (FaultKind::AccessTokenInvalid, StatusCode::UNAUTHORIZED, "access_token_invalid"),
    ] {
        h.sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind, count: 2 });
        assert_api_error(&info().await, status, code);
        assert_api_error(&info().await, status, code);
        assert_eq!(info().await.status, StatusCode::OK, "{kind:?} was used up");
    }
    // Faults are per endpoint, or for any endpoint.
    h.sandbox.inject(Fault { endpoint: Endpoint::StatusFetch, kind: FaultKind::Status500, count: 1 });
    assert_eq!(info().await.status, StatusCode::OK);
    h.sandbox.inject(Fault { endpoint: Endpoint::Any, kind: FaultKind::Status503, count: 1 });
    assert_eq!(h.creator_info(&tokens.access).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_api_error(&h.status(&tokens.access, "x").await, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    // OAuth endpoints fail in their own shape.
    h.sandbox.inject(Fault { endpoint: Endpoint::OauthToken, kind: FaultKind::Status503, count: 1 });
    assert_oauth_error(&h.refresh(&tokens.refresh).await, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert_eq!(h.refresh(&tokens.refresh).await.status, StatusCode::OK, "the refresh token survived the outage");

    // The admin API queues and clears faults.
    let post = Request::post("/_sandbox/faults")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"endpoint":"user_info","kind":"status_500","count":5}"#))
        .unwrap();
    let queued = h.send(post).await;
    assert_eq!(queued.status, StatusCode::CREATED);
    assert_eq!(queued.json()[0]["count"], 5);
    assert_eq!(h.sandbox.faults().len(), 1);
    let delete = h.send(Request::delete("/_sandbox/faults").body(Body::empty()).unwrap()).await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    assert!(h.sandbox.faults().is_empty());
}

#[tokio::test]
async fn a_dropped_upload_leaves_the_progress_unchanged() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 10_000_000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", video.0.size, 5_000_000).await.json();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    h.sandbox.inject(Fault { endpoint: Endpoint::Upload, kind: FaultKind::DropConnection, count: 1 });
    let request = Request::put(relative(&url))
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, "5000000")
        .header(header::CONTENT_RANGE, "bytes 0-4999999/10000000")
        .body(video.body(0, 4_999_999))
        .unwrap();
    let response = h.router.clone().oneshot(request).await.unwrap();
    assert!(response.into_body().collect().await.is_err(), "the reply never completes");
    let recorded = h.sandbox.requests().into_iter().last().unwrap();
    assert_eq!((recorded.fault, recorded.status), (Some(FaultKind::DropConnection), None));
    // The client resends the same chunk, as it should after a network error.
    let retry = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(retry.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(retry.header("content-range"), Some("bytes 0-4999999/10000000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_over_tcp_a_dropped_connection_is_a_network_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sandbox = Sandbox::new(SandboxConfig { public_base_url: format!("http://{address}"), ..config() });
    let server = tokio::spawn(sandbox::serve(listener, sandbox.clone()));
    let client = reqwest::Client::new();
    let url = format!("http://{address}/v2/user/info/?fields=open_id");
    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), reqwest::StatusCode::UNAUTHORIZED);
    sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind: FaultKind::DropConnection, count: 1 });
    let dropped = async { client.get(&url).send().await?.bytes().await };
    assert!(dropped.await.is_err(), "the client sees a broken connection");
    assert_eq!(client.get(&url).send().await.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);
    server.abort();
}

#[tokio::test]
async fn a_timeout_fault_hangs_the_request() {
    let h = Harness::new(config());
    h.sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind: FaultKind::Timeout, count: 1 });
    let hanging = h.router.clone().oneshot(Request::get("/v2/user/info/?fields=open_id").body(Body::empty()).unwrap());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), hanging).await.is_err(),
        "no reply within the client's timeout"
    );
    assert!(h.sandbox.faults().is_empty(), "the fault was consumed");
    let reply = h.get("/v2/user/info/?fields=open_id").await;
    assert_api_error(&reply, StatusCode::UNAUTHORIZED, "access_token_invalid");
    let recorded = h.sandbox.requests();
    assert_eq!(recorded[recorded.len() - 2].status, None, "the abandoned request got no reply");
}

#[tokio::test]
async fn requests_are_recorded_and_shown() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 1500);
    h.post_video(&tokens.access, "SELF_ONLY", &video).await;
    h.api_get("/v2/user/info/?fields=username", &tokens.access).await;

    let requests = h.sandbox.requests();
    let paths: Vec<&str> = requests.iter().map(|request| request.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v2/auth/authorize/",
            "/v2/auth/authorize/",
            "/v2/oauth/token/",
            "/v2/post/publish/video/init/",
            "/upload/video/",
            "/v2/user/info/"
        ]
    );
    let token = &requests[2];
    assert_eq!(token.method, "POST");
    assert!(token.body.as_deref().unwrap().contains("grant_type=authorization_code"));
    assert_eq!(token.headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(token.status, Some(200));
    let init = &requests[3];
    assert_eq!(init.headers["authorization"], format!("Bearer {}", tokens.access));
    assert!(init.body.as_deref().unwrap().contains("\"privacy_level\":\"SELF_ONLY\""));
    let upload = &requests[4];
    assert_eq!(upload.method, "PUT");
    assert!(upload.query.as_deref().unwrap().starts_with("upload_id="));
    assert_eq!(upload.headers["content-range"], "bytes 0-1499/1500");
    assert!(!upload.headers.contains_key("authorization"));
    assert_eq!(upload.body, None, "video bytes are not recorded");
    assert_eq!(upload.status, Some(201));
    let info = &requests[5];
    assert_eq!((info.status, info.error_code.as_deref()), (Some(401), Some("scope_not_authorized")));
    assert_eq!(info.query.as_deref(), Some("fields=username"));

    let json = h.get("/_sandbox/requests").await.json();
    assert_eq!(json.as_array().unwrap().len(), requests.len(), "the control room does not record itself");
    assert_eq!(json[5]["error_code"], "scope_not_authorized");
    let page = h.get("/_sandbox/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for needle in [
        MAYA,
        "Banned Ben",
        "/v2/post/publish/video/init/",
        "SELF_ONLY",
        "scope_not_authorized",
        "user.info.basic, video.publish",
    ] {
        assert!(html.contains(needle), "{needle} missing from the admin page");
    }
    assert!(!html.contains(&tokens.access), "tokens are not shown");
    assert!(!html.contains("<script") && !html.contains("style="));
    assert_eq!(h.sandbox.requests().len(), requests.len());
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let h = Harness::new(config());
    for path in ["/v2/user/info", "/v2/oauth/token", "/v2/nothing/", "/upload/video", "/_sandbox/avatars/nobody.svg"] {
        assert_eq!(h.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(h.get("/v2/oauth/token/").await.status, StatusCode::METHOD_NOT_ALLOWED);
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Default)]
struct Receiver {
    deliveries: Arc<Mutex<Vec<(HeaderMap, Bytes)>>>,
    failures_left: Arc<Mutex<u32>>,
}

async fn receive_webhook(
    axum::extract::State(receiver): axum::extract::State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    receiver.deliveries.lock().unwrap().push((headers, body));
    let mut failures = receiver.failures_left.lock().unwrap();
    if *failures > 0 {
        *failures -= 1;
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

/// Checks `TikTok-Signature` the way the docs tell receivers to, and returns the envelope.
fn verify(headers: &HeaderMap, body: &[u8]) -> Value {
    let header = headers.get("tiktok-signature").expect("signature header").to_str().unwrap();
    let mut timestamp = "";
    let mut signature = "";
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value,
            Some(("s", value)) => signature = value,
            _ => {}
        }
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(b"sbx_client_secret").unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    mac.verify_slice(&hex::decode(signature).unwrap()).expect("valid signature");
    let now = time_now();
    assert!((now - timestamp.parse::<i64>().unwrap()).abs() < 300, "fresh timestamp");
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    serde_json::from_slice(body).unwrap()
}

fn time_now() -> i64 {
    i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()).unwrap()
}

fn events(receiver: &Receiver) -> Vec<(String, Value, Value)> {
    receiver
        .deliveries
        .lock()
        .unwrap()
        .iter()
        .map(|(headers, body)| {
            let envelope = verify(headers, body);
            let content: Value =
                serde_json::from_str(envelope["content"].as_str().expect("content is a string")).unwrap();
            (envelope["event"].as_str().unwrap().to_owned(), envelope, content)
        })
        .collect()
}

async fn wait_for_events(receiver: &Receiver, count: usize) -> Vec<(String, Value, Value)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let events = events(receiver);
        if events.len() >= count {
            return events;
        }
        assert!(Instant::now() < deadline, "only {} of {count} deliveries: {events:?}", events.len());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhooks_are_signed_and_retried() {
    let receiver = Receiver { failures_left: Arc::new(Mutex::new(1)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route("/tiktok/webhook", axum::routing::post(receive_webhook)).with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let h = Harness::new(SandboxConfig {
        webhook_url: Some(format!("http://{address}/tiktok/webhook")),
        webhook_retry_delays: vec![Duration::from_millis(50), Duration::from_millis(50)],
        processing_delay: Duration::from_millis(100),
        ..config()
    });
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 2000)).await;

    // complete (refused once, then retried) + publicly_available. Deliveries run
    // independently (TikTok promises no order either), so look events up by name.
    let events = wait_for_events(&receiver, 3).await;
    let (name, envelope, content) =
        events.iter().find(|(name, _, _)| name == "post.publish.complete").expect("a complete event");
    assert_eq!(name, "post.publish.complete");
    assert_eq!(envelope["client_key"], "sbx_client_key");
    assert_eq!(envelope["user_openid"], maya.open_id);
    assert!(envelope["create_time"].is_i64());
    assert_eq!(content["publish_id"], publish_id.as_str());
    assert_eq!(content["publish_type"], "DIRECT_PUBLISH");
    // Whichever delivery came first was refused once and delivered again.
    let names: Vec<&str> = events.iter().map(|(name, _, _)| name.as_str()).collect();
    let count = |event: &str| names.iter().filter(|name| **name == event).count();
    let (complete, public) = (count("post.publish.complete"), count("post.publish.publicly_available"));
    assert_eq!(complete + public, 3, "{names:?}");
    assert!(complete == 2 || public == 2, "retried after the 500: {names:?}");
    let (_, _, public) = events.iter().find(|(name, _, _)| name == "post.publish.publicly_available").unwrap();
    let status = h.status(&maya.access, &publish_id).await.json();
    assert_eq!(public["post_id"], status["data"]["publicaly_available_post_id"][0]);
    let retried = h.sandbox.webhook_deliveries().into_iter().find(|delivery| delivery.attempts.len() == 2).unwrap();
    assert_eq!(retried.attempts.iter().map(|attempt| attempt.status).collect::<Vec<_>>(), [Some(500), Some(200)]);
    assert!(retried.delivered);

    // A cancelled upload and a developer revoke.
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let init = h.direct_init(&leo.access, "SELF_ONLY", 10_000_000, 5_000_000).await.json();
    let cancelled = init["data"]["publish_id"].as_str().unwrap();
    h.api_post("/v2/post/publish/cancel/", &leo.access, &json!({ "publish_id": cancelled })).await;
    let events = wait_for_events(&receiver, 4).await;
    let (name, _, content) = &events[3];
    assert_eq!((name.as_str(), content["reason"].as_str()), ("post.publish.failed", Some("publish_cancelled")));

    let in_flight = h.direct_init(&leo.access, "SELF_ONLY", 10_000_000, 5_000_000).await.json();
    let in_flight = in_flight["data"]["publish_id"].as_str().unwrap();
    assert_eq!(h.revoke(&leo.access).await.json(), json!({}));
    let events = wait_for_events(&receiver, 6).await;
    let removed = events.iter().find(|(name, _, _)| name == "authorization.removed").unwrap();
    assert_eq!(removed.1["user_openid"], leo.open_id);
    assert_eq!(removed.2, json!({ "reason": 5 }));
    let failed = events
        .iter()
        .find(|(name, _, content)| name == "post.publish.failed" && content["publish_id"] == in_flight)
        .unwrap();
    assert_eq!(failed.2["reason"], "auth_removed");

    // The user removing the app in TikTok is reason 1.
    h.sandbox.revoke_creator(&maya.open_id);
    let events = wait_for_events(&receiver, 7).await;
    assert_eq!(events[6].0, "authorization.removed");
    assert_eq!(events[6].2, json!({ "reason": 1 }));
    assert_api_error(&h.creator_info(&maya.access).await, StatusCode::UNAUTHORIZED, "access_token_invalid");
    server.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_delivery_gives_up_after_the_last_retry() {
    let receiver = Receiver { failures_left: Arc::new(Mutex::new(u32::MAX)), ..Receiver::default() };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let app = Router::new().route("/hook", axum::routing::post(receive_webhook)).with_state(receiver.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let h = Harness::new(SandboxConfig {
        webhook_url: Some(format!("http://{address}/hook")),
        webhook_retry_delays: vec![Duration::from_millis(10), Duration::from_millis(10)],
        ..config()
    });
    let leo = h.connect(LEO, "user.info.basic").await;
    h.sandbox.revoke_creator(&leo.open_id);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let deliveries = h.sandbox.webhook_deliveries();
        if deliveries.first().is_some_and(|delivery| delivery.attempts.len() == 3) {
            assert!(!deliveries[0].delivered);
            break;
        }
        assert!(Instant::now() < deadline, "{deliveries:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(receiver.deliveries.lock().unwrap().len(), 3, "one attempt and two retries, then silence");
    server.abort();
}
