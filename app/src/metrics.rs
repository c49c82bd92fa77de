//! Prometheus metrics of this process (prometheus-client): one registry, written to by
//! one-line calls at the instrumented sites and rendered by the server's `GET /metrics`.
//!
//! Labels only ever carry bounded, non-secret values: route patterns (never raw paths),
//! endpoint names, outcomes and status codes. No token, e-mail address or id reaches a label.

use crate::{db::DbPool, tiktok::error::TikTokError};
use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{
        counter::Counter,
        family::Family,
        gauge::Gauge,
        histogram::{Histogram, exponential_buckets},
    },
    registry::Registry,
};
use std::{
    collections::BTreeMap,
    sync::{LazyLock, Mutex},
    time::{Duration, Instant},
};
use time::OffsetDateTime;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct HttpLabels {
    method: &'static str,
    route: String,
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    endpoint: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    endpoint: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct BreakerLabels {
    endpoint: &'static str,
    state: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    job: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn seconds_histogram() -> Histogram {
    // 5 ms to about 80 s.
    Histogram::new(exponential_buckets(0.005, 2.0, 15))
}

fn lateness_histogram() -> Histogram {
    // 50 ms to about 14 minutes: a post started within a second is the goal, hours are an outage.
    Histogram::new(exponential_buckets(0.05, 2.0, 15))
}

struct Metrics {
    registry: Registry,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histograms<RouteLabels>,
    posts: Family<OutcomeLabels, Counter>,
    lateness: Histogram,
    tiktok_calls: Family<CallLabels, Counter>,
    tiktok_duration: Histograms<EndpointLabels>,
    breakers: Family<BreakerLabels, Gauge>,
    rate_limit_waits: Counter,
    rate_limit_wait_seconds: Histogram,
    token_refreshes: Family<OutcomeLabels, Counter>,
    uploaded_bytes: Counter,
    pulled_bytes: Counter,
    pool_in_use: Family<PoolLabels, Gauge>,
    pool_idle: Family<PoolLabels, Gauge>,
    pool_max: Family<PoolLabels, Gauge>,
    pool_waiting: Family<PoolLabels, Gauge>,
    pool_timeouts: Counter,
    job_runs: Family<JobLabels, Counter>,
    job_overruns: Family<JobLabels, Counter>,
    job_duration: Histograms<JobLabels>,
    emails: Family<OutcomeLabels, Counter>,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("cadence");
    let m = Metrics {
        http_requests: Family::default(),
        http_duration: Family::new_with_constructor(seconds_histogram),
        posts: Family::default(),
        lateness: lateness_histogram(),
        tiktok_calls: Family::default(),
        tiktok_duration: Family::new_with_constructor(seconds_histogram),
        breakers: Family::default(),
        rate_limit_waits: Counter::default(),
        rate_limit_wait_seconds: Histogram::new(exponential_buckets(1.0, 4.0, 9)),
        token_refreshes: Family::default(),
        uploaded_bytes: Counter::default(),
        pulled_bytes: Counter::default(),
        pool_in_use: Family::default(),
        pool_idle: Family::default(),
        pool_max: Family::default(),
        pool_waiting: Family::default(),
        pool_timeouts: Counter::default(),
        job_runs: Family::default(),
        job_overruns: Family::default(),
        job_duration: Family::new_with_constructor(seconds_histogram),
        emails: Family::default(),
        registry: Registry::default(),
    };
    let r = &mut registry;
    r.register("http_requests", "HTTP requests by matched route pattern, method and status", m.http_requests.clone());
    r.register("http_request_duration_seconds", "Time to answer an HTTP request, by route pattern", m.http_duration.clone());
    r.register("posts", "Posts by what became of a send: published, failed, unconfirmed, in_inbox, retrying, deferred", m.posts.clone());
    r.register("publish_lateness_seconds", "From a scheduled post's due time to Cadence asking TikTok to start it", m.lateness.clone());
    r.register("tiktok_calls", "Calls to TikTok by endpoint and result", m.tiktok_calls.clone());
    r.register("tiktok_call_duration_seconds", "Latency of calls to TikTok by endpoint", m.tiktok_duration.clone());
    r.register("tiktok_breaker_state", "1 for the current state of each endpoint's circuit breaker", m.breakers.clone());
    r.register("rate_limit_waits", "Sends deferred by TikTok's per-account limits", m.rate_limit_waits.clone());
    r.register("rate_limit_wait_seconds", "How long a deferred send waits for its limit", m.rate_limit_wait_seconds.clone());
    r.register("token_refreshes", "TikTok token renewals by outcome", m.token_refreshes.clone());
    r.register("uploaded_bytes", "Video bytes TikTok accepted from Cadence's chunked uploads", m.uploaded_bytes.clone());
    r.register("pulled_bytes", "Media bytes served for TikTok to pull (PULL_FROM_URL)", m.pulled_bytes.clone());
    r.register("db_pool_connections_in_use", "Database connections checked out, by pool", m.pool_in_use.clone());
    r.register("db_pool_connections_idle", "Open database connections waiting in the pool", m.pool_idle.clone());
    r.register("db_pool_connections_max", "Size limit of each database pool", m.pool_max.clone());
    r.register("db_pool_waiting", "Tasks waiting for a database connection right now", m.pool_waiting.clone());
    r.register("db_pool_wait_timeouts", "Requests that found no free database connection in time (answered 503)", m.pool_timeouts.clone());
    r.register("scheduler_job_runs", "Runs of each background job", m.job_runs.clone());
    r.register("scheduler_job_overruns", "Ticks skipped because the job's previous run was still going", m.job_overruns.clone());
    r.register("scheduler_job_duration_seconds", "Duration of each background job's runs", m.job_duration.clone());
    r.register("emails", "E-mails by outcome: sent, retrying, gave_up", m.emails.clone());
    Metrics { registry, ..m }
});

/// One answered HTTP request; `route` is the matched pattern (e.g. `/posts/{id}`).
pub fn http_request(method: &http::Method, route: &str, status: u16, took: Duration) {
    // Any other method is one label value, so nobody can grow the series by inventing methods.
    const KNOWN: [&str; 7] = ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];
    let method = KNOWN.into_iter().find(|known| *known == method.as_str()).unwrap_or("other");
    let m = &*METRICS;
    m.http_requests.get_or_create(&HttpLabels { method, route: route.to_owned(), status: status.to_string() }).inc();
    m.http_duration.get_or_create(&RouteLabels { route: route.to_owned() }).observe(took.as_secs_f64());
}

/// What became of a send of a post.
pub fn post_outcome(outcome: &'static str) {
    METRICS.posts.get_or_create(&OutcomeLabels { outcome }).inc();
}

/// A scheduled post is being started at TikTok now; "Post now" posts (no due time) are not late.
pub fn publish_started(scheduled_at: Option<OffsetDateTime>) {
    if let Some(due) = scheduled_at {
        METRICS.lateness.observe((OffsetDateTime::now_utc() - due).as_seconds_f64().max(0.0));
    }
}

/// One call to a TikTok endpoint and how it went.
pub fn tiktok_call<T>(endpoint: &'static str, result: &Result<T, TikTokError>, took: Duration) {
    let result = match result {
        Ok(_) => "ok",
        Err(TikTokError::Unauthorized { .. }) => "unauthorized",
        Err(TikTokError::RateLimited { .. }) => "rate_limited",
        Err(TikTokError::Rejected { .. }) => "rejected",
        Err(TikTokError::Transient(_)) => "transient",
        Err(TikTokError::ReplyLost(_)) => "reply_lost",
        Err(TikTokError::Protocol(_)) => "protocol",
    };
    METRICS.tiktok_calls.get_or_create(&CallLabels { endpoint, result }).inc();
    METRICS.tiktok_duration.get_or_create(&EndpointLabels { endpoint }).observe(took.as_secs_f64());
}

/// A send waits for one of TikTok's per-account limits.
pub fn rate_limit_wait(wait: Duration) {
    METRICS.rate_limit_waits.inc();
    METRICS.rate_limit_wait_seconds.observe(wait.as_secs_f64());
}

/// A token renewal ended with `outcome` (`refreshed`, `already_fresh`, `needs_reconnect`, …).
pub fn token_refresh(outcome: &'static str) {
    METRICS.token_refreshes.get_or_create(&OutcomeLabels { outcome }).inc();
}

/// How a token renewal ended, as [`token_refresh`] counts it.
pub fn token_refresh_result(result: &crate::error::AppResult<crate::accounts::refresh::RefreshOutcome>) {
    use crate::accounts::refresh::RefreshOutcome;
    token_refresh(match result {
        Ok(RefreshOutcome::Refreshed) => "refreshed",
        Ok(RefreshOutcome::AlreadyFresh) => "already_fresh",
        Ok(RefreshOutcome::NeedsReconnect) => "needs_reconnect",
        Ok(RefreshOutcome::Skipped) => "skipped",
        Err(_) => "error",
    });
}

/// TikTok accepted `bytes` more of an upload.
pub fn bytes_uploaded(bytes: u64) {
    METRICS.uploaded_bytes.inc_by(bytes);
}

/// TikTok pulled `bytes` of media from Cadence (ready for PULL_FROM_URL).
pub fn bytes_pulled(bytes: u64) {
    METRICS.pulled_bytes.inc_by(bytes);
}

/// A request gave up waiting for a database connection.
pub fn pool_wait_timeout() {
    METRICS.pool_timeouts.inc();
}

/// An e-mail was sent, will be tried again, or was given up.
pub fn email(outcome: &'static str) {
    METRICS.emails.get_or_create(&OutcomeLabels { outcome }).inc();
}

/// When a background job last ran, for `/healthz`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct JobRecord {
    pub last_started: OffsetDateTime,
    pub last_finished: Option<OffsetDateTime>,
    pub last_duration: Option<Duration>,
    pub overruns: u64,
}

static JOBS: LazyLock<Mutex<BTreeMap<&'static str, JobRecord>>> = LazyLock::new(Default::default);

/// Marks one run of `job`; the run ends (and is timed) when the guard drops.
#[must_use = "the run is timed until the guard drops"]
pub fn job_run(job: &'static str) -> JobRun {
    METRICS.job_runs.get_or_create(&JobLabels { job }).inc();
    let now = OffsetDateTime::now_utc();
    let mut jobs = JOBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let record = jobs.entry(job).or_insert(JobRecord { last_started: now, last_finished: None, last_duration: None, overruns: 0 });
    record.last_started = now;
    JobRun { job, started: Instant::now() }
}

/// A tick of `job` found its previous run still going and was skipped.
pub fn job_overrun(job: &'static str) {
    METRICS.job_overruns.get_or_create(&JobLabels { job }).inc();
    if let Some(record) = JOBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_mut(job) {
        record.overruns += 1;
    }
}

/// The jobs of this process and their last runs.
pub fn job_records() -> BTreeMap<&'static str, JobRecord> {
    JOBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
}

/// One run of a job in progress (see [`job_run`]).
pub struct JobRun {
    job: &'static str,
    started: Instant,
}

impl Drop for JobRun {
    fn drop(&mut self) {
        let took = self.started.elapsed();
        METRICS.job_duration.get_or_create(&JobLabels { job: self.job }).observe(took.as_secs_f64());
        if let Some(record) = JOBS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).get_mut(self.job) {
            record.last_finished = Some(OffsetDateTime::now_utc());
            record.last_duration = Some(took);
        }
    }
}

type WeakDbPool = deadpool::managed::WeakPool<diesel_async::pooled_connection::AsyncDieselConnectionManager<diesel_async::AsyncPgConnection>>;

/// Pools whose status each scrape reads; weak, so a dropped pool is simply forgotten.
static POOLS: LazyLock<Mutex<Vec<(&'static str, WeakDbPool)>>> = LazyLock::new(Default::default);

/// Reports `pool`'s connections as `name` (`web`, `jobs`) from now on.
pub fn register_pool(name: &'static str, pool: &DbPool) {
    POOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push((name, pool.weak()));
}

/// The metrics in Prometheus' (OpenMetrics) text format, with the gauges read now: the pools'
/// status and the state of each of `breakers` (endpoint, `closed` / `open` / `half_open`).
pub fn render(breakers: &[(&'static str, &'static str)]) -> String {
    // Gauges set and written under one lock, so two scrapes never mix their readings.
    static RENDERING: Mutex<()> = Mutex::new(());
    let _rendering = RENDERING.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let m = &*METRICS;
    let mut totals: BTreeMap<&'static str, (i64, i64, i64, i64)> = BTreeMap::new();
    POOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).retain(|(name, weak)| {
        let Some(pool) = weak.upgrade() else { return false };
        let status = pool.status();
        let total = totals.entry(*name).or_default();
        total.0 += status.size as i64 - status.available as i64;
        total.1 += status.available as i64;
        total.2 += status.max_size as i64;
        total.3 += status.waiting as i64;
        true
    });
    for (pool, (in_use, idle, max, waiting)) in totals {
        let labels = PoolLabels { pool };
        m.pool_in_use.get_or_create(&labels).set(in_use);
        m.pool_idle.get_or_create(&labels).set(idle);
        m.pool_max.get_or_create(&labels).set(max);
        m.pool_waiting.get_or_create(&labels).set(waiting);
    }
    for &(endpoint, current) in breakers {
        for state in crate::tiktok::breaker::STATES {
            m.breakers.get_or_create(&BreakerLabels { endpoint, state }).set(i64::from(state == current));
        }
    }
    let mut text = String::new();
    // Writing into a String cannot fail.
    let _ = encode(&mut text, &m.registry);
    text
}

/// The content type of [`render`]'s text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instrumented_sites_show_in_the_text_with_bounded_labels() {
        http_request(&http::Method::from_bytes(b"BREW").unwrap(), "/posts/{id}", 200, Duration::from_millis(3));
        post_outcome("published");
        publish_started(Some(OffsetDateTime::now_utc() - time::Duration::seconds(2)));
        tiktok_call::<()>("/v2/post/publish/video/init/", &Err(TikTokError::RateLimited { retry_after: None }), Duration::from_millis(40));
        let _ = job_run("unit_test_job");
        job_overrun("unit_test_job");
        let text = render(&[("publish_status", "open")]);
        assert!(text.contains(r#"cadence_http_requests_total{method="other",route="/posts/{id}",status="200"}"#), "{text}");
        assert!(text.contains(r#"cadence_posts_total{outcome="published"}"#), "{text}");
        assert!(text.contains(r#"cadence_tiktok_calls_total{endpoint="/v2/post/publish/video/init/",result="rate_limited"}"#), "{text}");
        assert!(text.contains(r#"cadence_tiktok_breaker_state{endpoint="publish_status",state="open"} 1"#), "{text}");
        assert!(text.contains(r#"cadence_tiktok_breaker_state{endpoint="publish_status",state="closed"} 0"#), "{text}");
        assert!(text.contains("cadence_publish_lateness_seconds_count"), "{text}");
        assert!(text.contains(r#"cadence_scheduler_job_overruns_total{job="unit_test_job"}"#), "{text}");
        assert!(text.ends_with("# EOF\n"), "OpenMetrics ends with EOF");
        let record = job_records()["unit_test_job"];
        assert!(record.last_finished.is_some() && record.overruns >= 1);
    }
}
