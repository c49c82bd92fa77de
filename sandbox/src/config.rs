//! The switches that decide how the sandbox behaves where TikTok's own behaviour is unknown or varies.

use std::time::Duration;

/// How the sandbox behaves. The defaults follow the stricter, newer TikTok documentation
/// (2 h access tokens, 180 d refresh tokens, strict rotation, OAuth errors with HTTP 200), and,
/// where TikTok's behaviour is unknown, the strictest documented reading.
#[derive(Clone, Debug)]
pub struct SandboxConfig {
    /// The only client key the sandbox knows.
    pub client_key: String,
    /// The matching secret; also the HMAC key for webhook signatures.
    pub client_secret: String,
    /// Absolute URL where [`crate::Sandbox::router`] is reachable, without a trailing slash,
    /// e.g. `http://127.0.0.1:3000/sandbox/tiktok`. Used for `upload_url` and links.
    pub public_base_url: String,
    pub access_token_ttl: Duration,
    /// Counted from the first issuance of a grant; refreshing does not extend it.
    pub refresh_token_ttl: Duration,
    /// When true, a refresh token stops working once it has been used.
    pub strict_rotation: bool,
    /// An app that has not passed TikTok's audit: private accounts only, posts forced to SELF_ONLY,
    /// at most five posting creators per 24 h.
    pub unaudited: bool,
    /// How long an `upload_url` accepts chunks after the init call.
    pub upload_url_ttl: Duration,
    /// After the last chunk, the status stays `PROCESSING_UPLOAD` this long.
    pub processing_delay: Duration,
    /// Direct posts per creator per 24 h before `spam_risk_too_many_posts`.
    pub daily_post_cap: u32,
    /// Un-posted inbox shares per creator per 24 h before `spam_risk_too_many_pending_share`.
    pub pending_inbox_cap: u32,
    /// Where webhook events are POSTed; no webhooks when `None`.
    pub webhook_url: Option<String>,
    /// Pause before each retry after a failed delivery; the number of entries bounds the retries.
    pub webhook_retry_delays: Vec<Duration>,
    /// HTTP status of OAuth error bodies; TikTok has been observed answering them with 200.
    pub oauth_error_status: u16,
    /// Ordinary public creators added after the seeded ones ("Creator 0001", …), for load tests
    /// that need many accounts.
    pub generated_creators: usize,
    /// How many requests the request log keeps (the newest); a soak raises it to check every call.
    pub request_log_limit: usize,
    /// The scopes the TikTok app is approved for. TikTok refuses a whole authorize request that
    /// names any other scope, even a known one (`error=invalid_scope` on the redirect).
    pub approved_scopes: Vec<String>,
    /// The redirect URIs registered in the developer portal. An authorize request must name one
    /// exactly; an entry that breaks TikTok's rules (https, or plain-http loopback with a port; no
    /// query, no fragment, under 512 characters) never matches.
    pub registered_redirect_uris: Vec<String>,
    /// How long a PUBLIC direct post waits in moderation after `PUBLISH_COMPLETE` before its
    /// `publicaly_available_post_id` is given out and `post.publish.publicly_available` is sent.
    pub moderation_delay: Duration,
    /// When false (TikTok's possible behaviour over its 72 h retry span), a retried webhook keeps
    /// the first attempt's `TikTok-Signature`, old `t` included; when true, each try is signed anew.
    pub webhook_resign_retries: bool,
    /// When true, status replies keep `publicaly_available_post_id` empty and no
    /// `post.publish.publicly_available` webhook is sent, as TikTok sometimes never hands out the
    /// id of a public post; the Display API still lists the video. Off by default.
    pub withhold_post_ids: bool,
    /// Every n-th webhook event is delivered twice (TikTok promises at-least-once); 0 never.
    pub webhook_duplicate_every: u32,
    /// Status `uploaded_bytes` counts only chunks acknowledged at least this long ago: a lower
    /// bound, as TikTok defines the field loosely.
    pub uploaded_bytes_lag: Duration,
    /// How long `Timeout` and `Stall` faults hold a request before giving up on it.
    pub fault_hang: Duration,
    /// When set, the `/_sandbox/*` control endpoints require `Authorization: Bearer <token>`.
    pub admin_token: Option<String>,
    /// Seeds the audience: view, like, comment, share and follower counts grow over time as a
    /// pure function of this seed, the video or creator and the time (`audience`).
    pub audience_seed: u64,
    /// Domain properties verified for the app in the developer portal (each covers its
    /// subdomains). None by default: TikTok pulls from nowhere until the operator verifies.
    pub verified_domains: Vec<String>,
    /// URL-prefix properties verified for the app (`https://host/path/`, host not an IP).
    pub verified_url_prefixes: Vec<String>,
    /// Lets a verified prefix and a pulled URL be plain http to a loopback host, because a test or
    /// local run has no certificate. TikTok never allows it; off by default.
    pub allow_loopback_http_pulls: bool,
    /// A PULL_FROM_URL download fails (`video_pull_failed`) this long after it started (1 h, §4.7).
    pub pull_timeout: Duration,
    /// A download fails when the URL sends nothing for this long.
    pub pull_read_timeout: Duration,
    /// Downloads read the file in ranges of this many bytes, as large files are fetched.
    pub pull_range_bytes: u64,
    /// When set, grants, tokens, publishes and rate windows are loaded from this file at start
    /// and written back to it (mode 0600) after changes and by [`crate::Sandbox::save_state`].
    pub state_file: Option<std::path::PathBuf>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            client_key: "sbx_client_key".to_owned(),
            client_secret: "sbx_client_secret".to_owned(),
            public_base_url: "http://127.0.0.1:3000/sandbox/tiktok".to_owned(),
            access_token_ttl: Duration::from_secs(7200),
            refresh_token_ttl: Duration::from_secs(15_552_000),
            strict_rotation: true,
            unaudited: false,
            upload_url_ttl: Duration::from_secs(3600),
            processing_delay: Duration::from_secs(2),
            daily_post_cap: 15,
            pending_inbox_cap: 5,
            webhook_url: None,
            webhook_retry_delays: vec![Duration::from_secs(1), Duration::from_secs(5), Duration::from_secs(30)],
            oauth_error_status: 200,
            generated_creators: 0,
            request_log_limit: 10_000,
            approved_scopes: ["user.info.basic", "video.upload", "video.publish"].map(str::to_owned).to_vec(),
            registered_redirect_uris: vec!["http://127.0.0.1:3000/oauth/tiktok/callback".to_owned()],
            moderation_delay: Duration::from_secs(5),
            webhook_resign_retries: false,
            withhold_post_ids: false,
            webhook_duplicate_every: 0,
            uploaded_bytes_lag: Duration::from_secs(2),
            fault_hang: Duration::from_secs(60),
            admin_token: None,
            audience_seed: 15,
            verified_domains: Vec::new(),
            verified_url_prefixes: Vec::new(),
            allow_loopback_http_pulls: false,
            pull_timeout: Duration::from_secs(3600),
            pull_read_timeout: Duration::from_secs(60),
            pull_range_bytes: 10_000_000,
            state_file: None,
        }
    }
}

impl SandboxConfig {
    /// `public_base_url` without trailing slashes, so paths can be appended with one `/`.
    pub(crate) fn base_url(&self) -> &str {
        self.public_base_url.trim_end_matches('/')
    }

    /// The status for ordinary OAuth errors; an out-of-range setting falls back to TikTok's 200.
    pub(crate) fn oauth_status(&self) -> axum::http::StatusCode {
        axum::http::StatusCode::from_u16(self.oauth_error_status).unwrap_or(axum::http::StatusCode::OK)
    }
}
