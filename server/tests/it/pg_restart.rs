//! PostgreSQL restarting under a running server (a real process, its scheduler on): posts due
//! before, during and after the outage are each published once, every account still renews,
//! pages answer 503 with a sentence while the database is gone, and the server recovers by
//! itself and says in its log when the database went and when it came back.

use crate::util::{
    TestApp,
    ledger::{self, assert_tiktok_agrees},
    private_postgres::PrivatePostgres,
    sandbox::{TestSandbox, connected_account},
    server_process::ServerProcess,
    test_db::TestDb,
    upload::Upload,
};
use app::{
    accounts::{
        ssr::{RefreshOutcome, TikTokAccount, refresh_account},
        types::AccountStatus,
    },
    db::schema::tiktok_accounts,
    posts::types::PostState,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::{SandboxConfig, synthetic::SyntheticVideo};
use std::time::Duration;
use tokio::time::Instant;

const ACCOUNTS: usize = 3;
const POSTS: usize = 9;
/// How long PostgreSQL stays down: several probe rounds, publish ticks and a refresh-job run.
const OUTAGE: Duration = Duration::from_secs(8);
/// What the server's watcher logs (server/src/db_watch.rs).
const LOST_LINE: &str = "the database is unreachable";
const BACK_LINE: &str = "the database is reachable again";

#[tokio::test(flavor = "multi_thread")]
async fn a_postgres_restart_loses_no_post_and_no_token_and_the_server_says_so() {
    let postgres = PrivatePostgres::start().await;
    let sandbox = TestSandbox::start_with(SandboxConfig {
        generated_creators: ACCOUNTS,
        processing_delay: Duration::from_millis(200),
        // Tokens due for renewal every run of the refresh job, so renewals straddle the outage.
        access_token_ttl: Duration::from_secs(20),
        // A post cut off mid-send is taken over once its upload URL expired.
        upload_url_ttl: Duration::from_secs(10),
        ..SandboxConfig::default()
    })
    .await;
    let settings = sandbox.app_settings();
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::on_database(TestDb::migrated_on(&postgres.admin_url()).await, &refs);
    let mut owner = app.signed_up("Olga").await;
    let mut accounts = Vec::new();
    for n in 1..=ACCOUNTS {
        accounts.push(connected_account(&sandbox, &mut owner, &format!("Creator {n:04}")).await);
    }
    let mut ids = Vec::new();
    for index in 0..POSTS {
        let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(10);
        let upload = Upload::scheduled(&accounts[index % ACCOUNTS], "SELF_ONLY", SyntheticVideo::mp4(15, 400_000), later);
        ids.push(upload.send(&mut owner).await.expect("scheduled").post_id);
    }

    let log = app.state.config.data_dir.join("pg-restart-server.log");
    let server = ServerProcess::start(&app, &sandbox, &log, 4).await;
    // Due over the next 20 s: some go out before the outage, some fall due during it.
    ledger::spread_due_times(&app, &ids, Duration::from_secs(20)).await;
    let http = reqwest::Client::builder().timeout(Duration::from_secs(20)).build().unwrap();
    let cookie = format!("{}={}", server::SESSION_COOKIE, owner.cookie.clone().expect("signed in"));

    // The outage begins once the server is at work.
    let started = Instant::now();
    while !ledger::load_posts(&app, &ids).await.iter().any(|post| post.state() == PostState::Published) {
        assert!(started.elapsed() < Duration::from_secs(90), "no post was published before the outage; see {}", log.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let last_request_before = sandbox.sandbox.requests().last().map_or(0, |r| r.seq);
    postgres.stop().await;
    let stopped_at = Instant::now();

    // While it is down: pages and API calls answer 503 with a sentence, promptly.
    let healthz = http.get(format!("{}/healthz", server.url)).send().await.expect("healthz answers");
    assert_eq!(healthz.status(), 503);
    let page = http.get(&server.url).header("cookie", &cookie).header("accept", "text/html").send().await.expect("the page answers");
    assert_eq!(page.status(), 503);
    let text = page.text().await.unwrap();
    assert!(text.contains("Cadence is briefly unavailable. Please try again in a moment."), "{text}");
    let api = http
        .post(format!("{}/api/accounts/list", server.url))
        .header("cookie", &cookie)
        .header("origin", &server.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("")
        .send()
        .await
        .expect("the API answers");
    assert_eq!(api.status(), 503);
    assert_eq!(api.json::<app::error::AppError>().await.unwrap(), app::error::AppError::Unavailable);
    assert!(stopped_at.elapsed() < Duration::from_secs(30), "answers came promptly, not after waiting for the database");
    wait_for_line(&log, LOST_LINE, Duration::from_secs(30)).await;

    // Held down a while (the fault's duration, not a synchronisation), then back.
    tokio::time::sleep_until(stopped_at + OUTAGE).await;
    postgres.start_again().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while !http.get(format!("{}/healthz", server.url)).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "the server never found the database again; see {}", log.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    wait_for_line(&log, BACK_LINE, Duration::from_secs(30)).await;
    let page = http.get(&server.url).header("cookie", &cookie).header("accept", "text/html").send().await.unwrap();
    assert_eq!(page.status(), 200, "the same session works again");

    // Every post goes out (waits between retries skipped), and tokens are renewed again.
    let renewals_after = || sandbox.sandbox.requests().iter().filter(|r| r.seq > last_request_before && ledger::renewed(r)).count();
    let deadline = Instant::now() + Duration::from_secs(240);
    while ledger::unsettled(&app, &ids).await > 0 || renewals_after() == 0 {
        assert!(Instant::now() < deadline, "posts never settled, or no token was renewed, after the restart; see {}", log.display());
        ledger::skip_retry_waits(&app).await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let finals = ledger::load_posts(&app, &ids).await;
    for post in &finals {
        assert_eq!(post.state(), PostState::Published, "{post:?}\n{:#?}", ledger::timeline(&app, post.id).await);
    }
    assert_eq!(assert_tiktok_agrees(&sandbox, &finals), POSTS, "each post reached TikTok whole exactly once");

    // No token lost: every account is still connected and its stored refresh token is the one
    // TikTok takes now.
    // A graceful stop: a SIGKILL here could cut a renewal between TikTok's answer and the
    // commit (the one loss the soak matches to its kills), which is not what this test is about.
    server.stop();
    let connected: Vec<TikTokAccount> =
        tiktok_accounts::table.select(TikTokAccount::as_select()).load(&mut app.conn().await).await.unwrap();
    assert_eq!(connected.len(), ACCOUNTS);
    for account in connected {
        assert_eq!(account.status(), AccountStatus::Active, "{}: {:?}", account.display_name, account.status_reason);
        // "Try again" (a busy machine, a sandbox call that timed out) is not a lost token:
        // ask again until TikTok answers, within a deadline.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
        let outcome = loop {
            match refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account.id, Some(account.last_refreshed_at)).await {
                Err(app::error::AppError::Unavailable) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => break other.unwrap(),
            }
        };
        assert_eq!(outcome, RefreshOutcome::Refreshed, "{}", account.display_name);
    }

    let server_log = std::fs::read_to_string(&log).unwrap();
    assert_eq!(server_log.matches(LOST_LINE).count(), 1, "one line when the database went:\n{server_log}");
    assert_eq!(server_log.matches(BACK_LINE).count(), 1, "one line when it came back:\n{server_log}");
}

/// Waits (polling, within `within`) until the server's log has a line containing `needle`.
async fn wait_for_line(log: &std::path::Path, needle: &str, within: Duration) {
    let deadline = Instant::now() + within;
    while !std::fs::read_to_string(log).unwrap_or_default().contains(needle) {
        assert!(Instant::now() < deadline, "the server never logged {needle:?}; see {}", log.display());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
