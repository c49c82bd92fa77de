//! What every contract test shares: a sandbox behind an in-process router, a client that speaks
//! TikTok's protocol to it, and assertions on TikTok's reply shapes.

pub use std::sync::{Arc, Mutex};
pub use std::time::{Duration, Instant};

pub use axum::Router;
pub use axum::body::Body;
pub use axum::http::{HeaderMap, Request, StatusCode, header};
pub use bytes::Bytes;
pub use http_body_util::BodyExt as _;
pub use sandbox::synthetic::{SyntheticVideo, mp4_header};
pub use sandbox::{Endpoint, Fault, FaultKind, Sandbox, SandboxConfig};
pub use serde_json::{Value, json};
pub use tower::ServiceExt as _;

pub const BASE: &str = "http://sandbox.test/tiktok";
pub const REDIRECT: &str = "https://cadence.test/auth/tiktok/callback";
pub const ALL_SCOPES: &str = "user.info.basic,user.info.profile,user.info.stats,video.list,video.upload,video.publish";
pub const MAYA: &str = "Maya Public";
pub const LEO: &str = "Leo Private";
pub const SAM: &str = "Short Clips Sam";

/// The sandbox most tests run against: an app approved for every scope with [`REDIRECT`]
/// registered, processing and moderation at once, `uploaded_bytes` without lag, no webhook
/// retries. Tests of the strict defaults start from [`SandboxConfig::default`] instead.
pub fn config() -> SandboxConfig {
    SandboxConfig {
        public_base_url: BASE.to_owned(),
        approved_scopes: ALL_SCOPES.split(',').map(str::to_owned).collect(),
        registered_redirect_uris: vec![REDIRECT.to_owned()],
        moderation_delay: Duration::ZERO,
        uploaded_bytes_lag: Duration::ZERO,
        processing_delay: Duration::ZERO,
        webhook_retry_delays: Vec::new(),
        ..SandboxConfig::default()
    }
}

pub struct Harness {
    pub sandbox: Sandbox,
    pub router: Router,
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|error| panic!("not JSON ({error}): {}", self.text()))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

#[derive(Clone, Debug)]
pub struct Tokens {
    pub access: String,
    pub refresh: String,
    pub open_id: String,
    pub scope: String,
}

impl Harness {
    pub fn new(config: SandboxConfig) -> Self {
        let sandbox = Sandbox::new(config);
        let router = sandbox.router();
        Self { sandbox, router }
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.expect("body").to_bytes();
        Reply { status, headers, body }
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    pub async fn form(&self, uri: &str, pairs: &[(&str, &str)]) -> Reply {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::CACHE_CONTROL, "no-cache")
            .body(Body::from(body))
            .unwrap();
        self.send(request).await
    }

    pub async fn api_get(&self, uri: &str, token: &str) -> Reply {
        let request =
            Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}")).body(Body::empty()).unwrap();
        self.send(request).await
    }

    pub async fn api_post(&self, uri: &str, token: &str, body: &Value) -> Reply {
        let request = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(Body::from(body.to_string()))
            .unwrap();
        self.send(request).await
    }

    pub fn open_id(&self, display_name: &str) -> String {
        self.sandbox.creators().into_iter().find(|creator| creator.display_name == display_name).unwrap().open_id
    }

    /// The consent page for `scope`, as Cadence's "Connect TikTok" link would open it.
    pub async fn authorize_page(&self, scope: &str, state: &str) -> Reply {
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
    pub async fn consent(&self, display_name: &str, scope: &str, ticked: &[&str]) -> Vec<(String, String)> {
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

    pub async fn exchange(&self, code: &str, redirect_uri: &str) -> Reply {
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

    pub async fn refresh(&self, refresh_token: &str) -> Reply {
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

    pub async fn revoke(&self, access_token: &str) -> Reply {
        self.form(
            "/v2/oauth/revoke/",
            &[("client_key", "sbx_client_key"), ("client_secret", "sbx_client_secret"), ("token", access_token)],
        )
        .await
    }

    /// The whole OAuth flow for one creator, granting every requested scope.
    pub async fn connect(&self, display_name: &str, scope: &str) -> Tokens {
        let ticked: Vec<&str> = scope.split(',').collect();
        let params = self.consent(display_name, scope, &ticked).await;
        let reply = self.exchange(param(&params, "code"), REDIRECT).await;
        assert_eq!(reply.status, StatusCode::OK);
        tokens(&reply.json())
    }

    pub async fn creator_info(&self, token: &str) -> Reply {
        let request = Request::post("/v2/post/publish/creator_info/query/")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json; charset=UTF-8")
            .body(Body::empty())
            .unwrap();
        self.send(request).await
    }

    pub async fn direct_init(&self, token: &str, privacy: &str, video_size: u64, chunk_size: u64) -> Reply {
        let body = json!({
            "post_info": { "title": "sandbox #test", "privacy_level": privacy, "disable_comment": false },
            "source_info": file_upload(video_size, chunk_size),
        });
        self.api_post("/v2/post/publish/video/init/", token, &body).await
    }

    pub async fn inbox_init(&self, token: &str, video_size: u64, chunk_size: u64) -> Reply {
        let body = json!({ "source_info": file_upload(video_size, chunk_size) });
        self.api_post("/v2/post/publish/inbox/video/init/", token, &body).await
    }

    pub async fn status(&self, token: &str, publish_id: &str) -> Reply {
        self.api_post("/v2/post/publish/status/fetch/", token, &json!({ "publish_id": publish_id })).await
    }

    /// Polls until the status is `want` (status/fetch allows 30 calls a minute, so gently).
    pub async fn wait_for_status(&self, token: &str, publish_id: &str, want: &str) -> Value {
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

    pub async fn put(&self, upload_url: &str, video: &Video, first: u64, last: u64) -> Reply {
        let request = Request::put(relative(upload_url))
            .header(header::CONTENT_TYPE, "video/mp4")
            .header(header::CONTENT_LENGTH, (last - first + 1).to_string())
            .header(header::CONTENT_RANGE, format!("bytes {first}-{last}/{}", video.0.size))
            .body(video.body(first, last))
            .unwrap();
        self.send(request).await
    }

    /// Sends every chunk in order, checking the 206s and the final 201.
    pub async fn upload(&self, upload_url: &str, video: &Video, chunk_size: u64) {
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
    pub async fn post_video(&self, token: &str, privacy: &str, video: &Video) -> String {
        let reply = self.direct_init(token, privacy, video.0.size, video.0.size).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
        let data = &reply.json()["data"];
        self.upload(data["upload_url"].as_str().unwrap(), video, video.0.size).await;
        data["publish_id"].as_str().unwrap().to_owned()
    }
}

pub fn file_upload(video_size: u64, chunk_size: u64) -> Value {
    json!({
        "source": "FILE_UPLOAD",
        "video_size": video_size,
        "chunk_size": chunk_size,
        "total_chunk_count": video_size / chunk_size,
    })
}

pub fn tokens(body: &Value) -> Tokens {
    Tokens {
        access: body["access_token"].as_str().unwrap_or_else(|| panic!("no token in {body}")).to_owned(),
        refresh: body["refresh_token"].as_str().unwrap().to_owned(),
        open_id: body["open_id"].as_str().unwrap().to_owned(),
        scope: body["scope"].as_str().unwrap().to_owned(),
    }
}

pub fn hidden_request_id(html: &str) -> String {
    let marker = "name=\"request_id\" value=\"";
    let start = html.find(marker).expect("request_id field") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn callback_params(location: &str) -> Vec<(String, String)> {
    let (base, query) = location.split_once('?').expect("query in callback");
    assert_eq!(base, REDIRECT);
    form_urlencoded::parse(query.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

pub fn param<'a>(params: &'a [(String, String)], key: &str) -> &'a str {
    params.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str()).unwrap_or_else(|| panic!("no {key}"))
}

pub fn relative(upload_url: &str) -> &str {
    upload_url.strip_prefix(BASE).unwrap_or_else(|| panic!("upload_url {upload_url} is not under {BASE}"))
}

pub fn assert_log_id(log_id: &str) {
    assert_eq!(log_id.len(), 34, "{log_id}");
    assert!(log_id[..14].bytes().all(|byte| byte.is_ascii_digit()), "{log_id}");
    assert!(log_id[14..].bytes().all(|byte| byte.is_ascii_digit() || (b'A'..=b'F').contains(&byte)), "{log_id}");
    assert!(log_id.starts_with("20"), "{log_id}");
}

pub fn assert_api_error(reply: &Reply, status: StatusCode, code: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|message| !message.is_empty()), "{body}");
    assert_log_id(body["error"]["log_id"].as_str().unwrap());
}

pub fn assert_oauth_error(reply: &Reply, status: StatusCode, error: &str) {
    assert_eq!(reply.status, status, "{}", reply.text());
    let body = reply.json();
    assert_eq!(body["error"], error, "{body}");
    assert!(body["error_description"].as_str().is_some_and(|text| !text.is_empty()));
    assert_log_id(body["log_id"].as_str().unwrap());
    assert!(body.get("data").is_none(), "OAuth errors are flat: {body}");
}

/// A synthetic video, streamed to the sandbox in 64 KiB pieces so no test holds a whole chunk.
pub struct Video(pub SyntheticVideo);

impl Video {
    pub fn mp4(duration_secs: u32, size: u64) -> Self {
        Self(SyntheticVideo::mp4(duration_secs, size))
    }

    pub fn raw(header: &[u8], size: u64) -> Self {
        Self(SyntheticVideo::raw(header, size))
    }

    pub fn body(&self, first: u64, last: u64) -> Body {
        let pieces = self.0.pieces(first, last, 64 * 1024).map(Ok::<_, std::io::Error>);
        Body::from_stream(futures_util::stream::iter(pieces))
    }
}
