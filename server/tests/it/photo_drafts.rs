//! Photo drafts: a carousel kept without a time or an account holds its images in the media
//! store, shows them only to its team, has its title and cover changed within TikTok's limits,
//! and is scheduled as a photo post under the creator's rules (then pulled by TikTok), or
//! deleted, which releases every image.

use crate::{
    pull::{SETTLE_POLL, fast, setup},
    util::{TestApp, TestClient, photo_upload::PhotoUpload, posts::settle, sandbox::connected_account},
};
use app::{
    db::schema::media,
    drafts::types::DraftView,
    error::AppError,
    posts::{photo_rules::PhotoChoices, rules::ComposerChoices, types::{PostDetail, PostState}},
    publishing::due::publish_due,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const CONTENT_INIT: &str = "/v2/post/publish/content/init/";

/// "Save as draft" of `count` photos, as the composer sends it: no time, maybe no account.
fn photo_draft(account: Option<&str>, count: usize) -> PhotoUpload {
    let mut upload = PhotoUpload::post_now(account.unwrap_or_default(), "SELF_ONLY", count, 10_000);
    upload.mode = "draft";
    upload.choices = ComposerChoices { caption: "Trip, to finish".into(), ..Default::default() };
    upload
}

/// A minute `hours` from now on the UTC wall clock (a member in Europe is an hour or two ahead,
/// so a time read on theirs is still ahead for `hours` ≥ 3).
fn wall_clock(hours: i64) -> String {
    let at = OffsetDateTime::now_utc() + time::Duration::hours(hours);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
}

async fn detail(client: &mut TestClient, draft: Uuid) -> DraftView {
    client.call("drafts/detail", &[("draft_id", &draft.to_string())]).await.unwrap()
}

async fn save(client: &mut TestClient, draft: Uuid, account: &str, choices: &ComposerChoices, photo: &PhotoChoices) -> Result<(), AppError> {
    let (choices, photo) = (serde_json::to_string(choices).unwrap(), serde_json::to_string(photo).unwrap());
    client.call("drafts/save", &[("draft_id", &draft.to_string()), ("account_id", account), ("choices", &choices), ("photo", &photo)]).await
}

/// Each media row's removal time, by id.
async fn removals(app: &TestApp) -> Vec<Option<OffsetDateTime>> {
    media::table.order(media::id).select(media::remove_after).load(&mut app.conn().await).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_carousel_kept_as_a_draft_is_edited_then_scheduled_and_pulled_as_a_photo_post() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let upload = photo_draft(None, 3);
    let saved = upload.send(&mut owner).await.expect("kept as a draft");
    assert!(saved.draft);
    let draft = saved.post_id;
    assert_eq!(sandbox.count(CONTENT_INIT, ""), 0, "nothing went to TikTok");

    let seen = detail(&mut owner, draft).await;
    assert_eq!((seen.video_url.as_deref(), seen.photo_urls.len(), seen.video_bytes), (None, 3, 30_000));
    assert_eq!(seen.photo, Some(PhotoChoices { title: "Trip".into(), cover_index: 1, auto_add_music: true }));
    let listed: Vec<DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert_eq!(listed, vec![seen.clone()]);
    assert!(removals(&app).await.iter().all(Option::is_none), "a draft's images are kept");

    // Its images, for the team only, at the draft page's addresses.
    let third = owner.get(&seen.photo_urls[2]).await;
    assert_eq!((third.status.as_u16(), third.body.as_slice()), (200, upload.images[2].as_slice()));
    let path = format!("/drafts/{draft}/photos/0");
    assert_eq!(app.client().get(&path).await.status, 401);
    assert_eq!(app.signed_up("Stan").await.get(&path).await.status, 404);
    assert_eq!(owner.get(&format!("/drafts/{draft}/photos/3")).await.status, 404, "no fourth photo");
    assert_eq!(owner.get(&format!("/drafts/{draft}/video")).await.status, 404, "a photo draft has no video");

    // Changed within TikTok's text limits: a title of 91 and a cover past the images are refused.
    let choices = ComposerChoices { caption: "Three days in photos".into(), ..Default::default() };
    let wordy = PhotoChoices { title: "x".repeat(91), ..seen.photo.clone().unwrap() };
    let refused = save(&mut owner, draft, &maya, &choices, &wordy).await.unwrap_err();
    assert!(refused.field_message("photo_title").unwrap().contains("TikTok allows 90"), "{refused:?}");
    let nowhere = PhotoChoices { cover_index: 3, ..seen.photo.clone().unwrap() };
    assert!(save(&mut owner, draft, &maya, &choices, &nowhere).await.unwrap_err().field_message("photo_cover").is_some());
    let edited = PhotoChoices { title: "Three days".into(), cover_index: 2, auto_add_music: false };
    save(&mut owner, draft, &maya, &choices, &edited).await.unwrap();
    let seen = detail(&mut owner, draft).await;
    assert_eq!((seen.photo.as_ref(), seen.account_name.as_deref()), (Some(&edited), Some("Maya Public")));

    // Scheduling applies the creator's rules, then the post takes the images over.
    let photo = serde_json::to_string(&edited).unwrap();
    let json = serde_json::to_string(&choices).unwrap();
    let refused: AppError = owner
        .call::<Uuid>("drafts/schedule", &[("draft_id", &draft.to_string()), ("account_id", &maya), ("choices", &json), ("photo", &photo), ("when", &wall_clock(3))])
        .await
        .unwrap_err();
    assert!(refused.field_message("privacy_level").is_some(), "no audience chosen: {refused:?}");
    let ready = ComposerChoices { privacy_level: Some("PUBLIC_TO_EVERYONE".into()), allow_duet: true, ..choices };
    let json = serde_json::to_string(&ready).unwrap();
    let post: Uuid = owner
        .call("drafts/schedule", &[("draft_id", &draft.to_string()), ("account_id", &maya), ("choices", &json), ("photo", &photo), ("when", &wall_clock(3))])
        .await
        .unwrap();
    let gone: Vec<DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert!(gone.is_empty());
    let shown: PostDetail = owner.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap();
    assert_eq!((shown.post.state, shown.post.photo_urls.len(), shown.post.photo.map(|p| p.title)), (PostState::Scheduled, 3, Some("Three days".into())));
    assert!(removals(&app).await.iter().all(Option::is_none), "the post took the images over");

    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::hours(5), Uuid::new_v4()).await.unwrap();
    assert_eq!(settle(&app, post, Duration::from_secs(30), SETTLE_POLL).await, PostState::Published);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"media_type\":\"PHOTO\""), 1, "one photo post, sent once");
    assert_eq!(sandbox.count(CONTENT_INIT, "\"photo_cover_index\":2"), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "\"title\":\"Three days\""), 1);
    assert_eq!(sandbox.count(CONTENT_INIT, "disable_duet"), 0, "a duet switch left on is not a photo's");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_photo_draft_releases_every_image_and_viewers_keep_none() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    assert!(matches!(photo_draft(Some(&maya), 2).send(&mut viewer).await, Err(AppError::Forbidden(_))));
    let mut stranger = app.signed_up("Stan").await;
    let error = photo_draft(Some(&maya), 2).send(&mut stranger).await.unwrap_err();
    assert!(matches!(error, AppError::NotFound(_)), "another team's account: {error:?}");
    assert!(removals(&app).await.is_empty(), "nothing refused was stored");

    let draft = photo_draft(Some(&maya), 2).send(&mut owner).await.unwrap().post_id;
    let seen: Vec<DraftView> = viewer.call("drafts/list", &[]).await.unwrap();
    assert_eq!(seen.len(), 1, "viewers see the team's drafts");
    assert_eq!(viewer.get(&seen[0].photo_urls[1]).await.status, 200, "and may look at them");
    let refused = stranger.call::<()>("drafts/delete", &[("draft_id", &draft.to_string())]).await.unwrap_err();
    assert!(matches!(refused, AppError::NotFound(_)), "{refused:?}");
    owner.call::<()>("drafts/delete", &[("draft_id", &draft.to_string())]).await.unwrap();
    let after = removals(&app).await;
    assert_eq!(after.len(), 2);
    assert!(after.iter().all(Option::is_some), "both images go after the grace period: {after:?}");
}
