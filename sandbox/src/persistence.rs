//! Keeps the sandbox's state in a file (mode 0600, replaced atomically) so a restarted
//! sandbox-mode server still knows its grants, tokens, publishes and rate windows, and people
//! trying Cadence do not reconnect their accounts after every restart.
//!
//! What is saved is what TikTok itself would still know: grants with their access and refresh
//! tokens, publishes with their uploads and downloads (PULL_FROM_URL, photo posts; one cut off
//! by the restart fails as a broken connection does, `video_pull_failed`), and the per-minute
//! rate windows (forgetting them would
//! make a restarted sandbox more lenient than TikTok). Open consent pages and unspent
//! authorization codes live ten minutes and are not kept: a person mid-consent starts again.
//! Scripted faults and the request and webhook logs belong to one run and are not kept either.
//! Times are saved as wall-clock milliseconds and turned back into `Instant`s on load.

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::chunks::ChunkPlan;
use crate::faults::Endpoint;
use crate::grants::Grants;
use crate::media::MediaInfo;
use crate::publish::{PostSettings, Publish, PublishKind, UploadTask};
use crate::state::{Inner, State};

const FORMAT: u32 = 1;
/// How often a changed state is written; a SIGKILLed server loses at most this much.
pub const SAVE_INTERVAL: Duration = Duration::from_millis(500);

/// Converts between `Instant`s (not meaningful across processes) and Unix milliseconds.
#[derive(Clone, Copy)]
pub struct Clock {
    instant: Instant,
    wall_ms: i64,
}

impl Clock {
    pub fn now() -> Self {
        let wall_ms = i64::try_from(OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        Self { instant: Instant::now(), wall_ms }
    }

    pub fn to_ms(self, at: Instant) -> i64 {
        let millis = |d: Duration| i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        match at.checked_duration_since(self.instant) {
            Some(ahead) => self.wall_ms.saturating_add(millis(ahead)),
            None => self.wall_ms.saturating_sub(millis(self.instant.duration_since(at))),
        }
    }

    /// The `Instant` of a saved time. One from before this machine booted cannot be an
    /// `Instant`; it becomes the earliest one found, which only makes windows stricter.
    pub fn to_instant(self, ms: i64) -> Instant {
        if ms >= self.wall_ms {
            return self.instant + Duration::from_millis(u64::try_from(ms - self.wall_ms).unwrap_or(0));
        }
        let mut back = Duration::from_millis(u64::try_from(self.wall_ms - ms).unwrap_or(u64::MAX));
        loop {
            if let Some(at) = self.instant.checked_sub(back) {
                return at;
            }
            back /= 2;
        }
    }
}

fn datetime_ms(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn datetime_of(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The file's contents.
#[derive(Serialize, Deserialize)]
pub struct SavedState {
    pub format: u32,
    /// The app whose tokens these are; a file from another app is not loaded.
    pub client_key: String,
    pub grants: SavedGrants,
    pub publishes: Vec<SavedPublish>,
    pub rate_windows: Vec<SavedRateWindow>,
}

#[derive(Serialize, Deserialize, Default)]
pub struct SavedGrants {
    pub next_grant_id: u64,
    pub grants: Vec<SavedGrant>,
    pub access_tokens: Vec<SavedAccessToken>,
    pub refresh_tokens: Vec<SavedRefreshToken>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedGrant {
    pub id: u64,
    pub open_id: String,
    pub scopes: Vec<String>,
    pub created_ms: i64,
    pub refresh_expires_ms: i64,
    pub revoked: bool,
}

#[derive(Serialize, Deserialize)]
pub struct SavedAccessToken {
    pub token: String,
    pub grant_id: u64,
    pub expires_ms: i64,
}

#[derive(Serialize, Deserialize)]
pub struct SavedRefreshToken {
    pub token: String,
    pub grant_id: u64,
    pub used: bool,
    pub used_at_ms: Option<i64>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedRateWindow {
    pub open_id: String,
    pub endpoint: Endpoint,
    pub calls_ms: Vec<i64>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedPublish {
    pub id: String,
    pub inbox: bool,
    pub open_id: String,
    pub settings: SavedSettings,
    pub created_at_ms: i64,
    pub created_ms: i64,
    pub upload: SavedUpload,
    pub completed_ms: Option<i64>,
    /// `Ok` with what processing read, or the `fail_reason`.
    pub verdict: Option<Result<MediaInfo, String>>,
    pub aborted: Option<String>,
    pub post_id: Option<i64>,
    pub published_ms: Option<i64>,
    pub notified: bool,
    pub announced_public: bool,
    pub posted_from_inbox: bool,
    /// PULL_FROM_URL's download (absent in files from before pulls were kept).
    #[serde(default)]
    pub pull: Option<crate::pull::PullTask>,
    /// A photo post's images and fields.
    #[serde(default)]
    pub photo: Option<crate::photos::PhotoPost>,
}

#[derive(Serialize, Deserialize)]
pub struct SavedSettings {
    pub title: String,
    pub privacy: Option<crate::fixtures::PrivacyLevel>,
    pub disable_comment: bool,
    pub disable_duet: bool,
    pub disable_stitch: bool,
    pub brand_content_toggle: bool,
    pub brand_organic_toggle: bool,
    pub is_aigc: bool,
}

#[derive(Serialize, Deserialize)]
pub struct SavedUpload {
    pub upload_id: String,
    pub token: String,
    pub expires_ms: i64,
    pub video_size: u64,
    pub chunk_size: u64,
    pub chunk_count: u64,
    pub received: u64,
    pub acknowledged: Vec<(i64, u64)>,
    /// The kept first bytes (hex) of an upload still running; processing reads them at the end.
    pub head_hex: String,
    pub sha256: Option<String>,
}

/// Every `fail_reason` and abort reason the sandbox produces; a saved one outside the list
/// (a newer file) is read as `internal`.
const REASONS: &[&str] = &[
    "file_format_check_failed",
    "duration_check_failed",
    "picture_size_check_failed",
    "publish_cancelled",
    "auth_removed",
    "internal",
];

fn reason_of(saved: &str) -> &'static str {
    REASONS.iter().find(|known| **known == saved).copied().unwrap_or("internal")
}

impl SavedPublish {
    fn from_publish(publish: &Publish, clock: Clock) -> Self {
        let upload = &publish.upload;
        let settings = &publish.settings;
        Self {
            id: publish.id.clone(),
            inbox: publish.kind == PublishKind::Inbox,
            open_id: publish.open_id.clone(),
            settings: SavedSettings {
                title: settings.title.clone(),
                privacy: settings.privacy,
                disable_comment: settings.disable_comment,
                disable_duet: settings.disable_duet,
                disable_stitch: settings.disable_stitch,
                brand_content_toggle: settings.brand_content_toggle,
                brand_organic_toggle: settings.brand_organic_toggle,
                is_aigc: settings.is_aigc,
            },
            created_at_ms: clock.to_ms(publish.created_at),
            created_ms: datetime_ms(publish.created),
            upload: SavedUpload {
                upload_id: upload.upload_id.clone(),
                token: upload.token.clone(),
                expires_ms: clock.to_ms(upload.expires_at),
                video_size: upload.plan.video_size,
                chunk_size: upload.plan.chunk_size,
                chunk_count: upload.plan.chunk_count,
                received: upload.received,
                acknowledged: upload.acknowledged.iter().map(|(at, bytes)| (clock.to_ms(*at), *bytes)).collect(),
                head_hex: hex::encode(&upload.head),
                sha256: upload.sha256.clone(),
            },
            completed_ms: publish.completed_at.map(|at| clock.to_ms(at)),
            verdict: publish.verdict.map(|verdict| verdict.map_err(str::to_owned)),
            aborted: publish.aborted.map(str::to_owned),
            post_id: publish.post_id,
            published_ms: publish.published_ms,
            notified: publish.notified,
            announced_public: publish.announced_public,
            posted_from_inbox: publish.posted_from_inbox,
            pull: publish.pull.clone(),
            photo: publish.photo.clone(),
        }
    }

    fn into_publish(self, clock: Clock) -> Option<Publish> {
        let saved = self.upload;
        let plan = ChunkPlan {
            video_size: saved.video_size,
            chunk_size: saved.chunk_size,
            chunk_count: saved.chunk_count,
        };
        let kind = if self.inbox { PublishKind::Inbox } else { PublishKind::Direct };
        let mut upload = UploadTask::new(plan, Duration::ZERO, clock.instant);
        upload.upload_id = saved.upload_id;
        upload.token = saved.token;
        upload.expires_at = clock.to_instant(saved.expires_ms);
        upload.received = saved.received;
        upload.acknowledged = saved.acknowledged.into_iter().map(|(ms, bytes)| (clock.to_instant(ms), bytes)).collect();
        upload.head = hex::decode(saved.head_hex).ok()?;
        // The running hash cannot be saved: an upload resumed after a restart has no checksum.
        upload.hash_lost = saved.received > 0 && saved.sha256.is_none();
        upload.sha256 = saved.sha256;
        let settings = PostSettings {
            title: self.settings.title,
            privacy: self.settings.privacy,
            disable_comment: self.settings.disable_comment,
            disable_duet: self.settings.disable_duet,
            disable_stitch: self.settings.disable_stitch,
            brand_content_toggle: self.settings.brand_content_toggle,
            brand_organic_toggle: self.settings.brand_organic_toggle,
            is_aigc: self.settings.is_aigc,
        };
        let mut publish = Publish::new(kind, self.open_id, settings, upload, clock.to_instant(self.created_at_ms));
        publish.id = self.id;
        publish.created = datetime_of(self.created_ms);
        publish.completed_at = self.completed_ms.map(|ms| clock.to_instant(ms));
        publish.verdict = self.verdict.map(|verdict| verdict.map_err(|reason| reason_of(&reason)));
        publish.aborted = self.aborted.as_deref().map(reason_of);
        publish.post_id = self.post_id;
        publish.published_ms = self.published_ms;
        publish.notified = self.notified;
        publish.announced_public = self.announced_public;
        publish.posted_from_inbox = self.posted_from_inbox;
        publish.pull = self.pull;
        publish.photo = self.photo;
        Some(publish)
    }
}

/// The saved form of `state`.
pub fn snapshot(state: &State, client_key: &str, clock: Clock) -> SavedState {
    SavedState {
        format: FORMAT,
        client_key: client_key.to_owned(),
        grants: state.grants.to_saved(clock),
        publishes: state.publishes.iter().map(|publish| SavedPublish::from_publish(publish, clock)).collect(),
        rate_windows: state
            .rate_windows
            .iter()
            .map(|((open_id, endpoint), calls)| SavedRateWindow {
                open_id: open_id.clone(),
                endpoint: *endpoint,
                calls_ms: calls.iter().map(|at| clock.to_ms(*at)).collect(),
            })
            .collect(),
    }
}

/// Puts a saved state into a fresh `state`.
pub fn restore(state: &mut State, saved: SavedState, clock: Clock) {
    state.grants = Grants::from_saved(saved.grants, clock);
    state.publishes = saved.publishes.into_iter().filter_map(|publish| publish.into_publish(clock)).collect();
    state.rate_windows = saved
        .rate_windows
        .into_iter()
        .map(|window| {
            let calls: VecDeque<Instant> = window.calls_ms.into_iter().map(|ms| clock.to_instant(ms)).collect();
            ((window.open_id, window.endpoint), calls)
        })
        .collect::<HashMap<_, _>>();
}

/// Reads the file, if there is one. A file that cannot be read is set aside (renamed, never
/// deleted) and the sandbox starts empty, saying so.
pub fn load(path: &Path, client_key: &str) -> Option<SavedState> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return None,
        Err(error) => {
            tracing::warn!(%error, path = %path.display(), "the sandbox's saved state cannot be read; starting empty");
            return None;
        }
    };
    let problem = match serde_json::from_slice::<SavedState>(&bytes) {
        Ok(saved) if saved.format == FORMAT && saved.client_key == client_key => return Some(saved),
        Ok(saved) if saved.format != FORMAT => format!("format {} is unknown", saved.format),
        Ok(_) => "it belongs to another client key".to_owned(),
        Err(error) => error.to_string(),
    };
    let aside = set_aside_path(path);
    let _ = std::fs::rename(path, &aside);
    tracing::warn!(problem, kept_as = %aside.display(), "the sandbox's saved state was not loaded; starting empty");
    None
}

fn set_aside_path(path: &Path) -> PathBuf {
    let stamp = OffsetDateTime::now_utc().unix_timestamp();
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(format!(".unreadable-{stamp}"));
    path.with_file_name(name)
}

/// Writes `saved` to `path` atomically (a temporary file beside it, then a rename), mode 0600:
/// the file holds live tokens. The directory is created for the first save only: one removed
/// under a running sandbox afterwards (a test's data directory) is not brought back.
pub fn write(path: &Path, saved: &SavedState, first: bool) -> std::io::Result<()> {
    use std::io::Write as _;
    if first && let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let bytes = serde_json::to_vec(saved).map_err(std::io::Error::other)?;
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    // Unique per write, so two sandboxes sharing a data directory never write one temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    name.push(format!(".tmp-{}-{}", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    let tmp = path.with_file_name(name);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp)?;
    file.write_all(&bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Saves now if anything may have changed since the last save. Saves are serialized, so a
/// slower earlier save never replaces a later one.
pub fn save_if_changed(inner: &Inner) -> std::io::Result<bool> {
    let Some(path) = inner.config.state_file.as_deref() else { return Ok(false) };
    let _writing = inner.save_lock.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let generation = inner.generation.load(Ordering::Acquire);
    if generation == inner.saved_generation.load(Ordering::Acquire) {
        return Ok(false);
    }
    let saved = {
        let state = inner.lock_quietly();
        snapshot(&state, &inner.config.client_key, Clock::now())
    };
    let first = inner.saved_generation.load(Ordering::Acquire) == 0;
    write(path, &saved, first)?;
    inner.saved_generation.store(generation, Ordering::Release);
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SandboxConfig;
    use crate::grants::{AuthCode, CODE_TTL};

    #[test]
    fn times_survive_the_trip_through_wall_clock_milliseconds() {
        let clock = Clock::now();
        let later = clock.instant + Duration::from_secs(90);
        let back = clock.to_instant(clock.to_ms(later));
        assert!(back.max(later) - back.min(later) <= Duration::from_millis(1));
        let earlier = clock.instant.checked_sub(Duration::from_millis(1500)).unwrap();
        assert_eq!(clock.to_ms(earlier), clock.wall_ms - 1500);
        assert!(clock.to_instant(i64::MIN / 2) <= clock.instant, "before boot is still in the past");
    }

    #[test]
    fn grants_tokens_and_publishes_come_back_from_the_file() {
        let config = SandboxConfig::default();
        let now = Instant::now();
        let mut state = State::new(10);
        let code = state.grants.issue_code(
            AuthCode {
                redirect_uri: "https://app.example/cb".into(),
                open_id: "_000maya".into(),
                scopes: vec!["user.info.basic".into(), "video.publish".into()],
                expires_at: now + CODE_TTL,
                used: false,
            },
            now,
        );
        let first = state.grants.redeem_code(&code, now, &config).unwrap();
        let second = state.grants.refresh(&first.refresh_token, now, &config).unwrap();
        let plan = ChunkPlan::new(10, 10, 1).unwrap();
        let mut publish = Publish::new(
            PublishKind::Direct,
            "_000maya".into(),
            PostSettings { title: "hello".into(), ..PostSettings::default() },
            UploadTask::new(plan, Duration::from_secs(3600), now),
            now,
        );
        publish.aborted = Some("auth_removed");
        let publish_id = publish.id.clone();
        state.publishes.push(publish);
        state.rate_windows.insert(("_000maya".into(), Endpoint::CreatorInfo), VecDeque::from([now]));

        let dir = std::env::temp_dir().join(format!("sandbox-persist-{}", std::process::id()));
        let path = dir.join("state.json");
        write(&path, &snapshot(&state, &config.client_key, Clock::now()), true).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert!(load(&path, "another_app").is_none(), "another app's tokens are not taken over");
        assert!(!path.exists(), "the refused file is set aside, not deleted");
        write(&path, &snapshot(&state, &config.client_key, Clock::now()), false).unwrap();

        let mut restored = State::new(10);
        restore(&mut restored, load(&path, &config.client_key).expect("loads"), Clock::now());
        let later = Instant::now();
        let grant = restored.grants.grant_for_access_token(&second.access_token, later).expect("the access token lives");
        assert_eq!(grant.open_id, "_000maya");
        assert!(restored.grants.grant_for_access_token(&first.access_token, later).is_some());
        assert_eq!(
            restored.grants.refresh(&first.refresh_token, later, &config).unwrap_err(),
            crate::grants::GrantError::AlreadyUsed,
            "strict rotation holds across the restart"
        );
        assert!(restored.grants.refresh(&second.refresh_token, later, &config).is_ok());
        let publish = restored.publish(&publish_id).expect("the publish is back");
        assert_eq!(publish.aborted, Some("auth_removed"));
        assert_eq!(publish.settings.title, "hello");
        assert_eq!(restored.rate_windows[&("_000maya".to_owned(), Endpoint::CreatorInfo)].len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
