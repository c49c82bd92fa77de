//! A faithful local stand-in for TikTok's Login Kit, Display and Content Posting APIs.
//!
//! [`Sandbox::router`] serves TikTok's own paths (relative, trailing slashes included) plus a
//! `/_sandbox/` control room. Cadence nests it under `/sandbox/tiktok` in its own server; tests
//! drive it in process; [`serve`] runs it on its own listener.

pub mod synthetic;
mod access;
mod admin;
mod app_videos;
mod audience;
mod catalog;
mod chunks;
mod config;
mod consent;
mod control_access;
mod envelope;
mod faults;
mod fixtures;
mod grants;
mod html;
mod ids;
mod media;
mod oauth;
mod photos;
mod persistence;
mod posting;
mod publish;
mod pull;
mod recording;
mod registration;
mod resources;
mod state;
mod upload;
mod webhooks;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{get, post, put};

pub use app_videos::AppVideo;
pub use audience::{CreatorCounts, VideoCounts, creator_counts, video_counts};
pub use config::SandboxConfig;
pub use photos::{MAX_IMAGES, MAX_IMAGE_BYTES, synthetic_jpeg};
pub use faults::{Endpoint, Fault, FaultKind};
pub use fixtures::{CreatorFixture, PostingCondition, PrivacyLevel};
pub use recording::RecordedRequest;
pub use webhooks::{WebhookAttempt, WebhookDelivery, signature as webhook_signature};

use state::Inner;

/// One sandboxed TikTok: its configuration, seeded creators and everything that happened.
/// Cheap to clone; clones share state.
#[derive(Clone)]
pub struct Sandbox {
    pub(crate) inner: Arc<Inner>,
}

impl Sandbox {
    pub fn new(config: SandboxConfig) -> Self {
        let mut creators = fixtures::seeded_creators();
        creators.extend(fixtures::generated_creators(config.generated_creators));
        Self { inner: Arc::new(Inner::new(config, creators)) }
    }

    /// Writes the state file now if anything changed (a no-op without `state_file`); call it
    /// at shutdown. True when it wrote.
    pub fn save_state(&self) -> std::io::Result<bool> {
        persistence::save_if_changed(&self.inner)
    }

    /// With a `state_file`: writes changes every [`persistence::SAVE_INTERVAL`] for as long as
    /// the sandbox exists, sends the webhooks that loaded publishes still owe, and fails the
    /// downloads a restart cut off (`video_pull_failed`, as a broken connection is). Needs Tokio.
    pub fn keep_saving(&self) {
        if self.inner.config.state_file.is_none() {
            return;
        }
        let config = &self.inner.config;
        let owed: Vec<(String, Instant, Option<Instant>)> = self
            .inner
            .lock_quietly()
            .publishes
            .iter()
            .filter(|publish| !publish.notified || (publish.post_id.is_some() && !publish.announced_public))
            .filter_map(|publish| {
                let final_at = publish.completed_at? + config.processing_delay;
                Some((publish.id.clone(), final_at, publish.moderated_at(config.processing_delay, config.moderation_delay)))
            })
            .collect();
        for (publish_id, final_at, moderated_at) in owed {
            publish::notify_when_final(self, publish_id, final_at, moderated_at);
        }
        pull::fail_cut_off(self);
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(persistence::SAVE_INTERVAL).await;
                let Some(inner) = weak.upgrade() else { break };
                // File writes block; keep them off the runtime's worker threads.
                match tokio::task::spawn_blocking(move || persistence::save_if_changed(&inner)).await {
                    Ok(Err(error)) => tracing::warn!(%error, "the sandbox's state could not be saved; retrying"),
                    Ok(Ok(_)) => {}
                    Err(_) => break,
                }
            }
        });
    }

    /// All routes, with paths relative to wherever the router is mounted.
    pub fn router(&self) -> Router {
        // Fault injection and recording wrap only TikTok's routes (and unknown paths), so the
        // control room neither records itself nor can be broken by a scripted fault.
        let tiktok = Router::new()
            .route("/v2/auth/authorize/", get(consent::show).post(consent::decide))
            .route("/v2/oauth/token/", post(oauth::token))
            .route("/v2/oauth/revoke/", post(oauth::revoke))
            .route("/v2/user/info/", get(resources::user_info))
            .route("/v2/video/list/", post(resources::video_list))
            .route("/v2/video/query/", post(resources::video_query))
            .route("/v2/post/publish/creator_info/query/", post(posting::creator_info))
            .route("/v2/post/publish/video/init/", post(posting::direct_init))
            .route("/v2/post/publish/inbox/video/init/", post(posting::inbox_init))
            .route("/v2/post/publish/status/fetch/", post(posting::status_fetch))
            .route("/v2/post/publish/cancel/", post(posting::cancel))
            .route("/v2/post/publish/content/init/", post(photos::content_init))
            .route("/upload/video/", put(upload::put))
            .fallback(|| async { (StatusCode::NOT_FOUND, "404 page not found") })
            .layer(middleware::from_fn_with_state(self.clone(), faults::layer))
            .layer(middleware::from_fn_with_state(self.clone(), recording::layer));
        tiktok.merge(admin::routes(self)).with_state(self.clone())
    }

    /// Every request seen (the latest 10,000), oldest first.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.inner.lock().requests.iter().cloned().collect()
    }

    /// Queues a fault: after `fault.skip` untouched calls matching `fault.endpoint`, the next
    /// `fault.count` get `fault.kind`.
    pub fn inject(&self, fault: Fault) {
        if fault.count > 0 {
            self.inner.lock().faults.push_back(fault);
        }
    }

    /// Faults still queued, with their remaining counts.
    pub fn faults(&self) -> Vec<Fault> {
        self.inner.lock().faults.iter().cloned().collect()
    }

    pub fn clear_faults(&self) {
        self.inner.lock().faults.clear();
    }

    /// Makes every TikTok API call take at least `latency` before it is answered, as calls to
    /// the real API do (a round trip across the internet); load tests use it. Zero by default.
    pub fn set_latency(&self, latency: std::time::Duration) {
        let millis = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
        self.inner.latency_ms.store(millis, std::sync::atomic::Ordering::Relaxed);
    }

    /// As if the creator removed the app in TikTok: every grant dies, unfinished publishes fail
    /// with `auth_removed`, and `authorization.removed` (reason 1) is sent. Nothing happens if the
    /// creator has not authorized the app.
    pub fn revoke_creator(&self, open_id: &str) {
        let authorized = self.inner.lock().grants.active(Instant::now()).iter().any(|grant| grant.open_id == open_id);
        if authorized {
            oauth::authorization_removed(self, open_id, oauth::REASON_USER_DISCONNECTED);
        }
    }

    /// As if the creator opened the inbox notification and posted draft `publish_id` in the
    /// TikTok app: its status becomes `PUBLISH_COMPLETE`, it stops counting as a pending share,
    /// and `post.publish.complete` is sent. False if it is not a draft waiting in the inbox.
    pub fn post_draft(&self, publish_id: &str) -> bool {
        let delay = self.inner.config.processing_delay;
        let (open_id, publish_type) = {
            let mut state = self.inner.lock();
            let Some(publish) = state.publish_mut(publish_id) else {
                return false;
            };
            if !publish.post_from_inbox(Instant::now(), delay) {
                return false;
            }
            (publish.open_id.clone(), publish.kind.publish_type())
        };
        let content = serde_json::json!({ "publish_id": publish_id, "publish_type": publish_type });
        webhooks::emit(self, &open_id, "post.publish.complete", content);
        true
    }

    /// As if the creator posted a public video in the TikTok app `age` ago: the Display API
    /// lists it (with counts as old as it is) though no API client ever saw a publish for it.
    /// Returns its post id, or `None` for an unknown creator.
    pub fn post_in_app(&self, open_id: &str, title: &str, age: std::time::Duration) -> Option<String> {
        self.inner.creator(open_id)?;
        let age_ms = i64::try_from(age.as_millis()).unwrap_or(i64::MAX);
        let mut state = self.inner.lock();
        let mut published_ms = catalog::now_ms().saturating_sub(age_ms);
        // Each video of a creator keeps its own millisecond, so the list's cursor never skips one.
        let taken = |state: &state::State, ms: i64| {
            state.app_videos.iter().any(|video| video.open_id == open_id && video.published_ms == ms)
                || state.publishes.iter().any(|publish| publish.open_id == open_id && publish.published_ms == Some(ms))
        };
        while taken(&state, published_ms) {
            published_ms -= 1;
        }
        let post_id = ids::nineteen_digits();
        state.app_videos.push(AppVideo {
            open_id: open_id.to_owned(),
            post_id,
            published_ms,
            title: title.to_owned(),
            duration_secs: 15,
        });
        Some(post_id.to_string())
    }

    /// Videos posted in the TikTok app so far.
    pub fn app_videos(&self) -> Vec<AppVideo> {
        self.inner.lock().app_videos.clone()
    }

    /// What became of every publish: TikTok's own record, to check a client against.
    pub fn publishes(&self) -> Vec<PublishRecord> {
        let now = Instant::now();
        let delay = self.inner.config.processing_delay;
        self.inner
            .lock()
            .publishes
            .iter()
            .map(|publish| {
                let status = publish.status(now, delay);
                PublishRecord {
                    publish_id: publish.id.clone(),
                    open_id: publish.open_id.clone(),
                    upload_complete: publish.has_every_byte(),
                    pulled: publish.pull.is_some(),
                    status: status.as_str().to_owned(),
                    fail_reason: match status {
                        publish::Status::Failed(reason) => Some(reason.to_owned()),
                        _ => None,
                    },
                    post_id: publish.post_id.map(|id| id.to_string()),
                }
            })
            .collect()
    }

    /// When `refresh_token` was first spent on a successful refresh, if it was. The request log
    /// redacts tokens, so a test that must know whether a stored token was spent asks here.
    pub fn refresh_token_used_at(&self, refresh_token: &str) -> Option<time::OffsetDateTime> {
        self.inner.lock().grants.refresh_token_used_at(refresh_token)
    }

    /// The next `count` PULL_FROM_URL downloads break off after their first range, and fail with
    /// `video_pull_failed` as TikTok's do when the URL's server drops the connection.
    pub fn fail_next_pulls(&self, count: u32) {
        self.inner.lock().pull_faults.fail_next = count;
    }

    /// PULL_FROM_URL downloads read at most `bytes_per_sec` (`None`: no limit), as over a slow line.
    pub fn set_pull_rate(&self, bytes_per_sec: Option<u64>) {
        self.inner.lock().pull_faults.bytes_per_sec = bytes_per_sec;
    }

    /// Bytes downloaded so far by PULL_FROM_URL publish `publish_id`.
    pub fn downloaded_bytes(&self, publish_id: &str) -> Option<u64> {
        self.inner.lock().publish(publish_id).and_then(|publish| publish.pull.as_ref()).map(|pull| pull.downloaded)
    }

    /// The seeded creators (and any generated ones).
    pub fn creators(&self) -> Vec<CreatorFixture> {
        self.inner.creators.clone()
    }

    /// Webhook events raised so far (the latest 1,000) and how their delivery went.
    pub fn webhook_deliveries(&self) -> Vec<WebhookDelivery> {
        self.inner.lock().webhooks.iter().cloned().collect()
    }

    pub fn config(&self) -> &SandboxConfig {
        &self.inner.config
    }
}

/// One publish as the sandbox knows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishRecord {
    pub publish_id: String,
    pub open_id: String,
    /// Every byte of the video arrived: TikTok will publish it (or fail it in processing).
    pub upload_complete: bool,
    /// Its media came by PULL_FROM_URL (downloaded by TikTok) rather than by FILE_UPLOAD.
    pub pulled: bool,
    /// TikTok's status value, e.g. `PUBLISH_COMPLETE`.
    pub status: String,
    pub fail_reason: Option<String>,
    /// The public post id TikTok gives this publish (after moderation), withheld from clients
    /// or not: the truth a client's own finding is checked against.
    pub post_id: Option<String>,
}

/// Serves the sandbox at the root of `listener` until the process ends.
pub async fn serve(listener: tokio::net::TcpListener, sandbox: Sandbox) -> std::io::Result<()> {
    axum::serve(listener, sandbox.router()).await
}
