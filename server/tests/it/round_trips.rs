//! What one page view costs in round trips to PostgreSQL, counted on the wire by a proxy
//! between the server's pool and the database (not estimated): the session, the caller and
//! the page's data together take at most three.

use crate::util::{
    TestApp,
    db_proxy::DbProxy,
    sandbox::owner_with_account,
    upload::Upload,
};
use sandbox::synthetic::SyntheticVideo;

/// The most round trips a signed-in page view may take, the session included.
const PAGE_BUDGET: u64 = 3;

// One thread: statements a page sends together (pipelined) then reach the connection before
// PostgreSQL can answer the first, every run; with more threads that is only likely.
#[tokio::test]
async fn a_page_view_takes_at_most_three_round_trips_and_writes_no_session() {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    let soon = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let mut posts = Vec::new();
    for hours in 0..3 {
        let outcome = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000), soon + time::Duration::hours(hours))
            .send(&mut owner)
            .await
            .expect("scheduled");
        posts.push(outcome.post_id);
    }

    // One pooled connection, so every view after the first finds its statements prepared.
    let proxy = DbProxy::start(&DbProxy::upstream_of(&app.db.url)).await;
    let sandbox_settings = sandbox.app_settings();
    let mut settings: Vec<(&str, &str)> = sandbox_settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let url = proxy.url_for(&app.db.url);
    settings.extend([("DATABASE_POOL_SIZE", "1"), ("CADENCE_DATA_DIR", app.state.config.data_dir.to_str().unwrap())]);
    let router = TestApp::router_over(&url, &settings);
    let mut browser = owner.on(router);

    let mut report = Vec::new();
    let post_page = format!("/posts/{}", posts[0]);
    for page in ["/", "/calendar", "/posts", &post_page, "/accounts", "/team", "/notifications", "/settings", "/compose", "/analytics"] {
        for _ in 0..2 {
            assert_eq!(browser.get(page).await.status, http::StatusCode::OK, "{page} warms up");
        }
        let before = proxy.round_trips();
        let view = browser.get(page).await;
        assert_eq!(view.status, http::StatusCode::OK);
        assert!(view.set_cookie(server::SESSION_COOKIE).is_none(), "{page} sent no new session cookie");
        report.push((page, proxy.round_trips() - before));
    }
    eprintln!("round trips per page view: {report:?}");
    for (page, round_trips) in report {
        assert!(round_trips <= PAGE_BUDGET, "{page} took {round_trips} round trips (budget {PAGE_BUDGET})");
    }
}
