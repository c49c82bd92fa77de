//! Everything the sandbox remembers between requests, behind one short-held lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::app_videos::AppVideo;
use crate::config::SandboxConfig;
use crate::faults::{Endpoint, Fault};
use crate::fixtures::CreatorFixture;
use crate::grants::Grants;
use crate::publish::Publish;
use crate::recording::RecordedRequest;
use crate::webhooks::WebhookDelivery;

/// How many webhook deliveries are kept; older ones are dropped so a long local run does not
/// grow without bound. (The request log's limit is in [`SandboxConfig`].)
pub const WEBHOOK_LOG_LIMIT: usize = 1_000;

/// A record that a [`BoundedLog`] numbers.
pub trait Sequenced {
    fn set_seq(&mut self, seq: u64);
    fn seq(&self) -> u64;
}

/// Numbered records, newest last, keeping only the latest `limit`.
pub struct BoundedLog<T> {
    entries: VecDeque<T>,
    next_seq: u64,
    limit: usize,
}

impl<T: Sequenced> BoundedLog<T> {
    pub fn new(limit: usize) -> Self {
        Self { entries: VecDeque::new(), next_seq: 0, limit: limit.max(1) }
    }

    /// Numbers the entry, drops the oldest if full, and returns the number.
    pub fn push(&mut self, mut entry: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        entry.set_seq(seq);
        if self.entries.len() == self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        seq
    }

    /// The entry numbered `seq`, if it is still kept (searched from the newest).
    pub fn get_mut(&mut self, seq: u64) -> Option<&mut T> {
        self.entries.iter_mut().rev().find(|entry| entry.seq() == seq)
    }

    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &T> {
        self.entries.iter()
    }
}

/// The shared core of a [`crate::Sandbox`].
pub struct Inner {
    pub config: SandboxConfig,
    pub creators: Vec<CreatorFixture>,
    /// Webhook sender; `None` only if the HTTP client could not be built (then webhooks are logged
    /// as undeliverable).
    pub http: Option<reqwest::Client>,
    /// Added before every TikTok API reply, in milliseconds (see [`crate::Sandbox::set_latency`]).
    pub latency_ms: std::sync::atomic::AtomicU64,
    /// Counts every lock taken (a possible change); the saver compares it with the last save's.
    pub generation: std::sync::atomic::AtomicU64,
    pub saved_generation: std::sync::atomic::AtomicU64,
    /// Serializes writes of the state file.
    pub save_lock: Mutex<()>,
    state: Mutex<State>,
}

impl Inner {
    pub fn new(config: SandboxConfig, creators: Vec<CreatorFixture>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .inspect_err(|error| tracing::warn!(%error, "sandbox webhooks disabled: no HTTP client"))
            .ok();
        let mut state = State::new(config.request_log_limit);
        if let Some(saved) = config.state_file.as_deref().and_then(|path| crate::persistence::load(path, &config.client_key)) {
            crate::persistence::restore(&mut state, saved, crate::persistence::Clock::now());
            tracing::info!(grants = state.grants.active(Instant::now()).len(), publishes = state.publishes.len(), "sandbox state loaded");
        }
        Self {
            config,
            creators,
            http,
            latency_ms: std::sync::atomic::AtomicU64::new(0),
            generation: std::sync::atomic::AtomicU64::new(0),
            saved_generation: std::sync::atomic::AtomicU64::new(0),
            save_lock: Mutex::new(()),
            state: Mutex::new(state),
        }
    }

    /// The lock is never held across an `.await`; a panic while holding it cannot leave the
    /// maps half-updated in a way that matters for a test double, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.lock_quietly()
    }

    /// The lock, without counting as a change (for the saver itself).
    pub fn lock_quietly(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn creator(&self, open_id: &str) -> Option<&CreatorFixture> {
        self.creators.iter().find(|creator| creator.open_id == open_id)
    }
}

pub struct State {
    pub grants: Grants,
    /// In creation order.
    pub publishes: Vec<Publish>,
    /// Accepted calls per (open_id, endpoint) in the last minute.
    pub rate_windows: HashMap<(String, Endpoint), VecDeque<Instant>>,
    /// Scripted faults, consumed front to back.
    pub faults: VecDeque<Fault>,
    pub requests: BoundedLog<RecordedRequest>,
    pub webhooks: BoundedLog<WebhookDelivery>,
    /// Videos creators posted in the TikTok app (not through an API client).
    pub app_videos: Vec<AppVideo>,
    /// Slowness and failures injected into PULL_FROM_URL downloads.
    pub pull_faults: crate::pull::PullFaults,
}

impl Default for State {
    fn default() -> Self {
        Self::new(SandboxConfig::default().request_log_limit)
    }
}

impl State {
    pub fn new(request_log_limit: usize) -> Self {
        Self {
            grants: Grants::default(),
            publishes: Vec::new(),
            rate_windows: HashMap::new(),
            faults: VecDeque::new(),
            requests: BoundedLog::new(request_log_limit),
            webhooks: BoundedLog::new(WEBHOOK_LOG_LIMIT),
            app_videos: Vec::new(),
            pull_faults: crate::pull::PullFaults::default(),
        }
    }

    pub fn publish(&self, publish_id: &str) -> Option<&Publish> {
        self.publishes.iter().find(|publish| publish.id == publish_id)
    }

    pub fn publish_mut(&mut self, publish_id: &str) -> Option<&mut Publish> {
        self.publishes.iter_mut().find(|publish| publish.id == publish_id)
    }

    pub fn publish_by_upload_mut(&mut self, upload_id: &str) -> Option<&mut Publish> {
        self.publishes.iter_mut().find(|publish| publish.upload.upload_id == upload_id)
    }

}

#[cfg(test)]
mod log_tests {
    use super::{BoundedLog, Sequenced};

    struct Entry(u64);

    impl Sequenced for Entry {
        fn set_seq(&mut self, seq: u64) {
            self.0 = seq;
        }

        fn seq(&self) -> u64 {
            self.0
        }
    }

    #[test]
    fn numbers_entries_and_keeps_only_the_newest() {
        let mut log: BoundedLog<Entry> = BoundedLog::new(2);
        assert_eq!((log.push(Entry(99)), log.push(Entry(99)), log.push(Entry(99))), (0, 1, 2));
        assert_eq!(log.iter().map(|e| e.0).collect::<Vec<_>>(), [1, 2], "the oldest was dropped");
        assert!(log.get_mut(0).is_none());
        assert_eq!(log.get_mut(2).map(|e| e.0), Some(2));
    }
}
