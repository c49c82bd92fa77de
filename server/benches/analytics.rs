//! Analytics benchmark: the team's and one account's analytics pages with a year of snapshots
//! for 50 accounts (as the retention policy leaves them), under wrk at 16 connections, beside
//! `/livez`, and the team page's first view after a collection (uncached). Run with
//! `scripts/bench analytics`. Target (issue 15): p99 ≤ 100 ms.

// Each benchmark uses part of what the benchmarks share.
#[allow(dead_code)]
mod common;

use common::{Server, connect, free_port, sign_up, wait_healthy, wrk};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use sandbox::{Sandbox, SandboxConfig};

/// Accounts, and videos per account posted over the year.
const ACCOUNTS: i64 = 50;
const VIDEOS: i64 = 120;
/// Team page views measured one at a time with the cache invalidated before each.
const UNCACHED_VIEWS: usize = 30;

#[tokio::main]
async fn main() {
    let database_url = std::env::var("BENCH_DATABASE_URL").expect("BENCH_DATABASE_URL (scripts/bench sets it)");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
    let port = free_port();
    // The app registered for this server's callback, as in production.
    let sandbox = Sandbox::new(SandboxConfig {
        public_base_url: sandbox_url.clone(),
        registered_redirect_uris: vec![format!("http://127.0.0.1:{port}/oauth/tiktok/callback")],
        ..SandboxConfig::default()
    });
    tokio::spawn(sandbox::serve(listener, sandbox.clone()));
    let config = sandbox.config().clone();

    let data_dir = std::env::temp_dir().join(format!("cadence-bench-analytics-{}", std::process::id()));
    let server = Server::start(&database_url, &sandbox_url, &config, &data_dir, port, &[("CADENCE_SCHEDULER_ENABLED", "false")]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_healthy(&http, &base).await;

    let cookie = sign_up(&http, &base, "analytics@example.com").await;
    connect(&http, &base, &cookie, &sandbox, &sandbox_url, "Maya Public").await;

    // 49 more accounts like the connected one, then a year of what collection and thinning
    // leave: account totals hourly for a week and daily before; per video, hourly readings in
    // its first two days, daily to eight weeks, weekly after.
    let mut conn = AsyncPgConnection::establish(&database_url).await.unwrap();
    let started = std::time::Instant::now();
    for statement in [
        format!(
            // The copied sealed tokens never open (another row's id is their associated data);
            // the scheduler is off, so nothing tries.
            "INSERT INTO tiktok_accounts (team_id, open_id, display_name, scopes, status, connected_by, encrypted_access_token, encrypted_refresh_token) \
             SELECT team_id, 'bench-' || n, 'Bench account ' || n, 'user.info.basic,video.publish,video.list,user.info.stats', 'active', connected_by, \
                    encrypted_access_token, encrypted_refresh_token \
             FROM tiktok_accounts, generate_series(2, {ACCOUNTS}) AS n WHERE open_id NOT LIKE 'bench-%'"
        ),
        "UPDATE tiktok_accounts SET scopes = 'user.info.basic,video.publish,video.list,user.info.stats', analytics_collected_at = now()".to_owned(),
        "INSERT INTO account_snapshots (account_id, taken_at, follower_count, following_count, likes_count, video_count, view_total, like_total, comment_total, share_total) \
         SELECT a.id, t, 1000 + extract(epoch FROM t - (now() - interval '1 year'))::bigint / 3600, 100, 5000, 120, 0, 0, 0, 0 FROM tiktok_accounts a, \
         (SELECT generate_series(now() - interval '365 days', now() - interval '8 days', interval '1 day') AS t \
          UNION ALL SELECT generate_series(now() - interval '7 days', now(), interval '1 hour')) AS times".to_owned(),
        format!(
            "INSERT INTO tiktok_videos (account_id, video_id, team_id, title, published_at, first_seen_at, last_seen_at, view_count, like_count, comment_count, share_count, views_48h) \
             SELECT a.id, (7000000000000000000 + row_number() OVER ())::text, a.team_id, 'Bench video ' || v, \
                    now() - (v * interval '3 days') - (v % 24) * interval '1 hour', now() - v * interval '3 days', now(), \
                    500 + v * 37 % 5000, 40 + v % 300, v % 40, v % 25, 300 + v * 11 % 3000 \
             FROM tiktok_accounts a, generate_series(1, {VIDEOS}) AS v"
        ),
        "INSERT INTO video_snapshots (account_id, video_id, taken_at, view_count, like_count, comment_count, share_count) \
         SELECT v.account_id, v.video_id, t, 100, 10, 1, 1 FROM tiktok_videos v, LATERAL ( \
             SELECT generate_series(v.published_at, v.published_at + interval '2 days', interval '1 hour') AS t \
             UNION ALL SELECT generate_series(v.published_at + interval '3 days', least(now(), v.published_at + interval '56 days'), interval '1 day') \
             UNION ALL SELECT generate_series(v.published_at + interval '63 days', now(), interval '7 days')) AS times".to_owned(),
        "ANALYZE".to_owned(),
    ] {
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }
    let count = |table: &str| format!("SELECT count(*) AS n FROM {table}");
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::Int8)]
        n: i64,
    }
    let mut sizes = Vec::new();
    for table in ["account_snapshots", "tiktok_videos", "video_snapshots"] {
        let rows: Count = diesel::sql_query(count(table)).get_result(&mut conn).await.unwrap();
        sizes.push(format!("{table} {}", rows.n));
    }
    #[derive(diesel::QueryableByName)]
    struct Size {
        #[diesel(sql_type = diesel::sql_types::Text)]
        size: String,
    }
    let size: Size = diesel::sql_query(
        "SELECT pg_size_pretty(pg_total_relation_size('video_snapshots') + pg_total_relation_size('account_snapshots') + pg_total_relation_size('tiktok_videos')) AS size",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    #[derive(diesel::QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id: String,
    }
    let account: Id = diesel::sql_query("SELECT id::text AS id FROM tiktok_accounts WHERE open_id NOT LIKE 'bench-%'").get_result(&mut conn).await.unwrap();
    println!("Seeded in {:.1} s: {} ({} on disk)", started.elapsed().as_secs_f64(), sizes.join(", "), size.size);

    println!("Analytics benchmark: wrk, 2 threads, 16 connections, 10 s each, {ACCOUNTS} accounts, a year of snapshots");
    println!("| page | requests/s | p50 | p99 |");
    println!("| --- | --- | --- | --- |");
    for (name, path) in [
        ("/livez (ceiling)", "/livez".to_owned()),
        ("team /analytics (30 days)", "/analytics".to_owned()),
        ("team /analytics?days=365", "/analytics?days=365".to_owned()),
        ("account /analytics/:id (30 days)", format!("/analytics/{}", account.id)),
        ("account /analytics/:id?days=365", format!("/analytics/{}?days=365", account.id)),
    ] {
        let result = wrk(&format!("{base}{path}"), &cookie, 16);
        println!("| {name} | {:.0} | {} | {} |", result.requests_per_second, result.p50, result.p99);
    }

    // The team page is cached until an account of the team changes or is collected: what the
    // first view after each collection costs, one request at a time.
    println!();
    println!("Team page, first view after a collection (cache invalidated before each of {UNCACHED_VIEWS} requests, one at a time):");
    println!("| page | p50 | slowest |");
    println!("| --- | --- | --- |");
    for (name, path) in [("team /analytics (30 days)", "/analytics"), ("team /analytics?days=365", "/analytics?days=365")] {
        let mut times = Vec::new();
        for _ in 0..UNCACHED_VIEWS {
            diesel::sql_query("UPDATE tiktok_accounts SET analytics_collected_at = clock_timestamp() WHERE open_id = 'bench-2'")
                .execute(&mut conn)
                .await
                .unwrap();
            let started = std::time::Instant::now();
            let response = http.get(format!("{base}{path}")).header("cookie", &cookie).send().await.unwrap();
            assert!(response.status().is_success(), "{path}: {}", response.status());
            response.bytes().await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!("| {name} | {:.1} ms | {:.1} ms |", times[times.len() / 2].as_secs_f64() * 1e3, times[times.len() - 1].as_secs_f64() * 1e3);
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

