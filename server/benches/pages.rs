//! Pages benchmark: requests per second and latency of the dashboard, the calendar and the
//! posts list for a team with 500 posts this month, then of the same pages once its history has
//! grown to 50,000 posts, under wrk (Debian's) at 32 connections, beside `/livez` (a bare route
//! in the same server) as the ceiling. Run with `scripts/bench pages`.
//! Targets (issue 14): p99 ≤ 25 ms and ≥ 0.02× the ceiling; the list flat from 500 to 50,000.

// Each benchmark uses part of what the benchmarks share.
#[allow(dead_code)]
mod common;

use common::{Server, connect, free_port, sign_up, wait_healthy, wrk};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use sandbox::{Sandbox, SandboxConfig};

#[tokio::main]
async fn main() {
    let database_url = std::env::var("BENCH_DATABASE_URL").expect("BENCH_DATABASE_URL (scripts/bench sets it)");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let sandbox_url = format!("http://{}", listener.local_addr().unwrap());
    let port = free_port();
    let sandbox = Sandbox::new(SandboxConfig {
        public_base_url: sandbox_url.clone(),
        registered_redirect_uris: vec![format!("http://127.0.0.1:{port}/oauth/tiktok/callback")],
        ..SandboxConfig::default()
    });
    tokio::spawn(sandbox::serve(listener, sandbox.clone()));
    let config = sandbox.config().clone();

    let data_dir = std::env::temp_dir().join(format!("cadence-bench-pages-{}", std::process::id()));
    let server = Server::start(&database_url, &sandbox_url, &config, &data_dir, port, &[("CADENCE_SCHEDULER_ENABLED", "false")]);
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    wait_healthy(&http, &base).await;

    // An owner with a connected account and 500 scheduled posts this month.
    let cookie = sign_up(&http, &base, "pages@example.com").await;
    connect(&http, &base, &cookie, &sandbox, &sandbox_url, "Maya Public").await;

    let mut conn = AsyncPgConnection::establish(&database_url).await.unwrap();
    diesel::sql_query(
        "WITH m AS (INSERT INTO media (team_id, storage_key, byte_size, content_type, uploaded_by) \
         SELECT team_id, 'bench.video', 1000000, 'video/mp4', connected_by FROM tiktok_accounts LIMIT 1 RETURNING id, team_id, uploaded_by) \
         INSERT INTO posts (team_id, account_id, created_by, destination, state, caption, privacy_level, video_bytes, content_type, media_id, scheduled_at) \
         SELECT m.team_id, a.id, m.uploaded_by, 'profile', 'scheduled', 'Bench post #' || n, 'SELF_ONLY', 1000000, 'video/mp4', m.id, \
                date_trunc('month', now()) + interval '1 day' + (n % 27) * interval '1 day' + (n % 24) * interval '1 hour' \
         FROM m, tiktok_accounts a, generate_series(1, 500) AS n",
    )
    .execute(&mut conn)
    .await
    .unwrap();

    println!("Pages benchmark: wrk, 2 threads, 32 connections, 10 s each");
    println!("| team's posts | page | requests/s | p50 | p99 | of the ceiling |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let ceiling = wrk(&format!("{base}/livez"), &cookie, 32);
    let pages = [("dashboard /", "/"), ("calendar /calendar", "/calendar"), ("posts /posts", "/posts")];
    let report = |history: &str, name: &str, result: &common::WrkResult| {
        println!(
            "| {history} | {name} | {:.0} | {} | {} | {:.3}× |",
            result.requests_per_second,
            result.p50,
            result.p99,
            result.requests_per_second / ceiling.requests_per_second
        );
    };
    report("–", "/livez (ceiling)", &ceiling);
    for (name, path) in pages {
        report("500", name, &wrk(&format!("{base}{path}"), &cookie, 32));
    }

    // Years of history before this month: 49,500 more posts, published or cancelled.
    diesel::sql_query(
        "INSERT INTO posts (team_id, account_id, created_by, destination, state, caption, privacy_level, video_bytes, content_type, media_id, scheduled_at) \
         SELECT p.team_id, p.account_id, p.created_by, p.destination, CASE WHEN n % 7 = 0 THEN 'cancelled' ELSE 'published' END, \
                'Old post #' || n, p.privacy_level, p.video_bytes, p.content_type, p.media_id, \
                date_trunc('month', now()) - n * interval '37 minutes' \
         FROM (SELECT * FROM posts LIMIT 1) AS p, generate_series(1, 49500) AS n",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    // As autovacuum would before long; measuring during its run would measure it.
    diesel::sql_query("VACUUM ANALYZE posts").execute(&mut conn).await.unwrap();
    for (name, path) in pages {
        report("50,000", name, &wrk(&format!("{base}{path}"), &cookie, 32));
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&data_dir);
}

