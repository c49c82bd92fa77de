//! Fault soak, a matrix of columns: many scheduled posts on many accounts, sent by two real
//! server processes while the sandbox injects 429s, 5xx, timeouts, dropped connections and
//! refused tokens and creators revoke access, and, per column, a server is SIGKILLed and
//! replaced, one server's database connections stall past its lease, or PostgreSQL restarts,
//! again and again. One of the two servers (and whatever replaces it) hands TikTok pull URLs
//! instead of uploading, so a share of the posts go by PULL_FROM_URL through the same faults,
//! and a quarter of the posts are photo carousels, which only such a server sends.
//! At the end every post is published exactly once or stopped with a reason,
//! no refresh token was lost (but to a kill mid-rotation), and TikTok's own record (the
//! sandbox's publishes and request log) agrees with Cadence's.
//!
//! CI runs a short form of each column (`SOAK_POSTS`, default 60 for kills and 30 for the
//! others); `scripts/soak [posts] [column]` runs 1,000.

mod disruption;
mod verdict;

use crate::util::{
    TestApp,
    ledger,
    sandbox::{TestSandbox, connected_account},
    photo_upload::PhotoUpload,
    test_db::TestDb,
    upload::Upload,
};
use disruption::{Column, Disruption};
use sandbox::{Endpoint, Fault, FaultKind, SandboxConfig, synthetic::SyntheticVideo};
use std::{
    collections::BTreeSet,
    time::{Duration, Instant},
};
use time::OffsetDateTime;

/// Posts per account: well under Cadence's and TikTok's daily cap of 15 direct posts, so the
/// re-sends that faults cause never push a post into tomorrow.
const POSTS_PER_ACCOUNT: usize = 3;

/// What the soak injects, drawn in turn by a seeded generator. A dropped init leaves Cadence
/// not knowing whether TikTok started a post, so such a post stops as "unconfirmed" for a person.
const FAULTS: [(Endpoint, FaultKind); 15] = [
    (Endpoint::VideoInit, FaultKind::Status429),
    (Endpoint::VideoInit, FaultKind::Status503),
    (Endpoint::VideoInit, FaultKind::AccessTokenInvalid),
    (Endpoint::VideoInit, FaultKind::DropConnection),
    (Endpoint::Upload, FaultKind::Status500),
    (Endpoint::Upload, FaultKind::DropConnection),
    (Endpoint::Upload, FaultKind::Status503),
    (Endpoint::StatusFetch, FaultKind::Status503),
    (Endpoint::StatusFetch, FaultKind::DropConnection),
    (Endpoint::CreatorInfo, FaultKind::Status500),
    (Endpoint::CreatorInfo, FaultKind::Status429),
    (Endpoint::OauthToken, FaultKind::Status503),
    (Endpoint::StatusFetch, FaultKind::Timeout),
    (Endpoint::ContentInit, FaultKind::Status503),
    (Endpoint::ContentInit, FaultKind::DropConnection),
];

/// Every this many posts, one is a carousel of two photos instead of a video.
const PHOTO_EVERY: usize = 4;

/// xorshift64: the same faults, kills and revocations in the same order for a given seed.
pub struct Dice(u64);

impl Dice {
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[tokio::test(flavor = "multi_thread")]
async fn kills_of_server_processes_lose_no_post() {
    soak(Column::Kills, 60).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn stalls_of_a_servers_database_connections_lose_no_post() {
    soak(Column::Stalls, 30).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn restarts_of_postgres_lose_no_post() {
    soak(Column::Restarts, 30).await;
}

/// One column's run: `SOAK_POSTS` posts (else `default_posts`); `SOAK_KILLS`, `SOAK_STALLS`,
/// `SOAK_RESTARTS` set how many faults of the column, `SOAK_SEED` and `SOAK_MINUTES` the rest.
async fn soak(column: Column, default_posts: usize) {
    let total = setting("SOAK_POSTS", default_posts);
    let accounts = total.div_ceil(POSTS_PER_ACCOUNT);
    let disruptions_wanted = match column {
        Column::Kills => setting("SOAK_KILLS", if total > 200 { 10 } else { 3 }),
        Column::Stalls => setting("SOAK_STALLS", if total > 200 { 10 } else { 2 }),
        Column::Restarts => setting("SOAK_RESTARTS", if total > 200 { 5 } else { 2 }),
    };
    let revocations = (accounts / 20).max(1);
    let mut dice = Dice(setting("SOAK_SEED", 0x5eed) as u64 | 1);
    let started = Instant::now();

    let sandbox = TestSandbox::start_with(SandboxConfig {
        generated_creators: accounts,
        request_log_limit: 2_000_000,
        processing_delay: Duration::from_millis(200),
        // Short-lived access tokens, so renewals (and rotated refresh tokens) happen while
        // servers are being killed.
        access_token_ttl: Duration::from_secs(20),
        // TikTok's own cap out of the way: re-sends after faults start new publishes.
        daily_post_cap: 1_000,
        // Recovery waits out a killed server's upload URL before sending again.
        upload_url_ttl: Duration::from_secs(20),
        // One of the two servers hands TikTok pull URLs (`http://localhost:PORT/media/pull/…`,
        // a port-agnostic verified domain), so a share of the posts go by PULL_FROM_URL.
        verified_domains: vec!["localhost".to_owned()],
        allow_loopback_http_pulls: true,
        ..SandboxConfig::default()
    })
    .await;
    let postgres = Disruption::private_postgres(column).await;
    let app = match &postgres {
        Some(postgres) => {
            let settings = app_settings(&sandbox);
            let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
            TestApp::on_database(TestDb::migrated_on(&postgres.admin_url()).await, &refs)
        }
        None => {
            let settings = app_settings(&sandbox);
            let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
            TestApp::with_settings(&refs).await
        }
    };
    let mut owner = app.signed_up("Olga").await;
    let mut account_ids = Vec::new();
    for n in 1..=accounts {
        account_ids.push(connected_account(&sandbox, &mut owner, &format!("Creator {n:04}")).await);
    }
    let mut ids = Vec::new();
    for index in 0..total {
        let account = &account_ids[index % accounts];
        let later = OffsetDateTime::now_utc() + time::Duration::minutes(10);
        let outcome = if index % PHOTO_EVERY == PHOTO_EVERY - 1 {
            PhotoUpload::scheduled(account, "SELF_ONLY", 2, 20_000, later).send(&mut owner).await
        } else {
            Upload::scheduled(account, "SELF_ONLY", SyntheticVideo::mp4(15, 400_000), later).send(&mut owner).await
        };
        ids.push(outcome.expect("scheduled").post_id);
    }
    // Due over the next twenty seconds, so posts keep falling due while the faults hit.
    ledger::spread_due_times(&app, &ids, Duration::from_secs(20)).await;
    let column_name = column.name();
    println!("soak {column_name}: {total} posts on {accounts} accounts scheduled in {:.0} s", started.elapsed().as_secs_f64());

    let log = app.state.config.data_dir.join("soak-servers.log");
    let (mut disruption, mut servers) = Disruption::start(column, postgres, &app, &sandbox, &log).await;
    let budget = Duration::from_secs(setting("SOAK_MINUTES", if total > 200 { 30 } else { 6 }) as u64 * 60);
    let deadline = Instant::now() + budget;
    let mut faults_injected = 0;
    let mut revoked = BTreeSet::new();
    let mut last_fast_forward = Instant::now();
    let fault_budget = total / 2;
    loop {
        // While PostgreSQL is stopped the soak does not read it either.
        if !disruption.database_down() {
            let unsettled = ledger::unsettled(&app, &ids).await;
            if (unsettled == 0 && disruption.finished(disruptions_wanted)) || Instant::now() > deadline {
                break;
            }
            // The waits between retries (up to about two hours) and between status checks are
            // tested on their own; here the clock runs fast through them, so the soak sees many
            // rounds.
            if last_fast_forward.elapsed() > Duration::from_secs(2) {
                ledger::skip_retry_waits(&app).await;
                last_fast_forward = Instant::now();
            }
        }
        // Faults arrive while work remains; each hits the next matching call. At most two wait
        // at a time: a backlog would fail every call of a quiet endpoint in a row, which tests
        // the circuit breaker's patience rather than the posts.
        if faults_injected < fault_budget && sandbox.sandbox.faults().len() < 2 {
            let (endpoint, kind) = FAULTS[dice.below(FAULTS.len())];
            // A hung request holds a post for 30 s; a few are enough to show it is survived.
            if kind != FaultKind::Timeout || faults_injected % 4 == 0 {
                sandbox.sandbox.inject(Fault { endpoint, kind, count: 1, skip: 0 });
                faults_injected += 1;
            }
        }
        if revoked.len() < revocations && dice.below(40) == 0 {
            let n = 1 + dice.below(accounts);
            let open_id = sandbox.open_id_of(&format!("Creator {n:04}"));
            sandbox.sandbox.revoke_creator(&open_id);
            revoked.insert(open_id);
        }
        disruption.step(disruptions_wanted, &mut dice, &mut servers, &app, &sandbox, &log).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    disruption.end().await;
    let log_counts = || {
        let server_log = std::fs::read_to_string(&log).unwrap_or_default();
        (server_log.matches("the database is unreachable").count(), server_log.matches("the database is reachable again").count())
    };
    // Sends a server stopped by itself because it could not vouch for its lease (publish_one).
    let sends_cut = || std::fs::read_to_string(&log).unwrap_or_default().matches("stopped sending").count();
    if column == Column::Restarts {
        // Each server says when it found the database again (it probes every second).
        let deadline = Instant::now() + Duration::from_secs(30);
        while !matches!(log_counts(), (outages, recoveries) if outages >= 1 && recoveries >= outages) {
            assert!(Instant::now() < deadline, "the servers' log: {:?} outages and recoveries; see {}", log_counts(), log.display());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // The soak is over: stop the servers as an operator would, so the end itself cuts no
    // renewal (the kills column's kills happened during the run).
    for server in servers {
        server.stop();
    }
    let left = sandbox.sandbox.faults();
    sandbox.sandbox.clear_faults();
    let elapsed = started.elapsed().as_secs_f64();

    let verdict = verdict::check(&app, &sandbox, &ids, &revoked, disruption.kills(), elapsed, &log).await;
    let (outages, recoveries) = log_counts();
    let applied = disruption.count();
    println!(
        "soak {column_name}: {total} posts, {accounts} accounts, {elapsed:.0} s; outcomes {:?}; {faults_injected} faults \
         injected ({} never hit), {applied} {column_name}, {} creators revoked ({} of their posts failed); {} token \
         renewals during the soak; {} accounts renewed at the end; refresh tokens lost to a kill between TikTok's \
         rotation and the commit: {:?}; servers logged the database unreachable {outages} and reachable again \
         {recoveries} times and stopped {} sends on their lease; {} sandbox requests",
        verdict.by_state,
        left.iter().map(|f| f.count).sum::<u32>(),
        revoked.len(),
        verdict.revoked_failed,
        verdict.refreshes_during,
        verdict.renewed_at_end,
        verdict.lost_to_kills,
        sends_cut(),
        sandbox.sandbox.requests().len()
    );
    assert!(disruption.finished(disruptions_wanted), "every {column_name} fault was applied ({applied} of {disruptions_wanted})");
    assert!(verdict.by_state.get("published").copied().unwrap_or(0) > total / 2, "most posts were published: {:?}", verdict.by_state);
    let pulled = sandbox.count("/v2/post/publish/video/init/", "PULL_FROM_URL");
    println!("soak {column_name}: {pulled} inits were PULL_FROM_URL");
    assert!(pulled > 0, "a share of the posts went by PULL_FROM_URL");
    let photo_inits = sandbox.count("/v2/post/publish/content/init/", "\"media_type\":\"PHOTO\"");
    let photos_published = ledger::load_posts(&app, &ids).await.iter().filter(|p| p.is_photo() && p.state() == app::posts::types::PostState::Published).count();
    println!("soak {column_name}: {photo_inits} photo inits, {photos_published} photo posts published");
    assert!(photos_published > 0, "photo posts went out too");
}

/// The app the soak schedules through: it takes photo posts, so it has a media URL (its own
/// scheduler never runs; the servers' settings say how each sends).
fn app_settings(sandbox: &TestSandbox) -> Vec<(&'static str, String)> {
    let mut settings = sandbox.app_settings();
    settings.push(("CADENCE_MEDIA_PUBLIC_URL", "http://localhost:9/media/pull".to_owned()));
    settings
}
