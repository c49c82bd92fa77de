//! Metrics and health: `/metrics` only with its token on the main listener (or on a listener
//! of its own), counters that move with a publish through the sandbox, and `/healthz` with the
//! jobs' last runs and the circuit breakers.

use crate::util::{
    TestApp,
    sandbox::{TestSandbox, connected_account},
    upload::Upload,
};
use app::{posts::ssr::Post, publishing::{due::publish_due, status::check_due_statuses}};
use axum::{
    body::Body,
    http::{Request, StatusCode, header},
};
use http_body_util::BodyExt as _;
use sandbox::{SandboxConfig, synthetic::SyntheticVideo};
use time::OffsetDateTime;
use tower::ServiceExt as _;
use uuid::Uuid;

const TOKEN: &str = "a-metrics-token-for-the-tests";

/// The value of `series` (name and labels exactly as rendered), 0 when it is not there yet.
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')))
        .map_or(0.0, |rest| rest.split_whitespace().next().unwrap_or("0").parse().unwrap())
}

async fn get_metrics(app: &TestApp, authorization: Option<&str>) -> crate::util::test_app::TestResponse {
    let mut request = Request::get("/metrics");
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    app.client().send(request.body(Body::empty()).unwrap()).await
}

async fn scrape(app: &TestApp) -> String {
    let response = get_metrics(app, Some(&format!("Bearer {TOKEN}"))).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    assert_eq!(response.header("content-type"), Some(app::metrics::CONTENT_TYPE));
    response.text()
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_are_served_only_with_the_token_or_on_their_own_listener() {
    let app = TestApp::with_settings(&[("CADENCE_METRICS_TOKEN", TOKEN)]).await;
    let anonymous = get_metrics(&app, None).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
    assert!(!anonymous.text().contains("cadence_"), "nothing is given away: {}", anonymous.text());
    assert_eq!(get_metrics(&app, Some("Bearer not-the-token-at-all")).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get_metrics(&app, Some(TOKEN)).await.status, StatusCode::UNAUTHORIZED, "the Bearer scheme is required");
    assert!(scrape(&app).await.contains("# TYPE cadence_http_requests counter"));

    // Neither a token nor an address: not served, whatever is presented.
    let plain = TestApp::new().await;
    assert_eq!(get_metrics(&plain, Some(&format!("Bearer {TOKEN}"))).await.status, StatusCode::NOT_FOUND);
    // The listener of its own (CADENCE_METRICS_ADDR) answers without a token.
    let response = server::metrics_endpoint::metrics_router(plain.state.clone())
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(response.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    assert!(text.contains("cadence_db_pool_connections_max{pool=\"web\"}"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_publish_through_the_sandbox_moves_the_counters() {
    let sandbox = TestSandbox::start_with(SandboxConfig {
        processing_delay: std::time::Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let mut settings = sandbox.app_settings();
    settings.push(("CADENCE_METRICS_TOKEN", TOKEN.to_owned()));
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let mut owner = app.signed_up("Olga").await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;

    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 2_000_000), due).send(&mut owner).await.unwrap();
    let video_bytes = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().video_bytes as f64;
    let before = scrape(&app).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    let mut published = false;
    for _ in 0..100 {
        check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(10)).await.unwrap();
        let post = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
        if post.state().is_settled() {
            published = post.state() == app::posts::types::PostState::Published;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(published, "the post was published");
    let after = scrape(&app).await;

    let moved = |series: &str| value(&after, series) - value(&before, series);
    assert!(moved(r#"cadence_posts_total{outcome="published"}"#) >= 1.0, "{after}");
    assert!(moved("cadence_publish_lateness_seconds_count") >= 1.0, "{after}");
    assert!(moved(r#"cadence_tiktok_calls_total{endpoint="/v2/post/publish/video/init/",result="ok"}"#) >= 1.0, "{after}");
    assert!(moved(r#"cadence_tiktok_calls_total{endpoint="upload_chunk",result="ok"}"#) >= 1.0, "{after}");
    assert!(moved(r#"cadence_tiktok_calls_total{endpoint="publish_status",result="ok"}"#) >= 1.0, "{after}");
    assert!(moved("cadence_uploaded_bytes_total") >= video_bytes, "the whole video counts as uploaded: {after}");
    assert!(value(&after, r#"cadence_http_requests_total{method="POST",route="/api/posts/upload",status="200"}"#) >= 1.0, "{after}");
    assert_eq!(value(&after, r#"cadence_tiktok_breaker_state{endpoint="/v2/post/publish/video/init/",state="closed"}"#), 1.0);
    assert!(value(&after, r#"cadence_db_pool_connections_max{pool="web"}"#) >= 4.0, "{after}");
    // Route patterns only: no id of this test's post or account in any label, and no token.
    assert!(!after.contains(&outcome.post_id.to_string()) && !after.contains(&maya), "{after}");
    assert!(!after.contains("act.") && !after.contains("rft."), "no TikTok token in the metrics");

    let health = app.client().get("/healthz").await;
    assert_eq!(health.status, StatusCode::OK);
    let health: serde_json::Value = serde_json::from_slice(&health.body).unwrap();
    assert_eq!(health["breakers"]["/v2/post/publish/video/init/"], "closed", "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn healthz_reports_the_jobs_last_runs() {
    drop(app::metrics::job_run("healthz_test_job"));
    let app = TestApp::new().await;
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    let health: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(health["status"], "ok");
    let job = &health["jobs"]["healthz_test_job"];
    assert!(job["last_started"].is_string() && job["last_finished"].is_string(), "{health}");
    assert!(health["breakers"].is_object(), "{health}");
}
