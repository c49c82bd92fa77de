//! Drafts: a video saved from the composer without a time or an account keeps its video in the
//! media store, is changed and then scheduled under the creator's rules (becoming one post,
//! once), or deleted, which releases its video; viewers keep no drafts.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account, fast_app_with_sandbox},
    upload::Upload,
};
use app::{
    approvals::types::Approval,
    drafts::types::DraftView,
    error::AppError,
    posts::{rules::ComposerChoices, types::{PostDetail, PostState, UploadOutcome}},
    publishing::due::publish_due,
};
use diesel::sql_types::{Nullable, Timestamptz};
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";

/// Saves a draft as the composer's "Save as draft" does: no time, and no account unless given.
async fn save_draft(client: &mut TestClient, account: Option<&str>, caption: &str) -> Result<UploadOutcome, AppError> {
    let mut upload = Upload::post_now(account.unwrap_or_default(), "SELF_ONLY", SyntheticVideo::mp4(20, 400_000));
    upload.mode = "draft";
    upload.choices = ComposerChoices { caption: caption.into(), ..Default::default() };
    upload.send(client).await
}

/// A minute on the (UTC) member's wall clock, `hours` from now.
fn wall_clock(hours: i64) -> String {
    let at = OffsetDateTime::now_utc() + time::Duration::hours(hours);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
}

async fn schedule(client: &mut TestClient, draft: Uuid, account: &str, choices: &ComposerChoices, when: &str) -> Result<Uuid, AppError> {
    let json = serde_json::to_string(choices).unwrap();
    client
        .call("drafts/schedule", &[("draft_id", &draft.to_string()), ("account_id", account), ("choices", &json), ("when", when)])
        .await
}

#[derive(diesel::QueryableByName)]
struct Removal {
    #[diesel(sql_type = Nullable<Timestamptz>)]
    remove_after: Option<OffsetDateTime>,
}

async fn removal_of_media_of(app: &TestApp, draft_or_post_media: &str) -> Option<OffsetDateTime> {
    diesel::sql_query(format!("SELECT remove_after FROM media WHERE id = ({draft_or_post_media})"))
        .get_result::<Removal>(&mut app.conn().await)
        .await
        .unwrap()
        .remove_after
}

async fn setup() -> (TestSandbox, TestApp, TestClient, String) {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    (sandbox, app, owner, account)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_without_account_or_time_is_scheduled_later_under_the_creators_rules_and_goes_out_once() {
    let (sandbox, app, mut owner, account) = setup().await;
    let saved = save_draft(&mut owner, None, "Work in progress").await.unwrap();
    assert!(saved.draft);
    let draft = saved.post_id;
    let drafts: Vec<DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert_eq!(drafts.len(), 1);
    assert_eq!((drafts[0].account_id, drafts[0].choices.caption.as_str()), (None, "Work in progress"));
    assert_eq!(drafts[0].video_bytes, 400_000);
    let media_of_draft = format!("SELECT media_id FROM drafts WHERE id = '{draft}'");
    assert_eq!(removal_of_media_of(&app, &media_of_draft).await, None, "a draft's video is kept");
    assert_eq!(sandbox.count(INIT, ""), 0, "nothing went to TikTok");

    // Its account and caption are chosen later; the rules are not applied yet.
    let choices = ComposerChoices { caption: "Launch day".into(), ..Default::default() };
    let json = serde_json::to_string(&choices).unwrap();
    owner.call::<()>("drafts/save", &[("draft_id", &draft.to_string()), ("account_id", &account), ("choices", &json)]).await.unwrap();
    let detail: DraftView = owner.call("drafts/detail", &[("draft_id", &draft.to_string())]).await.unwrap();
    assert_eq!((detail.account_name.as_deref(), detail.choices.caption.as_str()), (Some("Maya Public"), "Launch day"));

    // Scheduling applies them: no audience chosen, a time in the past.
    let refused = schedule(&mut owner, draft, &account, &choices, &wall_clock(24)).await.unwrap_err();
    assert!(refused.field_message("privacy_level").is_some(), "{refused:?}");
    let ready = ComposerChoices { privacy_level: Some("SELF_ONLY".into()), ..choices };
    let past = schedule(&mut owner, draft, &account, &ready, &wall_clock(-1)).await.unwrap_err();
    assert!(past.field_message("scheduled_at").is_some(), "{past:?}");
    let still: Vec<DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert_eq!(still.len(), 1, "a refused schedule keeps the draft");

    let post = schedule(&mut owner, draft, &account, &ready, &wall_clock(2)).await.unwrap();
    let again = schedule(&mut owner, draft, &account, &ready, &wall_clock(2)).await.unwrap_err();
    assert!(matches!(again, AppError::NotFound(_) | AppError::Conflict(_)), "scheduled once: {again:?}");
    let gone: Vec<DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert!(gone.is_empty());
    let seen: PostDetail = owner.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap();
    assert_eq!(seen.post.state, PostState::Scheduled);
    assert_eq!(seen.post.caption, "Launch day");
    let media_of_post = format!("SELECT media_id FROM posts WHERE id = '{post}'");
    assert_eq!(removal_of_media_of(&app, &media_of_post).await, None, "the post took the draft's video over");

    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::hours(3), Uuid::new_v4()).await.unwrap();
    assert_eq!(sandbox.count(INIT, ""), 1, "one post, sent once");
    let log: app::audit::types::AuditPage = owner.call("audit/list", &[("subject", "post")]).await.unwrap();
    let actions: Vec<&str> = log.entries.iter().rev().map(|e| e.action.as_str()).collect();
    assert_eq!(&actions[..3], ["draft.saved", "draft.edited", "post.scheduled"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_editors_draft_scheduled_in_a_team_that_needs_approval_waits_for_an_approver() {
    let (_sandbox, app, mut owner, account) = setup().await;
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    let mut editor = app.joined(&mut owner, "editor", "Eddie").await;
    let draft = save_draft(&mut editor, Some(&account), "From the editor").await.unwrap().post_id;
    let ready = ComposerChoices { caption: "From the editor".into(), privacy_level: Some("SELF_ONLY".into()), ..Default::default() };
    let post = schedule(&mut editor, draft, &account, &ready, &wall_clock(2)).await.unwrap();
    let seen: PostDetail = owner.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap();
    assert_eq!(seen.post.approval, Approval::Pending);
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_a_draft_releases_its_video_and_viewers_keep_no_drafts() {
    let (_sandbox, app, mut owner, account) = setup().await;
    let draft = save_draft(&mut owner, Some(&account), "Maybe later").await.unwrap().post_id;
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let seen: Vec<DraftView> = viewer.call("drafts/list", &[]).await.unwrap();
    assert_eq!(seen.len(), 1, "viewers see the team's drafts");
    assert!(matches!(save_draft(&mut viewer, None, "Mine").await, Err(AppError::Forbidden(_))));
    let refused = viewer.call::<()>("drafts/delete", &[("draft_id", &draft.to_string())]).await.unwrap_err();
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");

    let media = format!("SELECT media_id FROM drafts WHERE id = '{draft}'");
    let media_id: Uuid = {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            media_id: Uuid,
        }
        diesel::sql_query(media).get_result::<Id>(&mut app.conn().await).await.unwrap().media_id
    };
    owner.call::<()>("drafts/delete", &[("draft_id", &draft.to_string())]).await.unwrap();
    let left: Vec<DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert!(left.is_empty());
    let removal = removal_of_media_of(&app, &format!("SELECT '{media_id}'::uuid")).await;
    assert!(removal.is_some(), "the video goes after the grace period");
    let twice = owner.call::<()>("drafts/delete", &[("draft_id", &draft.to_string())]).await.unwrap_err();
    assert!(matches!(twice, AppError::NotFound(_)));
}
