//! Everything the sandbox remembers between requests, behind one short-held lock.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::config::SandboxConfig;
use crate::faults::{Endpoint, Fault};
use crate::fixtures::CreatorFixture;
use crate::grants::Grants;
use crate::publish::Publish;
use crate::recording::RecordedRequest;
use crate::webhooks::WebhookDelivery;

/// How many requests and webhook deliveries are kept; older ones are dropped so a long local
/// run does not grow without bound.
pub const REQUEST_LOG_LIMIT: usize = 10_000;
pub const WEBHOOK_LOG_LIMIT: usize = 1_000;

/// The shared core of a [`crate::Sandbox`].
pub struct Inner {
    pub config: SandboxConfig,
    pub creators: Vec<CreatorFixture>,
    /// Webhook sender; `None` only if the HTTP client could not be built (then webhooks are logged
    /// as undeliverable).
    pub http: Option<reqwest::Client>,
    state: Mutex<State>,
}

impl Inner {
    pub fn new(config: SandboxConfig, creators: Vec<CreatorFixture>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .inspect_err(|error| tracing::warn!(%error, "sandbox webhooks disabled: no HTTP client"))
            .ok();
        Self { config, creators, http, state: Mutex::new(State::default()) }
    }

    /// The lock is never held across an `.await`; a panic while holding it cannot leave the
    /// maps half-updated in a way that matters for a test double, so poisoning is ignored.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn creator(&self, open_id: &str) -> Option<&CreatorFixture> {
        self.creators.iter().find(|creator| creator.open_id == open_id)
    }
}

#[derive(Default)]
pub struct State {
    pub grants: Grants,
    /// In creation order.
    pub publishes: Vec<Publish>,
    /// Accepted calls per (open_id, endpoint) in the last minute.
    pub rate_windows: HashMap<(String, Endpoint), VecDeque<Instant>>,
    /// Scripted faults, consumed front to back.
    pub faults: VecDeque<Fault>,
    pub requests: VecDeque<RecordedRequest>,
    pub next_request_seq: u64,
    pub webhooks: VecDeque<WebhookDelivery>,
    pub next_webhook_seq: u64,
}

impl State {
    pub fn publish(&self, publish_id: &str) -> Option<&Publish> {
        self.publishes.iter().find(|publish| publish.id == publish_id)
    }

    pub fn publish_mut(&mut self, publish_id: &str) -> Option<&mut Publish> {
        self.publishes.iter_mut().find(|publish| publish.id == publish_id)
    }

    pub fn publish_by_upload_mut(&mut self, upload_id: &str) -> Option<&mut Publish> {
        self.publishes.iter_mut().find(|publish| publish.upload.upload_id == upload_id)
    }

    pub fn push_request(&mut self, mut request: RecordedRequest) -> u64 {
        let seq = self.next_request_seq;
        self.next_request_seq += 1;
        request.seq = seq;
        if self.requests.len() == REQUEST_LOG_LIMIT {
            self.requests.pop_front();
        }
        self.requests.push_back(request);
        seq
    }

    pub fn request_mut(&mut self, seq: u64) -> Option<&mut RecordedRequest> {
        self.requests.iter_mut().rev().find(|request| request.seq == seq)
    }

    pub fn push_webhook(&mut self, mut delivery: WebhookDelivery) -> u64 {
        let seq = self.next_webhook_seq;
        self.next_webhook_seq += 1;
        delivery.seq = seq;
        if self.webhooks.len() == WEBHOOK_LOG_LIMIT {
            self.webhooks.pop_front();
        }
        self.webhooks.push_back(delivery);
        seq
    }

    pub fn webhook_mut(&mut self, seq: u64) -> Option<&mut WebhookDelivery> {
        self.webhooks.iter_mut().rev().find(|delivery| delivery.seq == seq)
    }
}
