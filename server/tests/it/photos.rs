//! Photo posts (carousels of 1 to 35 images): stored by Cadence, pulled image by image by the
//! sandbox over HTTP through `content/init`, posted at once or on schedule, refused before a
//! byte is stored when TikTok would refuse them, shown only to their team, and TikTok's own
//! refusals explained.

use crate::{
    pull::{SETTLE_POLL, fast, setup},
    util::{
        photo_upload::{PhotoUpload, jpeg_numbered},
        posts::{post, settle},
        sandbox::connected_account,
        TestApp,
    },
};
use app::{
    db::schema::{media, media_pulls},
    posts::{photo_rules::PhotoChoices, types::PostState},
    publishing::{due::publish_due, photos::NEEDS_MEDIA_URL},
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const CONTENT_INIT: &str = "/v2/post/publish/content/init/";

async fn media_rows(app: &TestApp) -> i64 {
    media::table.count().get_result(&mut app.conn().await).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_carousel_is_pulled_image_by_image_and_published_with_its_choices() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let upload = PhotoUpload::scheduled(&maya, "PUBLIC_TO_EVERYONE", 3, 40_000, due);
    let outcome = upload.send(&mut owner).await.expect("scheduled");
    assert_eq!(outcome.state, PostState::Scheduled);
    let stored = post(&app, outcome.post_id).await;
    assert_eq!(stored.photo_media_ids.as_ref().map(Vec::len), Some(3));
    assert_eq!((stored.photo_title.as_deref(), stored.photo_cover_index, stored.auto_add_music), (Some("Trip"), Some(1), true));
    assert_eq!(stored.video_bytes, 120_000, "the images' total");
    assert_eq!(sandbox.count(CONTENT_INIT, ""), 0, "nothing is sent before the post is due");

    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(30), SETTLE_POLL).await, PostState::Published);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"media_type\":\"PHOTO\""), 1, "one photo init");
    assert_eq!(sandbox.count(CONTENT_INIT, "\"post_mode\":\"DIRECT_POST\""), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"photo_cover_index\":1"), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"description\":\"Our trip in photos #cadence\""), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"auto_add_music\":true"), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "disable_duet"), 0, "photos have no duets or stitches");
    assert_eq!(sandbox.count("/v2/post/publish/video/init/", ""), 0);
    let publishes = sandbox.sandbox.publishes();
    assert!(publishes[0].pulled && publishes[0].publish_id.starts_with("p_pub_url~"), "{publishes:?}");

    // Each image was served once, whole, through its own URL.
    let served: Vec<(Uuid, i64)> = media_pulls::table
        .filter(media_pulls::post_id.eq(outcome.post_id))
        .select((media_pulls::media_id, media_pulls::bytes_served))
        .load(&mut app.conn().await)
        .await
        .unwrap();
    let mut images: Vec<Uuid> = served.iter().map(|(id, _)| *id).collect();
    images.sort();
    let mut expected = stored.photo_media_ids.clone().unwrap();
    expected.sort();
    assert_eq!(images, expected);
    assert!(served.iter().all(|(_, bytes)| *bytes == 40_000), "{served:?}");
    // Published: the images are released after the grace period, like a video.
    let released: i64 = media::table.filter(media::remove_after.is_not_null()).count().get_result(&mut app.conn().await).await.unwrap();
    assert_eq!(released, 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carousel_posted_now_or_sent_to_the_inbox_goes_out_at_once() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = PhotoUpload::post_now(&maya, "SELF_ONLY", 2, 30_000).send(&mut owner).await.expect("posted");
    assert_eq!(outcome.state, PostState::Processing, "TikTok was asked to pull before the answer");
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(30), SETTLE_POLL).await, PostState::Published);
    let page = owner.get(&format!("/posts/{}", outcome.post_id)).await.text();
    assert!(page.contains("2 photos") && page.contains("Trip"), "the post page names the photos");
    assert!(page.contains(&format!("/posts/{}/photos/1?m=", outcome.post_id)));

    let mut inbox = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 30_000);
    inbox.mode = "send_to_inbox";
    let sent = inbox.send(&mut owner).await.expect("sent to the inbox");
    assert_eq!(settle(&app, sent.post_id, Duration::from_secs(30), SETTLE_POLL).await, PostState::InInbox);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"post_mode\":\"MEDIA_UPLOAD\""), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"privacy_level\""), 1, "only the direct post names an audience");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_tiktok_would_refuse_is_refused_before_anything_is_stored_and_says_which_photo() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let mut png = PhotoUpload::post_now(&maya, "SELF_ONLY", 2, 20_000);
    png.images[1] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x04\x38\0\0\x05\x46\x08\x06\0\0\0".repeat(100);
    let error = png.send(&mut owner).await.unwrap_err();
    assert_eq!(error.field_message("photos").as_deref(), Some("Photo 2: This is not a JPEG or WebP image; TikTok takes photos only in those two formats."));

    let mut large = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 20_000);
    large.images[0] = jpeg_numbered(1440, 2560, 20_000, 0);
    let error = large.send(&mut owner).await.unwrap_err();
    assert!(error.field_message("photos").unwrap().contains("1440×2560"), "{error:?}");

    let mut many = PhotoUpload::post_now(&maya, "SELF_ONLY", 36, 2_000);
    many.mode = "schedule";
    let error = many.send(&mut owner).await.unwrap_err();
    assert!(error.field_message("photos").unwrap().contains("up to 35"), "{error:?}");

    let mut wordy = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 2_000);
    wordy.photo.title = "t".repeat(91);
    assert!(wordy.send(&mut owner).await.unwrap_err().field_message("photo_title").unwrap().contains("TikTok allows 90"));
    let mut long = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 2_000);
    long.choices.caption = "d".repeat(4001);
    assert!(long.send(&mut owner).await.unwrap_err().field_message("caption").unwrap().contains("TikTok allows 4000"));
    // A description past a video's 2,200 but within a photo post's 4,000 passes the text checks.
    let mut liar = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 2_000);
    liar.choices.caption = "d".repeat(3000);
    liar.declared_sizes = Some(vec![1_000]);
    assert!(liar.send(&mut owner).await.unwrap_err().field_message("photos").unwrap().contains("larger than the browser announced"));

    assert_eq!(media_rows(&app).await, 0, "no refused photo was kept");
    assert_eq!(sandbox.count(CONTENT_INIT, ""), 0, "TikTok was never asked");
    let store = app.state.config.data_dir.join("media");
    let leftovers = std::fs::read_dir(&store).map(|dir| dir.count()).unwrap_or(0);
    assert_eq!(leftovers, 0, "no file is left in {store:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_verified_media_url_photo_posts_are_refused_with_what_to_do() {
    let sandbox = crate::util::sandbox::TestSandbox::start().await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let mut owner = app.signed_up("Olga").await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let error = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 2_000).send(&mut owner).await.unwrap_err();
    assert_eq!(error.field_message("photos").as_deref(), Some(NEEDS_MEDIA_URL));
    assert_eq!(media_rows(&app).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn tiktoks_refusal_of_a_photo_is_explained_on_the_post() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    // 1080×1921: "1080p" read tolerantly by Cadence, strictly (at most 1920 long) by the sandbox.
    let mut upload = PhotoUpload::post_now(&maya, "SELF_ONLY", 1, 20_000);
    upload.images[0] = jpeg_numbered(1080, 1921, 20_000, 0);
    let outcome = upload.send(&mut owner).await.expect("Cadence lets TikTok judge it");
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(30), SETTLE_POLL).await, PostState::Failed);
    let failed = post(&app, outcome.post_id).await;
    assert_eq!(failed.fail_code.as_deref(), Some("picture_size_check_failed"));
    assert!(failed.fail_message.unwrap().contains("at most 20 MB and 1080p"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_photo_is_shown_only_to_its_team_and_a_carousel_needs_an_editor() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let upload = PhotoUpload::scheduled(&maya, "SELF_ONLY", 2, 5_000, due);
    let outcome = upload.send(&mut owner).await.unwrap();
    let path = format!("/posts/{}/photos/1", outcome.post_id);

    let seen = owner.get(&path).await;
    assert_eq!((seen.status.as_u16(), seen.header("content-type")), (200, Some("image/jpeg")));
    assert_eq!(seen.body, upload.images[1]);
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    assert_eq!(viewer.get(&path).await.status, 200, "viewers may look");
    assert_eq!(owner.get(&format!("/posts/{}/photos/2", outcome.post_id)).await.status, 404, "no third photo");
    assert_eq!(app.client().get(&path).await.status, 401);
    let mut stranger = app.signed_up("Stan").await;
    assert_eq!(stranger.get(&path).await.status, 404, "another team's photo does not exist for them");

    let error = PhotoUpload::scheduled(&maya, "SELF_ONLY", 1, 5_000, due).send(&mut viewer).await.unwrap_err();
    assert!(matches!(error, app::error::AppError::Forbidden(_)), "{error:?}");
    let error = PhotoUpload::scheduled(&maya, "SELF_ONLY", 1, 5_000, due).send(&mut stranger).await.unwrap_err();
    assert!(matches!(error, app::error::AppError::NotFound(_)), "another team's account: {error:?}");
    assert_eq!(media_rows(&app).await, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_a_media_url_leaves_photo_posts_to_one_with_it_then_says_what_to_set() {
    use app::publishing::due::PHOTO_HANDOFF;
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = PhotoUpload::scheduled(&maya, "SELF_ONLY", 1, 5_000, due).send(&mut owner).await.unwrap();
    // A second server of the same installation, started before it got the setting.
    let mut config = (*app.state.config).clone();
    config.media_public_url = None;
    let without = app::state::AppState { config: std::sync::Arc::new(config), ..app.state.clone() };

    let worker = Uuid::new_v4();
    assert_eq!(publish_due(&without, due + time::Duration::minutes(1), worker).await.unwrap(), 0, "left to a server that can send it");
    assert_eq!(post(&app, outcome.post_id).await.state(), PostState::Scheduled);
    // No such server took it: the post says what the operator must set.
    assert_eq!(publish_due(&without, due + PHOTO_HANDOFF + time::Duration::minutes(1), worker).await.unwrap(), 1);
    let failed = post(&app, outcome.post_id).await;
    assert_eq!((failed.state(), failed.fail_code.as_deref()), (PostState::Failed, Some("media_url_missing")));
    assert_eq!(failed.fail_message.as_deref(), Some(NEEDS_MEDIA_URL));
    assert_eq!(sandbox.count(CONTENT_INIT, ""), 0, "TikTok was never asked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_carousels_title_cover_and_music_are_edited_in_place_and_tiktok_receives_them() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::hours(4);
    let upload = PhotoUpload::scheduled(&maya, "SELF_ONLY", 3, 5_000, due);
    let post_id = upload.send(&mut owner).await.unwrap().post_id.to_string();
    let detail: app::posts::types::PostDetail = owner.call("posts/detail", &[("post_id", &post_id)]).await.unwrap();
    let when = detail.post.wall_clock.clone().unwrap();
    let edit = |choices: &app::posts::rules::ComposerChoices, photo: &PhotoChoices| {
        (serde_json::to_string(choices).unwrap(), serde_json::to_string(photo).unwrap())
    };

    // Checked as a new carousel would be: the cover must be one of its images.
    let (choices, photo) = edit(&upload.choices, &PhotoChoices { cover_index: 3, ..upload.photo.clone() });
    let refused = owner.call::<String>("posts/edit", &[("post_id", &post_id), ("choices", &choices), ("when", &when), ("photo", &photo)]).await.unwrap_err();
    assert!(refused.field_message("photo_cover").is_some(), "{refused:?}");
    let described = app::posts::rules::ComposerChoices { caption: "A longer story ".repeat(200), allow_duet: true, ..upload.choices.clone() };
    assert!(described.caption.len() > 2200, "past a video's caption limit, within a description's");
    let (choices, photo) = edit(&described, &PhotoChoices { title: "Trip, day two".into(), cover_index: 2, auto_add_music: false });
    owner.call::<String>("posts/edit", &[("post_id", &post_id), ("choices", &choices), ("when", &when), ("photo", &photo)]).await.unwrap();

    let stored = post(&app, post_id.parse().unwrap()).await;
    assert_eq!((stored.photo_title.as_deref(), stored.photo_cover_index, stored.auto_add_music), (Some("Trip, day two"), Some(2), false));
    assert!(!stored.allow_duet, "photos have no duets");
    let shown: app::posts::types::PostDetail = owner.call("posts/detail", &[("post_id", &post_id)]).await.unwrap();
    assert!(shown.events.iter().any(|e| e.message == "Edited: caption, title, cover photo, music."), "{:?}", shown.events);

    assert_eq!(publish_due(&app.state, due + time::Duration::minutes(1), Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, post_id.parse().unwrap(), Duration::from_secs(30), SETTLE_POLL).await, PostState::Published);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"title\":\"Trip, day two\""), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"photo_cover_index\":2"), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"auto_add_music\":true"), 0);
}
