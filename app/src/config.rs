//! Settings read from the environment into typed structs, validated once at start.
//!
//! Every variable Cadence reads is listed in `.env.sample`. An unknown `CADENCE_*` name or a value
//! that does not parse stops the server with a message naming the variable, so a typo never turns
//! into a silently ignored setting.

use crate::crypto::{KeyError, TokenCipher};
use std::{path::PathBuf, time::Duration};

/// The whole configuration of one server process.
#[derive(Clone)]
pub struct Config {
    pub database: DatabaseConfig,
    pub http: HttpConfig,
    pub sessions: SessionConfig,
    pub login_limits: LoginLimits,
    /// `CADENCE_SIGNUP`; `None` is open until the first team exists, then invite-only.
    pub signup: Option<crate::auth::signup::SignupPolicy>,
    pub log_format: LogFormat,
    pub data_dir: PathBuf,
    /// Where scheduled posts' videos wait: `<data_dir>/media` unless an S3 bucket is set.
    pub media: MediaConfig,
    pub scheduler_enabled: bool,
    /// How long a server's claim on a post it is sending lasts without renewal; after that
    /// another server reconciles the post.
    pub publish_lease: Duration,
    /// Scheduled posts one server starts at the same time: creator look-up, limits, init. A
    /// post gives its place up once TikTok has its publish id and then waits for an upload turn.
    pub publish_concurrency: usize,
    /// Stored videos one server uploads to TikTok at the same time (each holds a chunk in memory).
    pub publish_uploads: usize,
    /// `CADENCE_PUBLISH_LEAD_MS` (5000): how long before its time a scheduled post is taken and
    /// prepared (creator look-up, limits), so that only its init is left for the due moment.
    pub publish_lead: Duration,
    /// `CADENCE_AUDIT_RETENTION_DAYS` (400): how long the audit log keeps an entry.
    pub audit_retention_days: u32,
    /// How chunks go to TikTok's upload URL: retries and timeouts.
    pub upload: UploadConfig,
    pub tiktok: TikTokConfig,
    /// Where the token keys came from, for the start-up log line (never the keys themselves).
    pub token_key_source: TokenKeySource,
    /// `CADENCE_MEDIA_PUBLIC_URL`: the prefix verified in TikTok's portal under which TikTok
    /// pulls stored videos (PULL_FROM_URL). Unset: scheduled posts fall back to FILE_UPLOAD.
    pub media_public_url: Option<crate::media::public_url::MediaPublicUrl>,
    /// `CADENCE_TEAM_MEDIA_QUOTA` (50 GiB): bytes of scheduled posts' videos one team may keep
    /// stored at once.
    pub team_media_quota: u64,
    /// Who may read `GET /metrics`.
    pub metrics: MetricsConfig,
    /// `CADENCE_SMTP_*`: where e-mail notifications go out; `None` sends none.
    pub smtp: Option<crate::mail::settings::SmtpConfig>,
}

/// Where `GET /metrics` is served. With neither set it is not served at all.
#[derive(Clone, Debug, Default)]
pub struct MetricsConfig {
    /// `CADENCE_METRICS_ADDR`: a listener of its own (e.g. `127.0.0.1:9464`), open to whoever
    /// reaches it, so keep it off the public network.
    pub addr: Option<std::net::SocketAddr>,
    /// `CADENCE_METRICS_TOKEN`: on the main listener, for `Authorization: Bearer <token>`.
    pub token: Option<secrecy::SecretString>,
}

/// How a video's chunks go to TikTok's upload URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadConfig {
    /// `CADENCE_UPLOAD_CHUNK_ATTEMPTS` (4): tries per chunk on a 5xx, reset or timeout before
    /// the upload is given up; TikTok's guide says to resubmit the chunk.
    pub chunk_attempts: u32,
    /// `CADENCE_UPLOAD_CHUNK_TIMEOUT_FLOOR_SECS` (60): the least time a chunk's PUT gets.
    pub chunk_timeout_floor: Duration,
    /// `CADENCE_UPLOAD_MIN_BYTES_PER_SEC` (50,000): the slowest line a chunk's timeout allows
    /// for; a chunk gets the floor plus its size at this rate.
    pub min_bytes_per_sec: u64,
    /// `CADENCE_UPLOAD_URL_LIFETIME_SECS` (3,660): how long after an init its upload may still
    /// complete at TikTok (the upload URL lives an hour; a minute more for clock drift).
    /// Recovery waits this long before sending a post again that TikTok may still complete.
    pub upload_url_lifetime: Duration,
}

impl Default for UploadConfig {
    /// The documented defaults of the variables above.
    fn default() -> Self {
        Self {
            chunk_attempts: 4,
            chunk_timeout_floor: Duration::from_secs(60),
            min_bytes_per_sec: 50_000,
            upload_url_lifetime: Duration::from_secs(3660),
        }
    }
}

impl UploadConfig {
    /// The time one PUT of `bytes` may take.
    pub fn chunk_timeout(&self, bytes: u64) -> Duration {
        self.chunk_timeout_floor + Duration::from_secs_f64(bytes as f64 / self.min_bytes_per_sec.max(1) as f64)
    }
}

/// The media store's backend.
#[derive(Clone, Debug)]
pub enum MediaConfig {
    /// A local directory: fine for one server.
    Local { dir: PathBuf },
    /// An S3-compatible bucket, shared by several servers.
    S3(S3Config),
}

/// An S3-compatible bucket (AWS, MinIO, Ceph, R2…).
#[derive(Clone, Debug)]
pub struct S3Config {
    pub bucket: String,
    /// e.g. `http://127.0.0.1:9000` for MinIO; AWS's own endpoint when unset.
    pub endpoint: Option<String>,
    pub region: String,
    pub access_key_id: String,
    /// Never logged: `Debug` prints a mask.
    pub secret_access_key: secrecy::SecretString,
}

/// How the server reaches PostgreSQL.
#[derive(Clone)]
pub struct DatabaseConfig {
    /// `postgres://…`; may hold a password, so it is never logged or shown.
    pub url: String,
    /// Connections for pages and API calls.
    pub pool_size: usize,
    /// Connections for the background jobs, a pool of their own so a burst of due posts or
    /// token refreshes can never take the connections pages need.
    pub jobs_pool_size: usize,
    /// How long a request waits for a free connection before it is answered 503.
    pub wait_timeout: Duration,
    /// How long opening (or re-checking) one connection may take.
    pub connect_timeout: Duration,
}

/// How browsers reach the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpConfig {
    /// The origin people type into the browser, e.g. `https://cadence.example.com`. When unset,
    /// the request's own `Host` is the origin (fine for a local run).
    pub public_origin: Option<String>,
    /// Largest request body accepted by ordinary (non-upload) endpoints.
    pub body_limit_bytes: usize,
    /// `CADENCE_TRUSTED_PROXIES`: reverse proxies whose `X-Forwarded-For` counts. Only when the
    /// connection comes from one of them is the header read, and the client is its right-most
    /// address that is not itself a trusted proxy. Empty (the default): the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `CADENCE_UPLOAD_IDLE_SECS` (60): a request body (an upload above all) that sends nothing
    /// for this long is cut off, and what it had sent is removed.
    pub body_idle_timeout: Duration,
    /// `CADENCE_HEADER_READ_SECS` (30): a connection that has not sent a request's headers
    /// within this long is closed (slow-loris).
    pub header_read_timeout: Duration,
}

impl HttpConfig {
    /// Cookies get `Secure` exactly when the public origin is https.
    pub fn secure_cookies(&self) -> bool {
        self.public_origin.as_deref().is_some_and(|origin| origin.starts_with("https://"))
    }
}

/// Session cookie lifetime.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// A session dies after this long without a request.
    pub idle_timeout: Duration,
    /// A session dies this long after log-in, however busy it is.
    pub absolute_lifetime: Duration,
}

/// How many failed log-ins are tolerated before a pause is enforced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoginLimits {
    pub max_failures_per_account: i64,
    pub max_failures_per_ip: i64,
    /// Sign-up attempts one address may make within the window.
    pub max_signups_per_ip: i64,
    /// Failures older than this are forgotten, so a lock-out always ends by itself.
    pub window: Duration,
}

/// Plain text for people, JSON lines for log collectors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// TikTok developer credentials. Without them Cadence runs against its built-in sandbox.
#[derive(Clone)]
pub struct TikTokConfig {
    pub credentials: Option<TikTokCredentials>,
    /// Overrides `https://open.tiktokapis.com` (tests point it at a standalone sandbox).
    pub api_url: Option<String>,
    /// Overrides `https://www.tiktok.com`, where the consent screen lives.
    pub auth_url: Option<String>,
    /// The scopes asked for on TikTok's consent screen (`CADENCE_TIKTOK_SCOPES`); the app must
    /// be approved for every one of them, or TikTok refuses the whole request.
    pub requested_scopes: Vec<String>,
    /// Where the built-in sandbox listens in sandbox mode: an origin of its own, as TikTok's
    /// domain is (`CADENCE_SANDBOX_ADDR`; port 0 picks a free one).
    pub sandbox_addr: std::net::SocketAddr,
    /// Token lifetimes the built-in sandbox hands out (short ones show refresh at work).
    pub sandbox_access_token_secs: u64,
    pub sandbox_refresh_token_secs: u64,
    /// `CADENCE_ANALYTICS` (off): collect views, likes and followers from TikTok's Display API,
    /// which adds `video.list` and `user.info.stats` to the requested scopes.
    pub analytics: bool,
}

impl TikTokConfig {
    /// True when no real TikTok app is configured and the sandbox stands in for TikTok.
    pub fn sandbox_mode(&self) -> bool {
        self.credentials.is_none()
    }
}

/// A real TikTok app's key and secret.
#[derive(Clone)]
pub struct TikTokCredentials {
    pub client_key: String,
    pub client_secret: secrecy::SecretString,
}

/// Where the token encryption keys were found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TokenKeySource {
    Environment,
    /// Generated once for a local run and kept in this file (mode 0600).
    File(PathBuf),
}

/// A setting that stops the server from starting, with the variable it concerns.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: String,
    pub problem: String,
}

impl ConfigError {
    fn new(variable: &str, problem: impl Into<String>) -> Self {
        Self { variable: variable.to_owned(), problem: problem.into() }
    }
}

/// The `CADENCE_*` variables Cadence understands besides the SMTP ones, which
/// [`crate::mail::settings::VARIABLES`] lists; anything else with that prefix is refused.
pub const KNOWN_VARIABLES: &[&str] = &[
    "CADENCE_PUBLIC_URL",
    "CADENCE_JOBS_POOL_SIZE",
    "CADENCE_DATABASE_WAIT_SECS",
    "CADENCE_DATABASE_CONNECT_SECS",
    "CADENCE_TRUST_FORWARDED_FOR",
    "CADENCE_TRUSTED_PROXIES",
    "CADENCE_UPLOAD_IDLE_SECS",
    "CADENCE_HEADER_READ_SECS",
    "CADENCE_TEAM_MEDIA_QUOTA",
    "CADENCE_BODY_LIMIT_BYTES",
    "CADENCE_DATA_DIR",
    "CADENCE_MEDIA_S3_BUCKET",
    "CADENCE_MEDIA_S3_ENDPOINT",
    "CADENCE_MEDIA_S3_REGION",
    "CADENCE_MEDIA_S3_ACCESS_KEY_ID",
    "CADENCE_MEDIA_S3_SECRET_ACCESS_KEY",
    "CADENCE_LOG_FORMAT",
    "CADENCE_SESSION_IDLE_HOURS",
    "CADENCE_SESSION_MAX_DAYS",
    "CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT",
    "CADENCE_LOGIN_MAX_FAILURES_PER_IP",
    "CADENCE_LOGIN_WINDOW_MINUTES",
    "CADENCE_SIGNUP",
    "CADENCE_SIGNUP_MAX_PER_IP",
    "CADENCE_SCHEDULER_ENABLED",
    "CADENCE_PUBLISH_LEASE_SECS",
    "CADENCE_PUBLISH_CONCURRENCY",
    "CADENCE_PUBLISH_UPLOADS",
    "CADENCE_PUBLISH_LEAD_MS",
    "CADENCE_AUDIT_RETENTION_DAYS",
    "CADENCE_UPLOAD_CHUNK_ATTEMPTS",
    "CADENCE_UPLOAD_CHUNK_TIMEOUT_FLOOR_SECS",
    "CADENCE_UPLOAD_MIN_BYTES_PER_SEC",
    "CADENCE_UPLOAD_URL_LIFETIME_SECS",
    "CADENCE_TOKEN_KEYS",
    "CADENCE_TIKTOK_CLIENT_KEY",
    "CADENCE_TIKTOK_CLIENT_SECRET",
    "CADENCE_TIKTOK_API_URL",
    "CADENCE_TIKTOK_AUTH_URL",
    "CADENCE_TIKTOK_SCOPES",
    "CADENCE_ANALYTICS",
    "CADENCE_SANDBOX_ADDR",
    "CADENCE_SANDBOX_ACCESS_TOKEN_SECS",
    "CADENCE_SANDBOX_REFRESH_TOKEN_SECS",
    "CADENCE_METRICS_ADDR",
    "CADENCE_METRICS_TOKEN",
    "CADENCE_MEDIA_PUBLIC_URL",
    // Read by scripts/lib.sh (the shared build cache), not by the server; listed so a server
    // started from those scripts does not refuse it.
    "CADENCE_CACHE_DIR",
];

impl Config {
    /// Reads the process environment. Token keys come from `CADENCE_TOKEN_KEYS`, or from a key
    /// file generated once under the data directory for a local run.
    pub fn from_env() -> Result<(Self, TokenCipher), ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::from_vars(&vars)
    }

    /// Parses the given variables; the testable core of [`Config::from_env`].
    pub fn from_vars(vars: &[(String, String)]) -> Result<(Self, TokenCipher), ConfigError> {
        let get = |name: &str| {
            vars.iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.trim().to_owned())
                .filter(|value| !value.is_empty())
        };

        let known = || KNOWN_VARIABLES.iter().chain(crate::mail::settings::VARIABLES);
        if let Some((unknown, _)) = vars
            .iter()
            .find(|(key, _)| key.starts_with("CADENCE_") && !known().any(|name| name == key))
        {
            let names: Vec<&str> = known().copied().collect();
            return Err(ConfigError::new(
                unknown,
                format!("unknown setting; known settings are {}", names.join(", ")),
            ));
        }

        let database = DatabaseConfig {
            url: parse_database_url(get("DATABASE_URL"))?,
            pool_size: parse_number("DATABASE_POOL_SIZE", get("DATABASE_POOL_SIZE"), 10, 1..=500)?,
            jobs_pool_size: parse_number("CADENCE_JOBS_POOL_SIZE", get("CADENCE_JOBS_POOL_SIZE"), 4, 1..=500)?,
            wait_timeout: Duration::from_secs(parse_number(
                "CADENCE_DATABASE_WAIT_SECS",
                get("CADENCE_DATABASE_WAIT_SECS"),
                5,
                1..=300,
            )?),
            connect_timeout: Duration::from_secs(parse_number(
                "CADENCE_DATABASE_CONNECT_SECS",
                get("CADENCE_DATABASE_CONNECT_SECS"),
                5,
                1..=300,
            )?),
        };
        let http = HttpConfig {
            public_origin: get("CADENCE_PUBLIC_URL").map(|url| parse_origin(&url)).transpose()?,
            body_limit_bytes: parse_number(
                "CADENCE_BODY_LIMIT_BYTES",
                get("CADENCE_BODY_LIMIT_BYTES"),
                2 * 1024 * 1024,
                1024..=64 * 1024 * 1024,
            )?,
            trusted_proxies: parse_trusted_proxies(get("CADENCE_TRUSTED_PROXIES"))?,
            body_idle_timeout: Duration::from_secs(parse_number(
                "CADENCE_UPLOAD_IDLE_SECS",
                get("CADENCE_UPLOAD_IDLE_SECS"),
                60,
                1..=3600,
            )?),
            header_read_timeout: Duration::from_secs(parse_number(
                "CADENCE_HEADER_READ_SECS",
                get("CADENCE_HEADER_READ_SECS"),
                30,
                1..=600,
            )?),
        };
        // The old switch trusted any peer's header; a list of proxies replaced it, and a setting
        // that silently stopped working would make every client look like the proxy.
        if parse_bool("CADENCE_TRUST_FORWARDED_FOR", get("CADENCE_TRUST_FORWARDED_FOR"), false)? {
            return Err(ConfigError::new(
                "CADENCE_TRUST_FORWARDED_FOR",
                "is replaced by CADENCE_TRUSTED_PROXIES: list your reverse proxies' addresses \
                 (e.g. 10.0.0.5/32,fd00::/8); X-Forwarded-For counts only from them",
            ));
        }
        let team_media_quota = match get("CADENCE_TEAM_MEDIA_QUOTA") {
            None => DEFAULT_TEAM_MEDIA_QUOTA,
            Some(value) => parse_size(&value).ok_or_else(|| {
                ConfigError::new(
                    "CADENCE_TEAM_MEDIA_QUOTA",
                    format!("{value:?} is not a size; use bytes or a unit, e.g. 50GiB, 500MB, 2TiB"),
                )
            })?,
        };
        let sessions = SessionConfig {
            idle_timeout: Duration::from_secs(
                3600 * parse_number::<u64>(
                    "CADENCE_SESSION_IDLE_HOURS",
                    get("CADENCE_SESSION_IDLE_HOURS"),
                    24 * 14,
                    1..=24 * 365,
                )?,
            ),
            absolute_lifetime: Duration::from_secs(
                86_400 * parse_number::<u64>("CADENCE_SESSION_MAX_DAYS", get("CADENCE_SESSION_MAX_DAYS"), 30, 1..=365)?,
            ),
        };
        let login_limits = LoginLimits {
            max_failures_per_account: parse_number(
                "CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT",
                get("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT"),
                5,
                1..=1000,
            )?,
            max_failures_per_ip: parse_number(
                "CADENCE_LOGIN_MAX_FAILURES_PER_IP",
                get("CADENCE_LOGIN_MAX_FAILURES_PER_IP"),
                20,
                1..=100_000,
            )?,
            max_signups_per_ip: parse_number(
                "CADENCE_SIGNUP_MAX_PER_IP",
                get("CADENCE_SIGNUP_MAX_PER_IP"),
                5,
                1..=100_000,
            )?,
            window: Duration::from_secs(
                60 * parse_number::<u64>(
                    "CADENCE_LOGIN_WINDOW_MINUTES",
                    get("CADENCE_LOGIN_WINDOW_MINUTES"),
                    15,
                    1..=24 * 60,
                )?,
            ),
        };
        let signup = crate::auth::signup::SignupPolicy::parse(get("CADENCE_SIGNUP").as_deref())
            .map_err(|message| ConfigError::new("CADENCE_SIGNUP", message))?;
        let log_format = match get("CADENCE_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "CADENCE_LOG_FORMAT",
                    format!("unknown value {other:?}; expected \"text\" or \"json\""),
                ));
            }
        };
        let data_dir = PathBuf::from(get("CADENCE_DATA_DIR").unwrap_or_else(|| ".data".into()));
        let media = match get("CADENCE_MEDIA_S3_BUCKET") {
            None => MediaConfig::Local { dir: data_dir.join("media") },
            Some(bucket) => {
                let required = |name: &str| {
                    get(name).ok_or_else(|| ConfigError::new(name, "is required when CADENCE_MEDIA_S3_BUCKET is set"))
                };
                MediaConfig::S3(S3Config {
                    bucket,
                    endpoint: get("CADENCE_MEDIA_S3_ENDPOINT")
                        .map(|url| parse_base_url("CADENCE_MEDIA_S3_ENDPOINT", &url))
                        .transpose()?,
                    region: get("CADENCE_MEDIA_S3_REGION").unwrap_or_else(|| "us-east-1".into()),
                    access_key_id: required("CADENCE_MEDIA_S3_ACCESS_KEY_ID")?,
                    secret_access_key: required("CADENCE_MEDIA_S3_SECRET_ACCESS_KEY")?.into(),
                })
            }
        };
        let scheduler_enabled =
            parse_bool("CADENCE_SCHEDULER_ENABLED", get("CADENCE_SCHEDULER_ENABLED"), true)?;
        let publish_lease = Duration::from_secs(parse_number(
            "CADENCE_PUBLISH_LEASE_SECS",
            get("CADENCE_PUBLISH_LEASE_SECS"),
            180,
            3..=3600,
        )?);
        let publish_concurrency =
            parse_number("CADENCE_PUBLISH_CONCURRENCY", get("CADENCE_PUBLISH_CONCURRENCY"), 64, 1..=1024)?;
        let publish_uploads = parse_number("CADENCE_PUBLISH_UPLOADS", get("CADENCE_PUBLISH_UPLOADS"), 16, 1..=256)?;
        let publish_lead =
            Duration::from_millis(parse_number("CADENCE_PUBLISH_LEAD_MS", get("CADENCE_PUBLISH_LEAD_MS"), 5000, 0..=60_000)?);
        let audit_retention_days = parse_number("CADENCE_AUDIT_RETENTION_DAYS", get("CADENCE_AUDIT_RETENTION_DAYS"), 400, 30..=3650)?;
        let defaults = UploadConfig::default();
        let upload = UploadConfig {
            chunk_attempts: parse_number(
                "CADENCE_UPLOAD_CHUNK_ATTEMPTS",
                get("CADENCE_UPLOAD_CHUNK_ATTEMPTS"),
                defaults.chunk_attempts,
                1..=10,
            )?,
            chunk_timeout_floor: Duration::from_secs(parse_number(
                "CADENCE_UPLOAD_CHUNK_TIMEOUT_FLOOR_SECS",
                get("CADENCE_UPLOAD_CHUNK_TIMEOUT_FLOOR_SECS"),
                defaults.chunk_timeout_floor.as_secs(),
                1..=3600,
            )?),
            min_bytes_per_sec: parse_number(
                "CADENCE_UPLOAD_MIN_BYTES_PER_SEC",
                get("CADENCE_UPLOAD_MIN_BYTES_PER_SEC"),
                defaults.min_bytes_per_sec,
                1_000..=10_000_000_000,
            )?,
            upload_url_lifetime: Duration::from_secs(parse_number(
                "CADENCE_UPLOAD_URL_LIFETIME_SECS",
                get("CADENCE_UPLOAD_URL_LIFETIME_SECS"),
                defaults.upload_url_lifetime.as_secs(),
                1..=86_400,
            )?),
        };
        let tiktok = TikTokConfig {
            credentials: match (get("CADENCE_TIKTOK_CLIENT_KEY"), get("CADENCE_TIKTOK_CLIENT_SECRET")) {
                (None, None) => None,
                (Some(client_key), Some(secret)) => {
                    Some(TikTokCredentials { client_key, client_secret: secret.into() })
                }
                (Some(_), None) => {
                    return Err(ConfigError::new(
                        "CADENCE_TIKTOK_CLIENT_SECRET",
                        "is required when CADENCE_TIKTOK_CLIENT_KEY is set",
                    ));
                }
                (None, Some(_)) => {
                    return Err(ConfigError::new(
                        "CADENCE_TIKTOK_CLIENT_KEY",
                        "is required when CADENCE_TIKTOK_CLIENT_SECRET is set",
                    ));
                }
            },
            api_url: get("CADENCE_TIKTOK_API_URL").map(|url| parse_base_url("CADENCE_TIKTOK_API_URL", &url)).transpose()?,
            auth_url: get("CADENCE_TIKTOK_AUTH_URL").map(|url| parse_base_url("CADENCE_TIKTOK_AUTH_URL", &url)).transpose()?,
            requested_scopes: crate::tiktok::scopes::with_analytics(
                match get("CADENCE_TIKTOK_SCOPES") {
                    Some(list) => crate::tiktok::scopes::parse_requested(&list)
                        .map_err(|problem| ConfigError::new("CADENCE_TIKTOK_SCOPES", problem))?,
                    None => crate::tiktok::scopes::DEFAULT_REQUESTED.iter().map(|s| (*s).to_owned()).collect(),
                },
                parse_bool("CADENCE_ANALYTICS", get("CADENCE_ANALYTICS"), false)?,
            ),
            analytics: parse_bool("CADENCE_ANALYTICS", get("CADENCE_ANALYTICS"), false)?,
            sandbox_addr: match get("CADENCE_SANDBOX_ADDR") {
                Some(addr) => addr.parse().map_err(|_| {
                    ConfigError::new("CADENCE_SANDBOX_ADDR", "must be an address and port, e.g. 127.0.0.1:3100")
                })?,
                None => std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            },
            sandbox_access_token_secs: parse_number(
                "CADENCE_SANDBOX_ACCESS_TOKEN_SECS",
                get("CADENCE_SANDBOX_ACCESS_TOKEN_SECS"),
                7200,
                10..=31_536_000,
            )?,
            sandbox_refresh_token_secs: parse_number(
                "CADENCE_SANDBOX_REFRESH_TOKEN_SECS",
                get("CADENCE_SANDBOX_REFRESH_TOKEN_SECS"),
                15_552_000,
                60..=31_536_000,
            )?,
        };
        // TikTok only redirects to registered https URIs, which are built from the public URL.
        if tiktok.credentials.is_some() && tiktok.api_url.is_none() && http.public_origin.is_none() {
            return Err(ConfigError::new(
                "CADENCE_PUBLIC_URL",
                "is required with TikTok credentials: the OAuth redirect URI registered at TikTok is \
                 <CADENCE_PUBLIC_URL>/oauth/tiktok/callback",
            ));
        }

        let (cipher, token_key_source) = match get("CADENCE_TOKEN_KEYS") {
            Some(keys) => (
                TokenCipher::from_key_list(&keys)
                    .map_err(|e| ConfigError::new("CADENCE_TOKEN_KEYS", e.to_string()))?,
                TokenKeySource::Environment,
            ),
            // With a real TikTok app a per-server key file is a trap: another server, or a
            // container restarted without its volume, cannot open the tokens sealed here.
            None if tiktok.credentials.is_some() => {
                return Err(ConfigError::new(
                    "CADENCE_TOKEN_KEYS",
                    "is required with TikTok credentials, so every server (and every restart) opens \
                     the same stored tokens; create a key with `server generate-token-key`",
                ));
            }
            None => {
                let path = data_dir.join("token-keys");
                let cipher = TokenCipher::load_or_generate_file(&path).map_err(|e| match e {
                    KeyError::Io(detail) => ConfigError::new(
                        "CADENCE_TOKEN_KEYS",
                        format!("unset, and the local key file {} could not be used: {detail}", path.display()),
                    ),
                    other => ConfigError::new(
                        "CADENCE_TOKEN_KEYS",
                        format!("unset, and the local key file {} is invalid: {other}", path.display()),
                    ),
                })?;
                (cipher, TokenKeySource::File(path))
            }
        };

        let metrics = MetricsConfig {
            addr: get("CADENCE_METRICS_ADDR")
                .map(|addr| {
                    addr.parse().map_err(|_| {
                        ConfigError::new("CADENCE_METRICS_ADDR", "must be an address and port, e.g. 127.0.0.1:9464")
                    })
                })
                .transpose()?,
            token: match get("CADENCE_METRICS_TOKEN") {
                // A guessable token would open the metrics to anyone who can reach the server.
                Some(token) if token.len() < 16 => {
                    return Err(ConfigError::new("CADENCE_METRICS_TOKEN", "must be at least 16 characters long"));
                }
                token => token.map(secrecy::SecretString::from),
            },
        };
        let smtp = crate::mail::settings::from_vars(get)?;

        let media_public_url = get("CADENCE_MEDIA_PUBLIC_URL")
            .map(|url| crate::media::public_url::MediaPublicUrl::parse(&url))
            .transpose()
            .map_err(|problem| ConfigError::new("CADENCE_MEDIA_PUBLIC_URL", problem))?;
        let config = Self {
            metrics,
            smtp,
            database,
            http,
            sessions,
            login_limits,
            signup,
            log_format,
            data_dir,
            media,
            scheduler_enabled,
            publish_lease,
            publish_concurrency,
            publish_lead,
            publish_uploads,
            audit_retention_days,
            upload,
            tiktok,
            token_key_source,
            team_media_quota,
            media_public_url,
        };
        Ok((config, cipher))
    }
}

/// The media quota when `CADENCE_TEAM_MEDIA_QUOTA` is unset: room for a dozen 4 GB videos.
pub const DEFAULT_TEAM_MEDIA_QUOTA: u64 = 50 * 1024 * 1024 * 1024;

/// `1073741824`, `500MB`, `50 GiB`, `2tb`: decimal units are powers of 1000, binary (`KiB`…)
/// of 1024. `None` for anything else, zero, or a size past `u64`.
pub fn parse_size(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().ok()?;
    let factor: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(factor).filter(|bytes| *bytes > 0)
}

/// A comma-separated list of addresses or CIDR blocks; a bare address is a block of one.
fn parse_trusted_proxies(value: Option<String>) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let Some(list) = value else { return Ok(Vec::new()) };
    list.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            entry
                .parse::<ipnet::IpNet>()
                .or_else(|_| entry.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|net| net.trunc())
                .map_err(|_| {
                    ConfigError::new(
                        "CADENCE_TRUSTED_PROXIES",
                        format!("{entry:?} is not an address or CIDR block like 10.0.0.0/8 or fd00::/8"),
                    )
                })
        })
        .collect()
}

fn parse_database_url(value: Option<String>) -> Result<String, ConfigError> {
    let url = value.ok_or_else(|| {
        ConfigError::new(
            "DATABASE_URL",
            "is not set; use scripts/start (it starts a private PostgreSQL) or point it at yours, \
             e.g. postgres://postgres@127.0.0.1:5432/cadence",
        )
    })?;
    let rest = url
        .strip_prefix("postgres://")
        .or_else(|| url.strip_prefix("postgresql://"))
        .ok_or_else(|| {
            ConfigError::new("DATABASE_URL", "must start with postgres:// or postgresql://")
        })?;
    // `user:password@host:port/db?params`: only the host part is required.
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let has_socket_param = rest.contains("host=");
    if host.is_empty() && !has_socket_param {
        return Err(ConfigError::new("DATABASE_URL", "names no host"));
    }
    if let Some((_, port)) = host.rsplit_once(':')
        && port.parse::<u16>().is_err()
    {
        return Err(ConfigError::new("DATABASE_URL", format!("port {port:?} is not a number")));
    }
    Ok(url)
}

fn parse_origin(url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim_end_matches('/');
    let scheme_ok = trimmed.starts_with("http://") || trimmed.starts_with("https://");
    let host = trimmed.split("://").nth(1).unwrap_or_default();
    if !scheme_ok || host.is_empty() || host.contains('/') {
        return Err(ConfigError::new(
            "CADENCE_PUBLIC_URL",
            format!("{url:?} is not an origin like https://cadence.example.com (no path)"),
        ));
    }
    Ok(trimmed.to_owned())
}

fn parse_base_url(variable: &str, url: &str) -> Result<String, ConfigError> {
    let trimmed = url.trim_end_matches('/');
    if !(trimmed.starts_with("http://") || trimmed.starts_with("https://")) {
        return Err(ConfigError::new(variable, format!("{url:?} is not an http(s) URL")));
    }
    Ok(trimmed.to_owned())
}

fn parse_number<T>(
    variable: &str,
    value: Option<String>,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display + Copy,
{
    let Some(value) = value else { return Ok(default) };
    let number: T = value
        .parse()
        .map_err(|_| ConfigError::new(variable, format!("{value:?} is not a whole number")))?;
    if !range.contains(&number) {
        return Err(ConfigError::new(
            variable,
            format!("{number} is outside {}..={}", range.start(), range.end()),
        ));
    }
    Ok(number)
}

fn parse_bool(variable: &str, value: Option<String>, default: bool) -> Result<bool, ConfigError> {
    match value.as_deref() {
        None => Ok(default),
        Some("true" | "1" | "yes" | "on") => Ok(true),
        Some("false" | "0" | "no" | "off") => Ok(false),
        Some(other) => Err(ConfigError::new(
            variable,
            format!("unknown value {other:?}; expected true or false"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut all = vec![
            ("DATABASE_URL".to_owned(), "postgres://postgres@127.0.0.1:5432/cadence".to_owned()),
            ("CADENCE_TOKEN_KEYS".to_owned(), format!("k1:{KEY_HEX}")),
        ];
        for (key, value) in pairs {
            all.retain(|(k, _)| k != key);
            all.push(((*key).to_owned(), (*value).to_owned()));
        }
        all
    }

    fn error_of(pairs: &[(&str, &str)]) -> ConfigError {
        match Config::from_vars(&vars(pairs)) {
            Ok(_) => panic!("expected {pairs:?} to be refused"),
            Err(error) => error,
        }
    }

    #[test]
    fn defaults_apply_when_only_the_database_is_set() {
        let (config, _) = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(config.database.pool_size, 10);
        assert_eq!(config.log_format, LogFormat::Text);
        assert!(config.scheduler_enabled);
        assert!(config.tiktok.sandbox_mode());
        assert!(!config.http.secure_cookies());
        assert_eq!(config.login_limits.max_failures_per_account, 5);
        assert_eq!(config.token_key_source, TokenKeySource::Environment);
        assert!(config.http.trusted_proxies.is_empty(), "X-Forwarded-For is ignored unless proxies are listed");
        assert_eq!(config.team_media_quota, 50 * 1024 * 1024 * 1024);
        assert_eq!(config.http.body_idle_timeout, Duration::from_secs(60));
        assert_eq!(config.http.header_read_timeout, Duration::from_secs(30));
    }

    #[test]
    fn media_quotas_read_human_sizes() {
        assert_eq!(parse_size("1073741824"), Some(1 << 30));
        assert_eq!(parse_size("50GiB"), Some(50 << 30));
        assert_eq!(parse_size("500 MB"), Some(500_000_000));
        assert_eq!(parse_size("2tb"), Some(2_000_000_000_000));
        for bad in ["", "GiB", "12 parsecs", "0", "-5GB", "1.5GB", "99999999999999TiB"] {
            assert_eq!(parse_size(bad), None, "{bad:?}");
        }
        let (config, _) = Config::from_vars(&vars(&[("CADENCE_TEAM_MEDIA_QUOTA", "10 MiB")])).unwrap();
        assert_eq!(config.team_media_quota, 10 << 20);
        assert_eq!(error_of(&[("CADENCE_TEAM_MEDIA_QUOTA", "lots")]).variable, "CADENCE_TEAM_MEDIA_QUOTA");
    }

    #[test]
    fn trusted_proxies_are_addresses_or_blocks_and_replace_the_old_switch() {
        let (config, _) =
            Config::from_vars(&vars(&[("CADENCE_TRUSTED_PROXIES", "10.0.0.5, 192.168.0.0/16,fd00::1/8")])).unwrap();
        let listed: Vec<String> = config.http.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(listed, ["10.0.0.5/32", "192.168.0.0/16", "fd00::/8"]);
        assert_eq!(error_of(&[("CADENCE_TRUSTED_PROXIES", "10.0.0.0/33")]).variable, "CADENCE_TRUSTED_PROXIES");
        assert_eq!(error_of(&[("CADENCE_TRUSTED_PROXIES", "proxy.local")]).variable, "CADENCE_TRUSTED_PROXIES");
        let old = error_of(&[("CADENCE_TRUST_FORWARDED_FOR", "true")]);
        assert!(old.problem.contains("CADENCE_TRUSTED_PROXIES"), "{old}");
        assert!(Config::from_vars(&vars(&[("CADENCE_TRUST_FORWARDED_FOR", "false")])).is_ok());
    }

    #[test]
    fn a_bad_database_url_is_refused_with_its_name() {
        let error = error_of(&[("DATABASE_URL", "mysql://localhost/db")]);
        assert_eq!(error.variable, "DATABASE_URL");
        assert!(error.problem.contains("postgres://"), "{error}");
        assert_eq!(error_of(&[("DATABASE_URL", "postgres:///db")]).variable, "DATABASE_URL");
        assert!(error_of(&[("DATABASE_URL", "postgres://h:port/db")]).problem.contains("port"));
    }

    #[test]
    fn a_unix_socket_database_url_is_accepted() {
        let url = "postgres://postgres@/cadence?host=/tmp/pg";
        let (config, _) = Config::from_vars(&vars(&[("DATABASE_URL", url)])).unwrap();
        assert_eq!(config.database.url, url);
    }

    #[test]
    fn a_token_key_of_the_wrong_length_is_refused() {
        let error = error_of(&[("CADENCE_TOKEN_KEYS", "k1:abcd")]);
        assert_eq!(error.variable, "CADENCE_TOKEN_KEYS");
        assert!(error.problem.contains("32 bytes"), "{error}");
    }

    #[test]
    fn unknown_values_and_unknown_settings_are_refused() {
        let error = error_of(&[("CADENCE_LOG_FORMAT", "xml")]);
        assert_eq!(error.to_string(), "CADENCE_LOG_FORMAT: unknown value \"xml\"; expected \"text\" or \"json\"");
        assert_eq!(error_of(&[("CADENCE_SCHEDULER_ENABLED", "maybe")]).variable, "CADENCE_SCHEDULER_ENABLED");
        assert_eq!(error_of(&[("CADENCE_LOG_FORMATT", "json")]).variable, "CADENCE_LOG_FORMATT");
        assert!(error_of(&[("DATABASE_POOL_SIZE", "0")]).problem.contains("outside"));
        assert!(error_of(&[("DATABASE_POOL_SIZE", "ten")]).problem.contains("not a whole number"));
    }

    #[test]
    fn metrics_and_smtp_settings_are_checked() {
        let (config, _) = Config::from_vars(&vars(&[])).unwrap();
        assert!(config.metrics.addr.is_none() && config.metrics.token.is_none() && config.smtp.is_none());
        assert_eq!(error_of(&[("CADENCE_METRICS_ADDR", "nine")]).variable, "CADENCE_METRICS_ADDR");
        assert_eq!(error_of(&[("CADENCE_METRICS_TOKEN", "short")]).variable, "CADENCE_METRICS_TOKEN");
        assert_eq!(error_of(&[("CADENCE_SMTP_HOST", "localhost")]).variable, "CADENCE_SMTP_FROM");
        let (config, _) =
            Config::from_vars(&vars(&[("CADENCE_SMTP_HOST", "localhost"), ("CADENCE_SMTP_FROM", "c@example.com")])).unwrap();
        assert_eq!(config.smtp.unwrap().host, "localhost");
    }

    #[test]
    fn tiktok_credentials_come_in_pairs() {
        assert_eq!(
            error_of(&[("CADENCE_TIKTOK_CLIENT_KEY", "abc")]).variable,
            "CADENCE_TIKTOK_CLIENT_SECRET"
        );
        let real = [
            ("CADENCE_TIKTOK_CLIENT_KEY", "abc"),
            ("CADENCE_TIKTOK_CLIENT_SECRET", "shh"),
        ];
        assert_eq!(error_of(&real).variable, "CADENCE_PUBLIC_URL", "the redirect URI needs the public URL");
        let mut with_url = real.to_vec();
        with_url.push(("CADENCE_PUBLIC_URL", "https://cadence.example.com"));
        let (config, _) = Config::from_vars(&vars(&with_url)).unwrap();
        assert!(!config.tiktok.sandbox_mode());
        with_url.push(("CADENCE_TOKEN_KEYS", ""));
        let keyless = error_of(&with_url);
        assert_eq!(keyless.variable, "CADENCE_TOKEN_KEYS", "no silent per-server key file with a real TikTok app");
        assert!(keyless.problem.contains("required with TikTok credentials"), "{}", keyless.problem);
        assert!(error_of(&[("CADENCE_TIKTOK_API_URL", "ftp://x")]).problem.contains("http(s)"));
    }

    #[test]
    fn requested_scopes_are_explicit_and_checked() {
        let (config, _) = Config::from_vars(&vars(&[])).unwrap();
        assert_eq!(config.tiktok.requested_scopes, ["user.info.basic", "video.upload", "video.publish"]);
        let (config, _) =
            Config::from_vars(&vars(&[("CADENCE_TIKTOK_SCOPES", "user.info.basic,user.info.profile,video.upload")])).unwrap();
        assert_eq!(config.tiktok.requested_scopes, ["user.info.basic", "user.info.profile", "video.upload"]);
        assert_eq!(error_of(&[("CADENCE_TIKTOK_SCOPES", "user.info.basic,video.nope")]).variable, "CADENCE_TIKTOK_SCOPES");
        assert_eq!(error_of(&[("CADENCE_SANDBOX_ADDR", "nowhere")]).variable, "CADENCE_SANDBOX_ADDR");
    }

    #[test]
    fn analytics_adds_its_two_display_scopes_and_nothing_else() {
        let (config, _) = Config::from_vars(&vars(&[])).unwrap();
        assert!(!config.tiktok.analytics && !config.tiktok.requested_scopes.contains(&"video.list".to_owned()));
        let (config, _) = Config::from_vars(&vars(&[("CADENCE_ANALYTICS", "on")])).unwrap();
        assert!(config.tiktok.analytics);
        assert_eq!(
            config.tiktok.requested_scopes,
            ["user.info.basic", "video.upload", "video.publish", "video.list", "user.info.stats"]
        );
        let (config, _) = Config::from_vars(&vars(&[
            ("CADENCE_ANALYTICS", "on"),
            ("CADENCE_TIKTOK_SCOPES", "user.info.basic,video.list,video.publish"),
        ]))
        .unwrap();
        assert_eq!(config.tiktok.requested_scopes, ["user.info.basic", "video.list", "video.publish", "user.info.stats"], "no repeats");
        assert_eq!(error_of(&[("CADENCE_ANALYTICS", "maybe")]).variable, "CADENCE_ANALYTICS");
    }

    #[test]
    fn public_url_must_be_an_origin_and_https_makes_cookies_secure() {
        let (config, _) =
            Config::from_vars(&vars(&[("CADENCE_PUBLIC_URL", "https://cadence.example.com/")])).unwrap();
        assert_eq!(config.http.public_origin.as_deref(), Some("https://cadence.example.com"));
        assert!(config.http.secure_cookies());
        assert_eq!(error_of(&[("CADENCE_PUBLIC_URL", "cadence.example.com")]).variable, "CADENCE_PUBLIC_URL");
        assert_eq!(error_of(&[("CADENCE_PUBLIC_URL", "https://x.com/app")]).variable, "CADENCE_PUBLIC_URL");
    }

    #[test]
    fn without_keys_a_local_key_file_is_generated_once() {
        let dir = std::env::temp_dir().join(format!("cadence-config-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut settings = vars(&[("CADENCE_DATA_DIR", dir.to_str().unwrap())]);
        settings.retain(|(key, _)| key != "CADENCE_TOKEN_KEYS");
        let (first_config, first) = Config::from_vars(&settings).unwrap();
        let (_, second) = Config::from_vars(&settings).unwrap();
        assert_eq!(first_config.token_key_source, TokenKeySource::File(dir.join("token-keys")));
        let sealed = first.encrypt("act.secret", "account-1").unwrap();
        assert_eq!(second.decrypt(&sealed, "account-1").unwrap().expose(), "act.secret");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
