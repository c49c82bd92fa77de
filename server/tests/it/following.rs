//! Following a post after TikTok published it: a public post's id arrives only after
//! moderation, by polling when no webhook comes; private posts are not followed; drafts are
//! followed for a day; replies Cadence cannot read end in "unconfirmed" instead of forever.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account},
    upload::Upload,
};
use app::{
    db::schema::posts,
    posts::{
        ssr::Post,
        types::{PostDetail, PostState, UploadOutcome},
    },
    publishing::status::{MAX_UNREADABLE_REPLIES, check_due_statuses},
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::{SandboxConfig, synthetic::SyntheticVideo};
use std::{
    sync::{Arc, atomic::{AtomicUsize, Ordering}},
    time::Duration,
};
use time::OffsetDateTime;

const STATUS: &str = "/v2/post/publish/status/fetch/";

/// A sandbox that finishes processing in 50 ms and moderates public posts for `moderation`,
/// with no webhook URL: every webhook is lost.
pub async fn app_with_moderation(moderation: Duration) -> (TestSandbox, TestApp, TestClient) {
    let sandbox = TestSandbox::start_with(SandboxConfig {
        processing_delay: Duration::from_millis(50),
        moderation_delay: moderation,
        ..Default::default()
    })
    .await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

async fn detail(client: &mut TestClient, outcome: &UploadOutcome) -> PostDetail {
    client.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap()
}

/// Runs the status job until `done` holds, for at most `within`. It runs at the real time, so
/// the posts' backoff decides when TikTok is asked, which keeps within its 30-a-minute limit.
async fn poll_until(
    app: &TestApp,
    client: &mut TestClient,
    outcome: &UploadOutcome,
    within: Duration,
    done: impl Fn(&PostDetail) -> bool,
) -> PostDetail {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        check_due_statuses(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let seen = detail(client, outcome).await;
        if done(&seen) {
            return seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "not reached in {within:?}: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kinds(detail: &PostDetail) -> Vec<&str> {
    detail.events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_post_gets_its_id_and_link_by_polling_once_moderation_is_done() {
    let (sandbox, app, mut owner) = app_with_moderation(Duration::from_secs(4)).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();

    // PUBLISH_COMPLETE comes first, with no id: the post is published and waits for moderation.
    let published = poll_until(&app, &mut owner, &outcome, Duration::from_secs(20), |d| d.post.state == PostState::Published).await;
    assert_eq!(published.post.tiktok_post_id, None, "the sandbox moderates for 4 s");
    assert!(published.post.awaiting_moderation);
    assert_eq!(published.post.status_label(), "Published — waiting for TikTok's moderation");
    let page = owner.get(&format!("/posts/{}", outcome.post_id)).await.text();
    assert!(page.contains("waiting for TikTok"), "the page says it waits: {page}");
    assert!(!page.contains("Open on TikTok"));
    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert!(row.follow_until.is_some_and(|until| until > OffsetDateTime::now_utc() + time::Duration::hours(23)), "followed for a day");
    assert!(row.next_check_at.is_some());

    // No webhook arrives (none is configured); polling brings the id.
    let live = poll_until(&app, &mut owner, &outcome, Duration::from_secs(30), |d| d.post.tiktok_post_id.is_some()).await;
    assert!(sandbox.sandbox.webhook_deliveries().is_empty(), "every webhook was lost");
    let asked = sandbox.count(STATUS, "");
    assert!(asked <= 10, "the backoff paces the questions: {asked} status calls");
    let post_id = live.post.tiktok_post_id.clone().unwrap();
    assert_eq!(post_id.len(), 19, "{post_id}");
    let username = live.post.account_username.clone().expect("the sandbox gives usernames");
    assert_eq!(live.post.tiktok_url().unwrap(), format!("https://www.tiktok.com/@{username}/video/{post_id}"));
    assert_eq!(live.post.status_label(), "Live on TikTok");
    assert_eq!(kinds(&live), ["created", "upload_started", "uploaded", "published", "public"]);
    let page = owner.get(&format!("/posts/{}", outcome.post_id)).await.text();
    assert!(page.contains("Live on TikTok") && page.contains(&format!("/video/{post_id}")), "{page}");
    let listed = owner.get("/posts").await.text();
    assert!(listed.contains("Live on TikTok"), "the list says so too");

    // Following stopped with the id: no more questions.
    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert_eq!((row.next_check_at, row.follow_until), (None, None));
    let asked = sandbox.count(STATUS, "");
    check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::days(2)).await.unwrap();
    assert_eq!(sandbox.count(STATUS, ""), asked);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_post_is_not_followed_after_publishing() {
    let (sandbox, app, mut owner) = app_with_moderation(Duration::from_secs(4)).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
    let published = poll_until(&app, &mut owner, &outcome, Duration::from_secs(20), |d| d.post.state == PostState::Published).await;
    assert!(!published.post.awaiting_moderation);
    assert_eq!(published.post.status_label(), "Published");
    assert_eq!(published.post.published_note(), Some("TikTok gives no public link for posts that are not public."));
    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert_eq!((row.next_check_at, row.follow_until), (None, None), "nothing to wait for");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_in_the_inbox_is_followed_for_a_day_then_left_to_webhooks() {
    let (sandbox, app, mut owner) = app_with_moderation(Duration::from_secs(4)).await;
    let account = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let mut upload = Upload::post_now(&account, "", SyntheticVideo::mp4(15, 1_000_000));
    upload.mode = "send_to_inbox";
    upload.choices.privacy_level = None;
    let outcome = upload.send(&mut owner).await.unwrap();
    poll_until(&app, &mut owner, &outcome, Duration::from_secs(20), |d| d.post.state == PostState::InInbox).await;

    // Still asked about: the creator may finish the draft in the app.
    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert!(row.follow_until.is_some_and(|until| until > OffsetDateTime::now_utc() + time::Duration::hours(23)));
    let asked = sandbox.count(STATUS, "");
    check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::hours(1)).await.unwrap();
    assert_eq!(sandbox.count(STATUS, ""), asked + 1, "the draft is asked about again");
    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert_eq!(row.state(), PostState::InInbox);
    assert!(row.next_check_at.is_some_and(|next| next <= row.follow_until.unwrap()));

    // A day later nobody finished it: following ends with a sentence.
    let now = OffsetDateTime::now_utc();
    diesel::update(posts::table.find(outcome.post_id))
        .set((posts::follow_until.eq(Some(now + time::Duration::seconds(1))), posts::next_check_at.eq(Some(now))))
        .execute(&mut *app.conn().await)
        .await
        .unwrap();
    let left = poll_until(&app, &mut owner, &outcome, Duration::from_secs(10), |d| kinds(d).contains(&"following_ended")).await;
    assert_eq!(left.post.state, PostState::InInbox);
    assert!(left.events.last().unwrap().message.contains("not posted from the TikTok inbox within a day"));
    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert_eq!((row.next_check_at, row.follow_until), (None, None));
}

/// A stand-in for TikTok's status endpoint answering `ok` with a `data` that has no `status`.
async fn unreadable_status_server() -> (String, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let router = axum::Router::new().route(
        STATUS,
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({
                    "data": {"state": "PUBLISH_COMPLETE", "publicaly_available_post_id": []},
                    "error": {"code": "ok", "message": "", "log_id": "stub"}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (url, calls)
}

#[tokio::test(flavor = "multi_thread")]
async fn replies_that_cannot_be_read_end_in_unconfirmed_instead_of_polling_forever() {
    let (sandbox, app, mut owner) = app_with_moderation(Duration::from_secs(4)).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
    assert_eq!(detail(&mut owner, &outcome).await.post.state, PostState::Processing);

    // A server whose TikTok answers the status in a shape Cadence cannot read.
    let (stub, calls) = unreadable_status_server().await;
    let settings: Vec<(&'static str, String)> = sandbox
        .app_settings()
        .into_iter()
        .map(|(key, value)| if key == "CADENCE_TIKTOK_API_URL" { (key, stub.clone()) } else { (key, value) })
        .collect();
    let state = app.another_state(&settings);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while detail(&mut owner, &outcome).await.post.state == PostState::Processing {
        assert!(tokio::time::Instant::now() < deadline, "never gave up: {:?}", detail(&mut owner, &outcome).await);
        check_due_statuses(&state, OffsetDateTime::now_utc() + time::Duration::days(1)).await.unwrap();
    }
    let settled = detail(&mut owner, &outcome).await;
    assert_eq!(settled.post.state, PostState::Unconfirmed);
    assert_eq!(AtomicUsize::load(&calls, Ordering::SeqCst), MAX_UNREADABLE_REPLIES as usize, "bounded attempts");
    assert!(settled.post.fail_message.as_deref().is_some_and(|m| m.contains("could not be read")), "{settled:?}");
    check_due_statuses(&state, OffsetDateTime::now_utc() + time::Duration::days(1)).await.unwrap();
    assert_eq!(AtomicUsize::load(&calls, Ordering::SeqCst), MAX_UNREADABLE_REPLIES as usize, "and no more");
}

/// A sandbox that never puts the id in status replies (and sends no webhooks), with an app
/// approved for `video.list`, and Cadence asking for it when `with_video_list`.
async fn app_withholding_post_ids(with_video_list: bool) -> (TestSandbox, TestApp, TestClient) {
    let mut approved: Vec<String> = SandboxConfig::default().approved_scopes;
    approved.push("video.list".into());
    let sandbox = TestSandbox::start_with(SandboxConfig {
        processing_delay: Duration::from_millis(50),
        moderation_delay: Duration::from_secs(1),
        withhold_post_ids: true,
        approved_scopes: approved,
        ..Default::default()
    })
    .await;
    let mut settings = sandbox.app_settings();
    let scopes = if with_video_list { "user.info.basic,video.list,video.publish" } else { "user.info.basic,video.publish" };
    settings.push(("CADENCE_TIKTOK_SCOPES", scopes.into()));
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_public_post_whose_status_never_carries_the_id_finds_it_through_the_display_api() {
    let (sandbox, app, mut owner) = app_withholding_post_ids(true).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    // Two posts one after the other: the second must take the video that went live after its
    // own upload and that the first does not have, never the first's.
    let mut found = Vec::new();
    for seconds in [20, 21] {
        let outcome = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(seconds, 1_000_000)).send(&mut owner).await.unwrap();
        let live = poll_until(&app, &mut owner, &outcome, Duration::from_secs(30), |d| d.post.tiktok_post_id.is_some()).await;
        let publish_id = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().publish_id.unwrap();
        let truth = sandbox.sandbox.publishes().into_iter().find(|p| p.publish_id == publish_id).unwrap().post_id;
        let post_id = live.post.tiktok_post_id.clone().unwrap();
        assert_eq!(Some(&post_id), truth.as_ref(), "the sandbox's own id for this publish");
        assert!(sandbox.count("/v2/video/query/", &post_id) > 0, "confirmed with video/query");
        let username = live.post.account_username.clone().unwrap();
        assert_eq!(live.post.tiktok_url().unwrap(), format!("https://www.tiktok.com/@{username}/video/{post_id}"));
        assert_eq!(live.post.status_label(), "Live on TikTok");
        let page = owner.get(&format!("/posts/{}", outcome.post_id)).await.text();
        assert!(page.contains("Live on TikTok") && page.contains(&format!("/video/{post_id}")), "{page}");
        let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
        assert_eq!((row.next_check_at, row.follow_until), (None, None), "following ended with the id");
        found.push(post_id);
    }
    assert_ne!(found[0], found[1]);
    assert!(sandbox.sandbox.webhook_deliveries().is_empty(), "no webhook brought the ids");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_video_list_cadence_never_calls_the_display_api() {
    let (sandbox, app, mut owner) = app_withholding_post_ids(false).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
    poll_until(&app, &mut owner, &outcome, Duration::from_secs(20), |d| d.post.state == PostState::Published).await;
    // Past moderation (1 s), two more status replies without an id (5 s and 10 s apart).
    let asked = sandbox.count(STATUS, "");
    let still = poll_until(&app, &mut owner, &outcome, Duration::from_secs(30), |_| sandbox.count(STATUS, "") >= asked + 2).await;
    assert_eq!(still.post.tiktok_post_id, None);
    assert_eq!(sandbox.count("/v2/video/list/", "") + sandbox.count("/v2/video/query/", ""), 0, "video.list was not granted");
}
