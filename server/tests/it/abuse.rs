//! Abuse and hygiene (issue 13's remaining findings): the per-team media quota (M3), log-in
//! limits that spare the owner's own browser and a trusted-proxy list (M7), the origin check
//! for cookie-bearing requests (L1), the upload route's limits and timeouts (L4), unfinished
//! bucket uploads (L5) and hashed session ids (L8).

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account},
    test_app::{HOST, PASSWORD},
    upload::Upload,
};
use app::{db::schema::{login_failures, sessions}, error::AppError, media::quota};
use axum::body::Body;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use http::{Request, StatusCode, header};
use sandbox::synthetic::SyntheticVideo;
use std::time::Duration;
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// An app over a fresh sandbox with `settings` added, its owner and a connected account.
async fn app_with_account(settings: &[(&'static str, &str)]) -> (TestSandbox, TestApp, TestClient, String) {
    let sandbox = TestSandbox::start().await;
    let mut all = sandbox.app_settings();
    all.extend(settings.iter().map(|(k, v)| (*k, (*v).to_owned())));
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let mut owner = app.signed_up("Olga").await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    (sandbox, app, owner, account)
}

/// Every file in the app's local media directory (`.partial` ones included).
fn media_files(app: &TestApp) -> Vec<String> {
    let app::config::MediaConfig::Local { dir } = &app.state.config.media else { panic!("a local media store") };
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|entry| entry.ok()?.file_name().into_string().ok()).collect())
        .unwrap_or_default()
}

fn in_five_minutes() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::minutes(5)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_past_the_teams_quota_is_refused_before_a_byte_is_stored() {
    let (sandbox, app, mut owner, account) = app_with_account(&[("CADENCE_TEAM_MEDIA_QUOTA", "1MiB")]).await;
    let first = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 600_000), in_five_minutes())
        .send(&mut owner)
        .await
        .expect("600 KB fits in 1 MiB");
    // A copy shares the stored video, which counts once.
    let _copy: uuid::Uuid = owner.call("calendar/duplicate", &[("post_id", &first.post_id.to_string())]).await.unwrap();
    let team = owner.session_info().await.unwrap().team.id;
    assert_eq!(quota::team_usage(&mut *app.conn().await, team).await.unwrap(), 600_000);
    Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 400_000), in_five_minutes())
        .send(&mut owner)
        .await
        .expect("600 KB + 400 KB still fit: the shared video is not counted twice");

    let refused = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 100_000), in_five_minutes())
        .send(&mut owner)
        .await
        .unwrap_err();
    let message = refused.field_message("video").unwrap_or_else(|| panic!("a field error: {refused:?}"));
    assert!(message.contains("976.6 KiB of 1.0 MiB is in use, 47.4 KiB is left"), "{message}");
    assert!(message.contains("This video (97.7 KiB)"), "{message}");
    assert_eq!(media_files(&app).len(), 2, "nothing of the refused video was written: {:?}", media_files(&app));
    let usage: app::teams::types::MediaUsage = owner.call("teams/media-usage", &[]).await.unwrap();
    assert_eq!(usage, app::teams::types::MediaUsage { used_bytes: 1_000_000, quota_bytes: 1 << 20 }, "the owner sees it");

    // Another team has its own quota.
    let mut other = app.signed_up("Bo").await;
    let theirs = connected_account(&sandbox, &mut other, "Leo Private").await;
    Upload::scheduled(&theirs, "SELF_ONLY", SyntheticVideo::mp4(30, 100_000), in_five_minutes())
        .send(&mut other)
        .await
        .expect("another team's videos do not count against this one");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_larger_than_announced_is_stopped_and_its_partial_file_removed() {
    let (_sandbox, app, mut owner, account) = app_with_account(&[]).await;
    let lie = Upload {
        declared_size: Some(200_000),
        ..Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 600_000), in_five_minutes())
    };
    let refused = lie.send(&mut owner).await.unwrap_err();
    let message = refused.field_message("video").unwrap_or_else(|| panic!("a field error: {refused:?}"));
    assert!(message.contains("larger than the browser announced"), "{message}");
    assert!(media_files(&app).is_empty(), "no file and no .partial left: {:?}", media_files(&app));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_with_more_fields_than_the_composer_sends_is_refused() {
    let (_sandbox, app, mut owner, account) = app_with_account(&[]).await;
    let stuffed = Upload {
        extra_fields: 200,
        ..Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 100_000), in_five_minutes())
    };
    let refused = stuffed.send(&mut owner).await.unwrap_err();
    let message = refused.field_message("video").unwrap_or_else(|| panic!("a field error: {refused:?}"));
    assert!(message.contains("more form fields"), "{message}");
    assert!(media_files(&app).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn an_upload_that_goes_quiet_is_cut_off_and_its_partial_file_removed() {
    let (_sandbox, app, mut owner, account) = app_with_account(&[("CADENCE_UPLOAD_IDLE_SECS", "1")]).await;
    let quiet = Upload {
        stall_after: Some(300_000),
        ..Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 600_000), in_five_minutes())
    };
    // Without the idle timeout this request never ends; a minute is ample under any load.
    let answer = tokio::time::timeout(Duration::from_secs(60), quiet.send(&mut owner)).await.expect("cut off, not hung");
    match answer {
        Err(AppError::Conflict(message)) => assert!(message.contains("cut off"), "{message}"),
        other => panic!("expected the cut-off sentence, got {other:?}"),
    }
    assert!(media_files(&app).is_empty(), "the half-written file went: {:?}", media_files(&app));
    let posts: i64 = app::db::schema::posts::table.count().get_result(&mut app.conn().await).await.unwrap();
    assert_eq!(posts, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    let app = TestApp::new().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(server::serving::serve(listener, app.router.clone(), Duration::from_secs(1), async {
        let _ = stopped.await;
    }));

    // A whole request is answered, with the peer address the log-in limits count.
    let mut whole = tokio::net::TcpStream::connect(addr).await.unwrap();
    whole.write_all(format!("GET /livez HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n").as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(Duration::from_secs(60), whole.read_to_string(&mut answer)).await.unwrap().unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");

    // Half a request, then nothing: the server hangs up instead of waiting for ever.
    let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
    slow.write_all(format!("GET /livez HTTP/1.1\r\nHost: {HOST}\r\nX-Slow: ").as_bytes()).await.unwrap();
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(60), slow.read_to_end(&mut rest)).await;
    assert!(closed.is_ok(), "the connection was closed by the server");
    assert!(!String::from_utf8_lossy(&rest).contains(" 200 "), "no answer to half a request");

    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(60), server).await.expect("shuts down").unwrap();
}

/// A log-in POST as `client`, with an `X-Forwarded-For` header when given.
async fn log_in_forwarded(client: &mut TestClient, forwarded_for: Option<&str>, email: &str, password: &str) -> StatusCode {
    let body = serde_urlencoded::to_string([("email", email), ("password", password)]).unwrap();
    let mut request = Request::post("/api/auth/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ORIGIN, format!("http://{HOST}"));
    if let Some(chain) = forwarded_for {
        request = request.header("x-forwarded-for", chain);
    }
    client.send(request.body(Body::from(body)).unwrap()).await.status
}

async fn failures_of(app: &TestApp, subject: &str) -> i64 {
    login_failures::table
        .filter(login_failures::subject.eq(subject))
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_for_counts_only_from_a_trusted_proxy_and_from_the_right() {
    let app = TestApp::with_settings(&[("CADENCE_TRUSTED_PROXIES", "10.0.0.0/8"), ("CADENCE_LOGIN_MAX_FAILURES_PER_IP", "2")])
        .await;
    let mut proxy = app.client();
    proxy.peer = "10.0.0.5:4000".parse().unwrap();
    // The client forged the first entry; the proxy appended the address it saw.
    for _ in 0..2 {
        let status = log_in_forwarded(&mut proxy, Some("192.0.2.1, 198.51.100.1"), "nobody@example.com", "wrong wrong").await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(failures_of(&app, "ip:198.51.100.1").await, 2);
    assert_eq!(failures_of(&app, "ip:192.0.2.1").await, 0, "the forged entry counts for nothing");
    assert_eq!(failures_of(&app, "ip:10.0.0.5").await, 0, "the proxy is not the client");
    let paused = log_in_forwarded(&mut proxy, Some("198.51.100.1"), "nobody@example.com", "wrong wrong").await;
    assert_eq!(paused, StatusCode::TOO_MANY_REQUESTS);
    // Another client behind the same proxy is not paused with the first.
    let other = log_in_forwarded(&mut proxy, Some("198.51.100.2"), "nobody@example.com", "wrong wrong").await;
    assert_eq!(other, StatusCode::UNPROCESSABLE_ENTITY);

    // A client reaching Cadence directly cannot pick its address with the header.
    let mut direct = app.client();
    direct.peer = "203.0.113.9:4000".parse().unwrap();
    log_in_forwarded(&mut direct, Some("198.51.100.3"), "nobody@example.com", "wrong wrong").await;
    assert_eq!(failures_of(&app, "ip:203.0.113.9").await, 1);
    assert_eq!(failures_of(&app, "ip:198.51.100.3").await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_of_wrong_passwords_does_not_lock_the_owner_out_of_a_known_browser() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "1")]).await;
    let mut owner = app.signed_up("Ana").await;
    assert!(owner.device.is_some(), "the browser that signed up is a known device");
    owner.call::<()>("auth/logout", &[]).await.unwrap();
    // Wrong guesses from ten addresses: ten times the per-account limit, the account-wide pause.
    for n in 0..10 {
        let mut guesser = app.client();
        guesser.peer = format!("198.51.100.{n}:1000").parse().unwrap();
        guesser.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "wrong wrong wrong")]).await.unwrap_err();
    }
    let mut stranger = app.client();
    stranger.peer = "192.0.2.99:1000".parse().unwrap();
    let refused = stranger.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await;
    assert!(matches!(refused, Err(AppError::RateLimited { .. })), "an unknown browser waits: {refused:?}");

    // The owner's browser, from a new address even, is let in with the right password.
    owner.peer = "192.0.2.10:1000".parse().unwrap();
    owner.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await.expect("the owner is not locked out");
    assert!(owner.session_info().await.is_some());

    // A made-up device cookie, or another person's, proves nothing.
    let mut forger = app.client();
    forger.peer = "192.0.2.11:1000".parse().unwrap();
    forger.device = Some("made-up".into());
    let forged = forger.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await;
    assert!(matches!(forged, Err(AppError::RateLimited { .. })), "{forged:?}");
    let bo = app.signed_up("Bo").await;
    let mut borrowed = app.client();
    borrowed.peer = "192.0.2.12:1000".parse().unwrap();
    borrowed.device = bo.device.clone();
    let other = borrowed.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", PASSWORD)]).await;
    assert!(matches!(other, Err(AppError::RateLimited { .. })), "{other:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stolen_device_cookie_still_buys_only_a_few_guesses() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "2")]).await;
    let owner = app.signed_up("Ana").await;
    let mut thief = app.client();
    thief.device = owner.device.clone();
    for n in 0..2 {
        thief.peer = format!("198.51.100.{n}:1000").parse().unwrap();
        let wrong = thief.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "guess guess guess")]).await;
        assert!(wrong.unwrap_err().field_message("password").is_some());
    }
    thief.peer = "198.51.100.9:1000".parse().unwrap();
    let paused = thief.call::<()>("auth/login", &[("email", "ana@example.com"), ("password", "guess guess guess")]).await;
    assert!(matches!(paused, Err(AppError::RateLimited { .. })), "the device's own failures pause it: {paused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_cookie_without_origin_or_fetch_metadata_cannot_change_anything() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    ana.origin = None;
    let refused = ana.post_form("/api/teams/create", &[("name", "Sneaky")]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // A browser's same-origin request without Origin (Sec-Fetch-Site says so) passes.
    let body = serde_urlencoded::to_string([("name", "Honest")]).unwrap();
    let request = Request::post("/api/teams/create")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "same-origin")
        .body(Body::from(body))
        .unwrap();
    let allowed = ana.send(request).await;
    assert!(allowed.status.is_success() || allowed.status.is_redirection(), "{}: {}", allowed.status, allowed.text());

    ana.origin = Some(format!("http://{HOST}"));
    let teams: Vec<String> = ana.session_info().await.unwrap().teams.into_iter().map(|team| team.name).collect();
    assert!(teams.contains(&"Honest".to_owned()) && !teams.contains(&"Sneaky".to_owned()), "{teams:?}");

    // Without a session (curl, a webhook) the request is judged on its own merits.
    let mut curl = app.client();
    curl.origin = None;
    let anonymous = curl.post_form("/api/auth/login", &[("email", "ana@example.com"), ("password", "wrong wrong")]).await;
    assert_eq!(anonymous.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_session_table_holds_hashes_not_the_ids_in_cookies() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let cookie = ana.cookie.clone().unwrap();
    let stored: Vec<String> = sessions::table.select(sessions::id).load(&mut app.conn().await).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], cookie, "the cookie's id is not in the table");
    let id: tower_sessions::session::Id = cookie.parse().unwrap();
    assert_eq!(stored[0], server::session_store::row_key(&id));
    assert!(ana.session_info().await.is_some(), "the session is found by its hash");
}

#[tokio::test(flavor = "multi_thread")]
async fn unfinished_bucket_uploads_are_aborted_at_start_once_an_hour_old() {
    let Ok(endpoint) = std::env::var("TEST_S3_ENDPOINT") else {
        eprintln!("skipped: TEST_S3_ENDPOINT is not set (scripts/test starts an S3 stand-in)");
        return;
    };
    let bucket = format!("cadence-test-{}", uuid::Uuid::new_v4().simple());
    let http = reqwest::Client::new();
    assert!(http.put(format!("{endpoint}/{bucket}")).send().await.unwrap().status().is_success());
    let ours = format!("{}.video", uuid::Uuid::new_v4());
    for key in [ours.as_str(), "someone-else/backup.tar"] {
        let started = http.post(format!("{endpoint}/{bucket}/{key}?uploads")).send().await.unwrap();
        assert!(started.status().is_success(), "{key}: {}", started.status());
    }
    let app = TestApp::with_settings(&[
        ("CADENCE_MEDIA_S3_BUCKET", &bucket),
        ("CADENCE_MEDIA_S3_ENDPOINT", &endpoint),
        ("CADENCE_MEDIA_S3_ACCESS_KEY_ID", "test"),
        ("CADENCE_MEDIA_S3_SECRET_ACCESS_KEY", "test-secret"),
    ])
    .await;
    let listing = || async { http.get(format!("{endpoint}/{bucket}?uploads")).send().await.unwrap().text().await.unwrap() };
    let unfinished = || async {
        let listing = listing().await;
        listing.split("<Key>").skip(1).map(|rest| rest.split("</Key>").next().unwrap().to_owned()).collect::<Vec<_>>()
    };
    // Ages are judged from the bucket's own start times (moto reports a fixed one).
    let started = listing().await;
    let started = started.split("<Initiated>").nth(1).and_then(|rest| rest.split("</Initiated>").next()).unwrap().to_owned();
    let started = std::time::SystemTime::from(
        OffsetDateTime::parse(&started, &time::format_description::well_known::Rfc3339).unwrap(),
    );
    let soon = started + Duration::from_secs(30 * 60);
    assert_eq!(app.state.media.abort_stale_uploads(soon).await.unwrap(), 0, "an upload in progress elsewhere stays");
    assert_eq!(unfinished().await.len(), 2);
    let later = started + Duration::from_secs(2 * 3600);
    assert_eq!(app.state.media.abort_stale_uploads(later).await.unwrap(), 1);
    assert_eq!(unfinished().await, ["someone-else/backup.tar"], "only Cadence's own keys are its to abort");
}
