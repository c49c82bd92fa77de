//! Publishing through the real router: the composer's streamed upload into the sandbox's
//! chunked upload (post now, inbox, schedule), the rules refused on the server, status
//! tracking to the end, webhooks, rate limits, and the server's memory while a large video
//! streams through.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account, fast_app_with_sandbox},
    test_app::PASSWORD,
    upload::Upload,
};
use app::{
    db::schema::{media, posts},
    error::AppError,
    media::catalog,
    posts::{
        ssr::Post,
        types::{PostDetail, PostState, UploadOutcome},
    },
    publishing::{due::publish_due, status::check_due_statuses},
    tiktok::rate_limit::{LimitedEndpoint, try_acquire},
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use std::time::Duration;
use time::OffsetDateTime;

const INIT: &str = "/v2/post/publish/video/init/";
const INBOX_INIT: &str = "/v2/post/publish/inbox/video/init/";



async fn detail(client: &mut TestClient, outcome: &UploadOutcome) -> PostDetail {
    client.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap()
}

/// Runs the status job until the post settles (the sandbox finishes in 50 ms).
async fn settle(app: &TestApp, client: &mut TestClient, outcome: &UploadOutcome) -> PostDetail {
    for _ in 0..50 {
        check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(10)).await.unwrap();
        let detail = detail(client, outcome).await;
        if detail.post.state.is_settled() {
            return detail;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the post never settled: {:?}", detail(client, outcome).await);
}

fn kinds(detail: &PostDetail) -> Vec<&str> {
    detail.events.iter().map(|e| e.kind.as_str()).collect()
}

async fn post_count(app: &TestApp) -> i64 {
    posts::table.count().get_result(&mut app.conn().await).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn post_now_streams_the_video_into_tiktok_and_follows_it_to_published() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let upload = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 3_000_000));
    let outcome = upload.send(&mut owner).await.expect("posted");
    assert_eq!(outcome.state, PostState::Processing);
    assert_eq!(sandbox.count(INIT, "PUBLIC_TO_EVERYONE"), 1, "one init, with the privacy the person chose");
    assert_eq!(sandbox.count(INIT, "\"title\":\"Launch day #cadence @maya\""), 1, "caption kept verbatim");
    assert_eq!(sandbox.count(INIT, "\"disable_comment\":true"), 1, "interactions off unless allowed");

    let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert!(row.publish_id.as_deref().is_some_and(|id| id.starts_with("v_pub_file~")), "publish id stored");

    let settled = settle(&app, &mut owner, &outcome).await;
    assert_eq!(settled.post.state, PostState::Published);
    // The id comes after TikTok's moderation (the sandbox's `moderation_delay`); see following.rs.
    // At the real time, so the post's own backoff paces the questions.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let settled = loop {
        check_due_statuses(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let seen = detail(&mut owner, &outcome).await;
        if seen.post.tiktok_post_id.is_some() {
            break seen;
        }
        assert!(tokio::time::Instant::now() < deadline, "no post id after moderation: {seen:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let post_id = settled.post.tiktok_post_id.clone().expect("a public post gets its id");
    assert_eq!(post_id.len(), 19, "TikTok's 19-digit id, every digit kept: {post_id}");
    assert_eq!(kinds(&settled), ["created", "upload_started", "uploaded", "published", "public"]);
    assert!(settled.post.tiktok_url().unwrap().ends_with(&post_id));

    let listed = owner.call::<app::posts::types::PostListPage>("posts/list", &[]).await.unwrap().posts;
    assert_eq!(listed.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn send_to_inbox_uses_the_inbox_endpoint_and_ends_in_the_inbox() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let mut upload = Upload::post_now(&account, "", SyntheticVideo::mp4(15, 2_000_000));
    upload.mode = "send_to_inbox";
    upload.choices.privacy_level = None;
    let outcome = upload.send(&mut owner).await.expect("sent to the inbox");
    assert_eq!(sandbox.count(INBOX_INIT, "source_info"), 1);
    assert_eq!(sandbox.count(INIT, ""), 0, "no direct post");
    let settled = settle(&app, &mut owner, &outcome).await;
    assert_eq!(settled.post.state, PostState::InInbox);
    assert!(settled.events.last().unwrap().message.contains("inbox notification"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_post_waits_in_the_media_store_and_is_sent_once_when_due() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let upload = Upload::scheduled(&account, "MUTUAL_FOLLOW_FRIENDS", SyntheticVideo::mp4(30, 12_000_000), due);
    let outcome = upload.send(&mut owner).await.expect("scheduled");
    assert_eq!(outcome.state, PostState::Scheduled);
    assert_eq!(sandbox.count(INIT, ""), 0, "nothing goes to TikTok before its time");

    let media_dir = app.state.config.data_dir.join("media");
    let stored: Vec<_> = std::fs::read_dir(&media_dir).unwrap().collect();
    assert_eq!(stored.len(), 1, "the video is in the media store");
    assert_eq!(stored[0].as_ref().unwrap().metadata().unwrap().len(), 12_000_000);

    let worker = uuid::Uuid::new_v4();
    assert_eq!(publish_due(&app.state, OffsetDateTime::now_utc(), worker).await.unwrap(), 0, "not due yet");
    assert_eq!(publish_due(&app.state, due, worker).await.unwrap(), 1);
    assert_eq!(publish_due(&app.state, due, worker).await.unwrap(), 0, "taken once");
    assert_eq!(sandbox.count(INIT, "MUTUAL_FOLLOW_FRIENDS"), 1);

    let settled = settle(&app, &mut owner, &outcome).await;
    assert_eq!(settled.post.state, PostState::Published);
    assert_eq!(kinds(&settled), ["created", "attempt", "upload_started", "uploaded", "published"]);

    // The video stays a day after publishing, then goes.
    let mut conn = app.conn().await;
    let store = &app.state.media;
    assert_eq!(catalog::remove_expired(&mut conn, store, OffsetDateTime::now_utc()).await.unwrap(), 0);
    let later = OffsetDateTime::now_utc() + catalog::GRACE + time::Duration::minutes(1);
    assert_eq!(catalog::remove_expired(&mut conn, store, later).await.unwrap(), 1);
    assert_eq!(std::fs::read_dir(&media_dir).unwrap().count(), 0);
    assert_eq!(media::table.count().get_result::<i64>(&mut conn).await.unwrap(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_a_scheduled_post_keeps_it_from_being_sent() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 1_000_000), due).send(&mut owner).await.unwrap();
    owner.call::<()>("posts/cancel", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert_eq!(publish_due(&app.state, due, uuid::Uuid::new_v4()).await.unwrap(), 0);
    assert_eq!(detail(&mut owner, &outcome).await.post.state, PostState::Cancelled);
    assert_eq!(sandbox.count(INIT, ""), 0);
    let again = owner.call::<()>("posts/cancel", &[("post_id", &outcome.post_id.to_string())]).await.unwrap_err();
    assert!(matches!(again, AppError::Conflict(_)), "{again:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn scheduling_in_the_past_is_refused_with_a_clear_message() {
    let (sandbox, _app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let mut upload = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 1_000_000));
    upload.mode = "schedule";
    upload.scheduled_at = Some("2020-01-01T09:00:00Z".into());
    let error = upload.send(&mut owner).await.unwrap_err();
    assert_eq!(error.field_message("scheduled_at").as_deref(), Some("That time has passed. Choose a time at least a minute from now."));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_composer_rules_are_enforced_again_on_the_server() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let leo = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let video = || SyntheticVideo::mp4(20, 1_000_000);

    let mut no_privacy = Upload::post_now(&maya, "", video());
    no_privacy.choices.privacy_level = None;
    assert_eq!(no_privacy.send(&mut owner).await.unwrap_err().field_message("privacy_level").as_deref(), Some("Choose who can see this post."));

    let mut branded_private = Upload::post_now(&maya, "SELF_ONLY", video());
    branded_private.choices.commercial = true;
    branded_private.choices.branded_content = true;
    assert!(branded_private.send(&mut owner).await.unwrap_err().field_message("branded_content").is_some());

    let mut undisclosed = Upload::post_now(&maya, "PUBLIC_TO_EVERYONE", video());
    undisclosed.choices.commercial = true;
    assert!(undisclosed.send(&mut owner).await.unwrap_err().field_message("commercial").is_some());

    let mut duet = Upload::post_now(&leo, "FOLLOWER_OF_CREATOR", video());
    duet.choices.allow_duet = true;
    assert!(duet.send(&mut owner).await.unwrap_err().field_message("allow_duet").is_some(), "Leo turned duets off");

    let public_for_private = Upload::post_now(&leo, "PUBLIC_TO_EVERYONE", video());
    assert!(public_for_private.send(&mut owner).await.unwrap_err().field_message("privacy_level").is_some());

    assert_eq!(sandbox.count(INIT, ""), 0, "nothing was sent to TikTok");
    assert_eq!(post_count(&app).await, 0, "and no post was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn videos_tiktok_would_fail_are_refused_before_anything_is_sent() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let sam = connected_account(&sandbox, &mut owner, "Short Clips Sam").await;

    let too_long = Upload::post_now(&sam, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(90, 1_000_000));
    let error = too_long.send(&mut owner).await.unwrap_err();
    assert_eq!(
        error.field_message("video").as_deref(),
        Some("The video is 1:30 long; this account may post at most 1:00. Trim it and upload again.")
    );

    let gif = Upload::post_now(&sam, "PUBLIC_TO_EVERYONE", SyntheticVideo::raw(b"GIF89a\x01\x00\x01\x00\x80\x00\x00", 50_000));
    assert_eq!(gif.send(&mut owner).await.unwrap_err().field_message("video").as_deref(), Some("This file is not an MP4, MOV or WebM video."));

    let mut huge = Upload::post_now(&sam, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 1_000_000));
    huge.declared_size = Some(5_000_000_000);
    assert!(huge.send(&mut owner).await.unwrap_err().field_message("video").unwrap().contains("at most 4 GB"));

    let mut empty = Upload::post_now(&sam, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 1_000_000));
    empty.declared_size = Some(0);
    assert!(empty.send(&mut owner).await.unwrap_err().field_message("video").is_some());

    assert_eq!(sandbox.count(INIT, ""), 0);
    assert_eq!(post_count(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_video_whose_header_comes_last_is_judged_before_tiktok_has_it_all() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let sam = connected_account(&sandbox, &mut owner, "Short Clips Sam").await;
    // ftyp, 3 MB of media data, then moov: as phones often write them.
    let moov_last = |seconds: u32| {
        let header = sandbox::synthetic::mp4_header(seconds * 1000, Some((720, 1280)), 0);
        let moov_at = header.windows(4).position(|w| w == b"moov").unwrap() - 4;
        let (ftyp, rest) = header.split_at(moov_at);
        let moov = &rest[..rest.len() - 8];
        let mut file = ftyp.to_vec();
        file.extend_from_slice(&(3_000_008u32).to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend(std::iter::repeat_n(0u8, 3_000_000));
        file.extend_from_slice(moov);
        file
    };
    let mut too_long = Upload::post_now(&sam, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(1, 1));
    too_long.raw = Some(moov_last(90));
    let error = too_long.send(&mut owner).await.unwrap_err();
    assert_eq!(
        error.field_message("video").as_deref(),
        Some("The video is 1:30 long; this account may post at most 1:00. Trim it and upload again.")
    );
    let complete = sandbox.sandbox.requests().iter().filter(|r| r.method == "PUT" && r.status == Some(201)).count();
    assert_eq!(complete, 0, "TikTok never received the whole file");
    assert_eq!(post_count(&app).await, 0);

    let mut fine = Upload::post_now(&sam, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(1, 1));
    fine.raw = Some(moov_last(45));
    let outcome = fine.send(&mut owner).await.expect("a 45 s video with its header last is fine");
    assert_eq!(settle(&app, &mut owner, &outcome).await.post.state, PostState::Published);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_upload_leaves_no_post_and_no_file() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;

    let mut cut = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 20_000_000));
    cut.cut_after = Some(6_000_000);
    assert!(cut.send(&mut owner).await.is_err());
    assert_eq!(post_count(&app).await, 0, "the half-sent post is gone");
    assert_eq!(sandbox.count(INIT, ""), 1, "TikTok got an init and part of the bytes, never the whole video");

    let in_an_hour = OffsetDateTime::now_utc() + time::Duration::hours(1);
    let mut cut_schedule = Upload::scheduled(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 20_000_000), in_an_hour);
    cut_schedule.cut_after = Some(6_000_000);
    assert!(cut_schedule.send(&mut owner).await.is_err());
    assert_eq!(post_count(&app).await, 0);
    let media_dir = app.state.config.data_dir.join("media");
    let left = std::fs::read_dir(&media_dir).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0, "no partial file in the media store");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_team_cannot_post_to_see_or_cancel_and_viewers_cannot_post() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();

    let mut stranger = app.signed_up("Mallory").await;
    let error = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut stranger).await.unwrap_err();
    assert!(matches!(error, AppError::NotFound(_)), "{error:?}");
    let error = stranger.call::<PostDetail>("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap_err();
    assert!(matches!(error, AppError::NotFound(_)), "{error:?}");
    let listed = stranger.call::<app::posts::types::PostListPage>("posts/list", &[]).await.unwrap().posts;
    assert!(listed.is_empty());
    let dashboard = stranger.call::<app::dashboard::DashboardView>("dashboard", &[]).await.unwrap();
    assert!(dashboard.posts.counts.is_empty() && dashboard.accounts.is_empty(), "another team's dashboard: {dashboard:?}");
    let own = owner.call::<app::dashboard::DashboardView>("dashboard", &[]).await.unwrap();
    assert_eq!(own.accounts.len(), 1, "the owner's dashboard has the team's account");
    assert!(!own.posts.counts.is_empty(), "and its post");
    let error = stranger.call::<()>("posts/cancel", &[("post_id", &outcome.post_id.to_string())]).await.unwrap_err();
    assert!(matches!(error, AppError::NotFound(_)), "{error:?}");
    let error = stranger.call::<app::tiktok::types::CreatorInfo>("posts/creator", &[("account_id", &account)]).await.unwrap_err();
    assert!(matches!(error, AppError::NotFound(_)), "{error:?}");

    let created: app::teams::types::CreatedInvite = owner.call("teams/invites/create", &[("role", "viewer")]).await.unwrap();
    let mut viewer = app.client();
    viewer
        .call::<()>(
            "auth/signup",
            &[
                ("email", "vera@example.com"),
                ("password", PASSWORD),
                ("display_name", "Vera"),
                ("time_zone", "UTC"),
                ("invite", created.path.trim_start_matches("/invite/")),
            ],
        )
        .await
        .unwrap();
    let error = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut viewer).await.unwrap_err();
    assert!(matches!(error, AppError::Forbidden(_)), "{error:?}");
    let seen: PostDetail = viewer.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert_eq!(seen.post.id, outcome.post_id, "viewers may look");
    assert_eq!(sandbox.count(INIT, ""), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_picture_too_small_for_tiktok_is_refused_from_its_header() {
    let (sandbox, _app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let narrow = SyntheticVideo::raw(&sandbox::synthetic::mp4_header(20_000, Some((200, 1280)), 1_000_000), 1_000_000);
    let error = Upload::post_now(&account, "SELF_ONLY", narrow).send(&mut owner).await.unwrap_err();
    assert_eq!(
        error.field_message("video").as_deref(),
        Some("The video is 200 pixels wide; TikTok needs 360 to 4096 pixels on each side.")
    );
    assert_eq!(sandbox.count(INIT, ""), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn publish_webhooks_move_the_post_without_waiting_for_a_status_check() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
    let publish_id = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().publish_id.unwrap();
    let secret = sandbox.sandbox.config().client_secret.clone();
    let deliver = async |event: &str, content: serde_json::Value| {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let body = serde_json::json!({
            "client_key": sandbox.sandbox.config().client_key,
            "event": event,
            "create_time": now,
            "user_openid": sandbox.open_id_of("Maya Public"),
            "content": content.to_string(),
        })
        .to_string();
        let signature = app::tiktok::webhook::sign(body.as_bytes(), secret.as_bytes(), now);
        let request = http::Request::post("/webhooks/tiktok")
            .header("content-type", "application/json")
            .header("TikTok-Signature", signature)
            .body(axum::body::Body::from(body))
            .unwrap();
        app.client().send(request).await.status
    };
    assert_eq!(deliver("post.publish.complete", serde_json::json!({"publish_id": publish_id, "publish_type": "DIRECT_PUBLISH"})).await, 200);
    assert_eq!(detail(&mut owner, &outcome).await.post.state, PostState::Published);
    let big_id = serde_json::Number::from(7261463769757501445u64);
    assert_eq!(
        deliver("post.publish.publicly_available", serde_json::json!({"publish_id": publish_id, "post_id": big_id})).await,
        200
    );
    let settled = detail(&mut owner, &outcome).await;
    assert_eq!(settled.post.tiktok_post_id.as_deref(), Some("7261463769757501445"), "no digit rounded");
    // A late failure for a published post changes nothing.
    deliver("post.publish.failed", serde_json::json!({"publish_id": publish_id, "reason": "internal"})).await;
    assert_eq!(detail(&mut owner, &outcome).await.post.state, PostState::Published);

    // TikTok's fail_reason arrives as a sentence with what to do.
    tokio::time::sleep(Duration::from_millis(10)).await;
    let second = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
    let second_id = Post::find(&mut *app.conn().await, second.post_id).await.unwrap().publish_id.unwrap();
    deliver("post.publish.failed", serde_json::json!({"publish_id": second_id, "reason": "spam_risk_text"})).await;
    let failed = detail(&mut owner, &second).await;
    assert_eq!(failed.post.state, PostState::Failed);
    assert_eq!(
        failed.post.fail_message.as_deref(),
        Some("TikTok judged the caption to be spam. Change the caption before posting again.")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_hold_across_servers_without_a_read_then_write_race() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account: uuid::Uuid = connected_account(&sandbox, &mut owner, "Maya Public").await.parse().unwrap();
    let now = OffsetDateTime::now_utc();
    // Sixteen callers at once, as several servers would: exactly TikTok's 6 get through.
    let attempts = (0..16).map(|_| {
        let pool = app.state.pool.clone();
        tokio::spawn(async move {
            let mut conn = pool.get().await.unwrap();
            try_acquire(&mut conn, account, LimitedEndpoint::PublishInit, now).await.unwrap()
        })
    });
    let results = futures_util::future::join_all(attempts).await;
    let granted = results.iter().filter(|r| r.as_ref().unwrap().is_ok()).count();
    assert_eq!(granted, 6);
    let wait = results.iter().find_map(|r| r.as_ref().unwrap().err()).unwrap();
    assert!(wait <= Duration::from_secs(60) && wait > Duration::from_secs(55), "{wait:?}");
    let mut conn = app.conn().await;
    let later = now + time::Duration::seconds(61);
    assert!(try_acquire(&mut conn, account, LimitedEndpoint::PublishInit, later).await.unwrap().is_ok(), "the window slides");

    // A refused init gives back the day's slot it had taken.
    {
        use sandbox::{Endpoint, Fault, FaultKind};
        let (sandbox2, app2, mut owner2) = fast_app_with_sandbox().await;
        let maya = connected_account(&sandbox2, &mut owner2, "Maya Public").await;
        sandbox2.sandbox.inject(Fault { endpoint: Endpoint::VideoInit, kind: FaultKind::Status429, count: 1, skip: 0 });
        let refused = Upload::post_now(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner2).await;
        assert!(refused.is_err());
        let daily: i64 = {
            use app::db::schema::tiktok_calls;
            tiktok_calls::table
                .filter(tiktok_calls::endpoint.eq("direct_posts_per_day"))
                .count()
                .get_result(&mut app2.conn().await)
                .await
                .unwrap()
        };
        assert_eq!(daily, 0);
    }

    // The composer says so before TikTok is asked (the window is full for the next minute).
    let error = Upload::post_now(&account.to_string(), "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000))
        .send(&mut owner)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("6 new posts a minute"), "{error}");
    assert_eq!(sandbox.count(INIT, ""), 0);
}

/// An S3-compatible server for the bucket backend (scripts/test starts moto's and sets this).
fn s3_endpoint() -> String {
    std::env::var("TEST_S3_ENDPOINT").expect("TEST_S3_ENDPOINT must point at an S3-compatible server (scripts/test starts one)")
}

/// Keys in `bucket`, read through S3's own listing API.
async fn bucket_keys(bucket: &str) -> Vec<String> {
    let listing = reqwest::get(format!("{}/{bucket}?list-type=2", s3_endpoint())).await.unwrap().text().await.unwrap();
    listing.split("<Key>").skip(1).map(|rest| rest.split("</Key>").next().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_bucket_several_servers_share_the_media_store() {
    let sandbox = TestSandbox::start_with(sandbox::SandboxConfig {
        processing_delay: Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let bucket = format!("cadence-test-{}", uuid::Uuid::new_v4().simple());
    let created = reqwest::Client::new().put(format!("{}/{bucket}", s3_endpoint())).send().await.unwrap();
    assert!(created.status().is_success(), "bucket created: {}", created.status());
    let mut settings = sandbox.app_settings();
    settings.extend([
        ("CADENCE_MEDIA_S3_BUCKET", bucket.clone()),
        ("CADENCE_MEDIA_S3_ENDPOINT", s3_endpoint()),
        ("CADENCE_MEDIA_S3_ACCESS_KEY_ID", "test".to_owned()),
        ("CADENCE_MEDIA_S3_SECRET_ACCESS_KEY", "test-secret".to_owned()),
    ]);
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let mut owner = app.signed_up("Olga").await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;

    // Cut off mid-way: the multipart upload is aborted, nothing is left in the bucket.
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let mut cut = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(30, 30_000_000), due);
    cut.cut_after = Some(20_000_000);
    assert!(cut.send(&mut owner).await.is_err());
    assert!(bucket_keys(&bucket).await.is_empty());

    cut.cut_after = None;
    let outcome = cut.send(&mut owner).await.expect("scheduled into the bucket");
    assert_eq!(bucket_keys(&bucket).await.len(), 1);
    // Another server (same database, same bucket, no local copy) sends it when due.
    let other = app.another_state(&settings);
    assert_eq!(publish_due(&other, due, uuid::Uuid::new_v4()).await.unwrap(), 1);
    let settled = settle(&app, &mut owner, &outcome).await;
    assert_eq!(settled.post.state, PostState::Published);
    let uploaded = sandbox.sandbox.requests().iter().filter(|r| r.method == "PUT" && r.status == Some(201)).count();
    assert_eq!(uploaded, 1);

    let later = OffsetDateTime::now_utc() + catalog::GRACE + time::Duration::minutes(1);
    assert_eq!(catalog::remove_expired(&mut *app.conn().await, &app.state.media, later).await.unwrap(), 1);
    assert!(bucket_keys(&bucket).await.is_empty(), "the published post's video left the bucket");
}
