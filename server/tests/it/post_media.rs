//! A post's own media for the team: the frame the composer drew is kept and served to members
//! only (and carried by copies and by a draft that is scheduled), the stored video plays on the
//! post page in ranges, and a scheduled post's video and account are replaced in place, under
//! the composer's rules, asking for approval again and losing to a claim.

use crate::util::{
    TestClient,
    sandbox::{connected_account, owner_with_account},
    test_app::TestResponse,
    upload::Upload,
};
use app::{
    approvals::types::Approval,
    calendar::types::CalendarView,
    error::AppError,
    posts::{rules::ComposerChoices, types::{PostDetail, PostState, UploadOutcome}},
    publishing::due::publish_due,
};
use base64::Engine as _;
use diesel_async::RunQueryDsl;
use http::{Request, StatusCode, header};
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";

/// A JPEG as small as the composer's are, which only a browser would need to decode.
fn frame() -> Vec<u8> {
    [&[0xFF, 0xD8, 0xFF, 0xE0][..], &[0x5A; 2_000], &[0xFF, 0xD9]].concat()
}

fn as_data_url(jpeg: &[u8]) -> String {
    format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(jpeg))
}

async fn schedule_with(client: &mut TestClient, account: &str, minutes: i64, thumbnail: Option<String>) -> Result<UploadOutcome, AppError> {
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    let mut upload = Upload::scheduled(account, "SELF_ONLY", SyntheticVideo::mp4(20, 300_000), at);
    upload.more_fields.extend(thumbnail.map(|t| ("thumbnail", t)));
    upload.send(client).await
}

async fn detail(client: &mut TestClient, post: Uuid) -> PostDetail {
    client.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap()
}

async fn get(client: &mut TestClient, path: &str, range: Option<&str>) -> TestResponse {
    let mut request = Request::get(path);
    if let Some(range) = range {
        request = request.header(header::RANGE, range);
    }
    client.send(request.body(axum::body::Body::empty()).unwrap()).await
}

fn path_of(url: &str) -> &str {
    url.split('?').next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_composers_frame_is_kept_and_shown_only_to_the_team_with_the_video_in_ranges() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let post = schedule_with(&mut owner, &account, 30, Some(as_data_url(&frame()))).await.unwrap().post_id;
    let shown = detail(&mut owner, post).await.post;
    let thumbnail = shown.thumbnail_url.clone().expect("the frame is kept");
    assert!(thumbnail.starts_with(&format!("/posts/{post}/thumbnail?v=")), "{thumbnail}");
    let served = get(&mut owner, &thumbnail, None).await;
    assert_eq!(served.status, StatusCode::OK);
    assert_eq!(served.header("content-type"), Some("image/jpeg"));
    assert_eq!(served.body, frame(), "the bytes the composer sent");
    assert!(served.header("cache-control").is_some_and(|c| c.starts_with("private")), "never in a shared cache");

    // The calendar names the same frame.
    // The week of its time (the member's zone is UTC), whatever day the test runs.
    let day = (OffsetDateTime::now_utc() + time::Duration::minutes(30)).date().to_string();
    let calendar: CalendarView = owner.call("calendar/view", &[("span", "week"), ("date", &day)]).await.unwrap();
    let entry = calendar.weeks.iter().flatten().flat_map(|d| d.entries.iter()).find(|e| e.post_id == post).expect("on the calendar");
    assert_eq!(entry.thumbnail_url.as_deref(), Some(thumbnail.as_str()));

    // The stored video, whole and in parts, for any member (a viewer too).
    let video = shown.video_url.clone().expect("a scheduled post's video is stored");
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let whole = get(&mut viewer, &video, None).await;
    assert_eq!((whole.status, whole.body.len()), (StatusCode::OK, 300_000));
    assert_eq!(whole.header("content-type"), Some("video/mp4"));
    assert_eq!(whole.header("cache-control"), Some("private, no-store"));
    let part = get(&mut viewer, &video, Some("bytes=100-199")).await;
    assert_eq!((part.status, part.body.as_slice()), (StatusCode::PARTIAL_CONTENT, &whole.body[100..200]));
    assert_eq!(get(&mut viewer, &video, Some("bytes=400000-")).await.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // Nobody else: signed out, another team, an unknown post.
    let mut stranger = app.client();
    assert_eq!(get(&mut stranger, path_of(&thumbnail), None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(get(&mut stranger, &video, None).await.status, StatusCode::UNAUTHORIZED);
    let mut other_team = app.signed_up("Otto").await;
    assert_eq!(get(&mut other_team, path_of(&thumbnail), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&mut other_team, &video, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&mut owner, &format!("/posts/{}/video", Uuid::new_v4()), None).await.status, StatusCode::NOT_FOUND);

    // A copy shows the same frame; a post sent without one has none, and says so.
    let copy: Uuid = owner.call("calendar/duplicate", &[("post_id", &post.to_string())]).await.unwrap();
    let copied = detail(&mut owner, copy).await.post.thumbnail_url.expect("a copy keeps the frame");
    assert_eq!(get(&mut owner, &copied, None).await.body, frame());
    let bare = schedule_with(&mut owner, &account, 40, None).await.unwrap().post_id;
    assert_eq!(detail(&mut owner, bare).await.post.thumbnail_url, None);
    assert_eq!(get(&mut owner, &format!("/posts/{bare}/thumbnail"), None).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frame_that_is_not_a_small_jpeg_is_left_out_and_the_upload_still_goes_through() {
    let (_sandbox, _app, mut owner, account) = owner_with_account().await;
    let png = format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(b"\x89PNG\r\n\x1a\n"));
    let html = as_data_url(b"<script>alert(1)</script>");
    let huge = as_data_url(&[&[0xFF, 0xD8, 0xFF][..], &vec![0; 45 * 1024], &[0xFF, 0xD9]].concat());
    for bad in [png, html, huge, "not a data url".to_owned()] {
        let outcome = schedule_with(&mut owner, &account, 30, Some(bad)).await.expect("the video is taken all the same");
        assert_eq!(detail(&mut owner, outcome.post_id).await.post.thumbnail_url, None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drafts_frame_and_video_are_the_teams_and_pass_to_the_post_it_becomes() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let mut upload = Upload::post_now("", "SELF_ONLY", SyntheticVideo::mp4(20, 200_000));
    upload.mode = "draft";
    upload.more_fields.push(("thumbnail", as_data_url(&frame())));
    let draft = upload.send(&mut owner).await.unwrap().post_id;
    let listed: Vec<app::drafts::types::DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    let thumbnail = listed[0].thumbnail_url.clone().expect("the draft's frame");
    assert_eq!(get(&mut owner, &thumbnail, None).await.body, frame());
    assert_eq!(get(&mut owner, &format!("/drafts/{draft}/video"), None).await.body.len(), 200_000);
    let mut other_team = app.signed_up("Otto").await;
    assert_eq!(get(&mut other_team, path_of(&thumbnail), None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(get(&mut other_team, &format!("/drafts/{draft}/video"), None).await.status, StatusCode::NOT_FOUND);

    let at = OffsetDateTime::now_utc() + time::Duration::hours(2);
    let when = format!("{:04}-{:02}-{:02}T{:02}:{:02}", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute());
    let choices = ComposerChoices { caption: "From a draft".into(), privacy_level: Some("SELF_ONLY".into()), ..Default::default() };
    let json = serde_json::to_string(&choices).unwrap();
    let post: Uuid = owner
        .call("drafts/schedule", &[("draft_id", &draft.to_string()), ("account_id", &account), ("choices", &json), ("when", &when)])
        .await
        .unwrap();
    let url = detail(&mut owner, post).await.post.thumbnail_url.expect("the post keeps the draft's frame");
    assert_eq!(get(&mut owner, &url, None).await.body, frame());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_posts_video_is_replaced_in_place_and_tiktok_receives_the_new_one() {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    let post = schedule_with(&mut owner, &account, 5, Some(as_data_url(&frame()))).await.unwrap().post_id;
    let before = detail(&mut owner, post).await;
    owner.call::<()>("posts/approve", &[("post_id", &post.to_string()), ("fingerprint", &before.approval.fingerprint)]).await.unwrap();
    assert_eq!(detail(&mut owner, post).await.post.approval, Approval::Approved);

    // An editor replaces it: the approval of the old video does not carry over.
    let mut editor = app.joined(&mut owner, "editor", "Eddie").await;
    let mut replacement = Upload::replacing_post(post, SyntheticVideo::mp4(15, 500_000));
    let new_frame = [&[0xFF, 0xD8, 0xFF, 0xE1][..], &[1; 900], &[0xFF, 0xD9]].concat();
    replacement.more_fields.push(("thumbnail", as_data_url(&new_frame)));
    let outcome = replacement.send(&mut editor).await.expect("replaced");
    assert_eq!((outcome.post_id, outcome.draft), (post, false));
    let after = detail(&mut owner, post).await;
    assert_eq!(after.post.video_bytes, 500_000);
    assert_eq!(after.post.approval, Approval::Pending, "a new video needs approval again");
    assert_ne!(after.approval.fingerprint, before.approval.fingerprint);
    assert!(after.events.iter().any(|e| e.message.starts_with("Replaced the video (300 kB → 500 kB)")), "{:?}", after.events);
    assert_ne!(after.post.thumbnail_url, before.post.thumbnail_url, "a new frame is a new address");
    assert_eq!(get(&mut owner, after.post.thumbnail_url.as_deref().unwrap(), None).await.body, new_frame);
    assert_eq!(get(&mut owner, after.post.video_url.as_deref().unwrap(), None).await.body.len(), 500_000);
    // The old file is released (kept for the grace period), the new one kept.
    let pending: i64 = diesel::sql_query("SELECT count(*) AS n FROM media WHERE remove_after IS NOT NULL")
        .get_result::<Count>(&mut app.conn().await)
        .await
        .unwrap()
        .n;
    assert_eq!(pending, 1);

    // Approved again, it goes out with the new video only.
    let fingerprint = after.approval.fingerprint.clone();
    owner.call::<()>("posts/approve", &[("post_id", &post.to_string()), ("fingerprint", &fingerprint)]).await.unwrap();
    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(6), Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, "\"video_size\":500000"), 1);
    assert_eq!(sandbox.count(INIT, "\"video_size\":300000"), 0, "the old video never reaches TikTok");

    // Sent now: its video can no longer change, and nothing of the try is kept.
    let late = Upload::replacing_post(post, SyntheticVideo::mp4(15, 400_000)).send(&mut editor).await.expect_err("too late");
    assert!(matches!(&late, AppError::Conflict(m) if m.contains("on its way to TikTok") || m.contains("can no longer be edited")), "{late:?}");
    let stored: i64 = diesel::sql_query("SELECT count(*) AS n FROM media").get_result::<Count>(&mut app.conn().await).await.unwrap().n;
    assert_eq!(stored, 2, "the refused video was not kept");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_replacement_is_held_to_the_creators_rules_and_refused_to_viewers_and_other_teams() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let post = schedule_with(&mut owner, &account, 30, None).await.unwrap().post_id;
    // Maya may post at most 10 minutes (the sandbox's fixture).
    let long = Upload::replacing_post(post, SyntheticVideo::mp4(11 * 60, 400_000)).send(&mut owner).await.expect_err("too long");
    assert!(long.field_message("video").is_some_and(|m| m.contains("at most")), "{long:?}");
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let refused = Upload::replacing_post(post, SyntheticVideo::mp4(15, 400_000)).send(&mut viewer).await.expect_err("viewer");
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");
    let mut other_team = app.signed_up("Otto").await;
    let refused = Upload::replacing_post(post, SyntheticVideo::mp4(15, 400_000)).send(&mut other_team).await.expect_err("another team");
    assert!(matches!(refused, AppError::Forbidden(_) | AppError::NotFound(_)), "{refused:?}");
    assert_eq!(detail(&mut owner, post).await.post.video_bytes, 300_000, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_post_moves_to_another_account_under_that_creators_rules() {
    let (sandbox, app, mut owner, maya) = owner_with_account().await;
    let leo = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let post = schedule_with(&mut owner, &maya, 5, None).await.unwrap().post_id;
    let now = detail(&mut owner, post).await;
    let when = now.post.wall_clock.clone().unwrap();
    let edit = async |client: &mut TestClient, choices: &ComposerChoices, account: &str| {
        let json = serde_json::to_string(choices).unwrap();
        client.call::<String>("posts/edit", &[("post_id", &post.to_string()), ("choices", &json), ("when", &when), ("account_id", account)]).await
    };
    // Leo has duets off: a choice Maya allowed is refused for him, and nothing moves.
    let duet = ComposerChoices { allow_duet: true, ..now.choices.clone() };
    let error = edit(&mut owner, &duet, &leo).await.expect_err("Leo's rules");
    assert!(error.field_message("allow_duet").is_some(), "{error:?}");
    assert_eq!(detail(&mut owner, post).await.post.account_id.to_string(), maya);
    let unknown = edit(&mut owner, &now.choices, &Uuid::new_v4().to_string()).await.expect_err("not the team's");
    assert!(matches!(unknown, AppError::NotFound(_)), "{unknown:?}");

    edit(&mut owner, &now.choices, &leo).await.expect("moved to Leo");
    let moved = detail(&mut owner, post).await;
    assert_eq!(moved.post.account_name, "Leo Private");
    assert!(moved.events.iter().any(|e| e.message == "Edited: account."), "{:?}", moved.events);
    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(6), Uuid::new_v4()).await.unwrap();
    let publishes = sandbox.sandbox.publishes();
    assert_eq!(publishes.len(), 1);
    assert_eq!(publishes[0].open_id, sandbox.open_id_of("Leo Private"), "TikTok receives it for the new account");
    assert_eq!(detail(&mut owner, post).await.post.state == PostState::Scheduled, false);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_new_cover_frame_is_checked_against_the_video_and_becomes_the_lists_frame_and_tiktoks_cover() {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    let post = schedule_with(&mut owner, &account, 5, Some(as_data_url(&frame()))).await.unwrap().post_id;
    let now = detail(&mut owner, post).await;
    let when = now.post.wall_clock.clone().unwrap();
    let edit = async |client: &mut TestClient, cover: u32, thumbnail: Option<String>| {
        let choices = ComposerChoices { cover_timestamp_ms: Some(cover), ..now.choices.clone() };
        let json = serde_json::to_string(&choices).unwrap();
        let mut form = vec![("post_id", post.to_string()), ("choices", json), ("when", when.clone())];
        form.extend(thumbnail.map(|t| ("thumbnail", t)));
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        client.call::<String>("posts/edit", &form).await
    };
    // The video runs 20 s.
    let error = edit(&mut owner, 25_000, None).await.expect_err("past the end");
    assert_eq!(error.field_message("cover_timestamp_ms"), Some("Choose a cover frame within the video.".to_owned()), "{error:?}");

    let cover_frame = [&[0xFF, 0xD8, 0xFF, 0xDB][..], &[9; 700], &[0xFF, 0xD9]].concat();
    edit(&mut owner, 12_500, Some(as_data_url(&cover_frame))).await.expect("a new cover");
    let after = detail(&mut owner, post).await;
    assert_eq!(after.choices.cover_timestamp_ms, Some(12_500));
    assert!(after.events.iter().any(|e| e.message == "Edited: cover frame."), "{:?}", after.events);
    assert_eq!(get(&mut owner, after.post.thumbnail_url.as_deref().unwrap(), None).await.body, cover_frame, "the lists show the new cover");

    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(6), Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, "\"video_cover_timestamp_ms\":12500"), 1, "TikTok receives the new cover");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drafts_video_is_replaced_by_its_team_and_the_post_it_becomes_carries_the_new_one() {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    let mut upload = Upload::post_now("", "SELF_ONLY", SyntheticVideo::mp4(20, 200_000));
    upload.mode = "draft";
    upload.more_fields.push(("thumbnail", as_data_url(&frame())));
    let draft = upload.send(&mut owner).await.unwrap().post_id;
    let before: app::drafts::types::DraftView = owner.call("drafts/detail", &[("draft_id", &draft.to_string())]).await.unwrap();

    // Nobody outside the team's editors replaces it, and a refusal keeps nothing.
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let refused = Upload::replacing_draft(draft, SyntheticVideo::mp4(15, 350_000)).send(&mut viewer).await.expect_err("viewer");
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");
    let mut other_team = app.signed_up("Otto").await;
    let refused = Upload::replacing_draft(draft, SyntheticVideo::mp4(15, 350_000)).send(&mut other_team).await.expect_err("another team");
    assert!(matches!(refused, AppError::Forbidden(_) | AppError::NotFound(_)), "{refused:?}");
    let stored: i64 = diesel::sql_query("SELECT count(*) AS n FROM media").get_result::<Count>(&mut app.conn().await).await.unwrap().n;
    assert_eq!(stored, 1, "refused videos are not kept");

    let mut replacement = Upload::replacing_draft(draft, SyntheticVideo::mp4(15, 350_000));
    let new_frame = [&[0xFF, 0xD8, 0xFF, 0xE2][..], &[3; 500], &[0xFF, 0xD9]].concat();
    replacement.more_fields.push(("thumbnail", as_data_url(&new_frame)));
    let outcome = replacement.send(&mut owner).await.expect("replaced");
    assert_eq!((outcome.post_id, outcome.draft), (draft, true));
    let after: app::drafts::types::DraftView = owner.call("drafts/detail", &[("draft_id", &draft.to_string())]).await.unwrap();
    assert_eq!(after.video_bytes, 350_000);
    assert_ne!(after.video_url, before.video_url, "a new file is a new address");
    assert_eq!(get(&mut owner, after.video_url.as_deref().unwrap(), None).await.body.len(), 350_000);
    assert_eq!(get(&mut owner, after.thumbnail_url.as_deref().unwrap(), None).await.body, new_frame);
    let released: i64 = diesel::sql_query("SELECT count(*) AS n FROM media WHERE remove_after IS NOT NULL")
        .get_result::<Count>(&mut app.conn().await)
        .await
        .unwrap()
        .n;
    assert_eq!(released, 1, "the old video goes after the grace period");
    let audit: app::audit::types::AuditPage = owner.call("audit/list", &[]).await.unwrap();
    assert!(audit.entries.iter().any(|e| e.action == "draft.video_replaced"), "in the audit log");

    // Scheduled, the post takes the new video to TikTok. (The wall clock is the member's own,
    // a few hours ahead of UTC at most, so three hours of UTC are still ahead there.)
    let at = OffsetDateTime::now_utc() + time::Duration::hours(3);
    let when = format!("{:04}-{:02}-{:02}T{:02}:{:02}", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute());
    let choices = ComposerChoices { caption: "Replaced".into(), privacy_level: Some("SELF_ONLY".into()), ..Default::default() };
    let json = serde_json::to_string(&choices).unwrap();
    owner
        .call::<Uuid>("drafts/schedule", &[("draft_id", &draft.to_string()), ("account_id", &account), ("choices", &json), ("when", &when)])
        .await
        .unwrap();
    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::hours(4), Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, "\"video_size\":350000"), 1);
}
