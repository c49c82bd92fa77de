//! Approvals: in a team that needs them, an editor's post goes out only once an approver approved
//! it, exactly as approved; any change asks again, a stale approval is refused, the scheduler
//! holds back what is not approved (even a change that bypassed every form), and viewers never
//! approve.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, owner_with_account},
    upload::Upload,
};
use app::{
    approvals::{ssr::flag_overdue, types::Approval},
    db::schema::posts,
    error::AppError,
    posts::types::{PostDetail, UploadOutcome},
    publishing::due::publish_due,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";

/// Olga (owner) with Maya Public connected, approvals switched on, and Eddie, an editor.
async fn team_with_approvals() -> (TestSandbox, TestApp, TestClient, TestClient, String) {
    let (sandbox, app, mut owner, account) = owner_with_account().await;
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    let editor = app.joined(&mut owner, "editor", "Eddie").await;
    (sandbox, app, owner, editor, account)
}

async fn schedule(client: &mut TestClient, account: &str, minutes: i64) -> UploadOutcome {
    let at = OffsetDateTime::now_utc() + time::Duration::minutes(minutes);
    Upload::scheduled(account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000), at).send(client).await.expect("scheduled")
}

async fn detail(client: &mut TestClient, post: Uuid) -> PostDetail {
    client.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap()
}

async fn approve(client: &mut TestClient, post: Uuid, fingerprint: &str) -> Result<(), AppError> {
    client.call("posts/approve", &[("post_id", &post.to_string()), ("fingerprint", fingerprint)]).await
}

async fn edit_caption(client: &mut TestClient, post: Uuid, caption: &str) {
    let now = detail(client, post).await;
    let choices = app::posts::rules::ComposerChoices { caption: caption.into(), ..now.choices };
    let when = now.post.wall_clock.unwrap();
    let json = serde_json::to_string(&choices).unwrap();
    client.call::<String>("posts/edit", &[("post_id", &post.to_string()), ("choices", &json), ("when", &when)]).await.unwrap();
}

async fn send_due(app: &TestApp, minutes: i64) {
    publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(minutes), Uuid::new_v4()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn an_editors_post_waits_for_an_approver_and_goes_out_once_approved() {
    let (sandbox, app, mut owner, mut editor, account) = team_with_approvals().await;
    let post = schedule(&mut editor, &account, 5).await.post_id;
    let seen_by_editor = detail(&mut editor, post).await;
    assert_eq!(seen_by_editor.post.approval, Approval::Pending);
    assert!(seen_by_editor.approval.required && !seen_by_editor.approval.may_approve);
    assert!(seen_by_editor.events.iter().any(|e| e.message == "Waiting for an approver."));

    // Its time comes: held back, and the team is told once.
    send_due(&app, 6).await;
    assert_eq!(sandbox.count(INIT, ""), 0, "an unapproved post is never sent");
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(6);
    assert_eq!(flag_overdue(&mut *app.conn().await, later).await.unwrap(), 1);
    assert_eq!(flag_overdue(&mut *app.conn().await, later).await.unwrap(), 0, "told once");
    let open: Vec<app::notifications::types::NotificationView> = owner.call("notifications/list", &[]).await.unwrap();
    assert!(open.iter().any(|n| n.kind == app::notifications::types::NotificationKind::AwaitingApproval && n.post_id == Some(post)));
    let dashboard: app::dashboard::DashboardView = owner.call("dashboard", &[]).await.unwrap();
    assert_eq!(dashboard.posts.awaiting_approval, 1);

    let refused = approve(&mut editor, post, &seen_by_editor.approval.fingerprint).await.unwrap_err();
    assert!(matches!(&refused, AppError::Forbidden(m) if m.contains("Only approvers")), "{refused:?}");

    let seen_by_owner = detail(&mut owner, post).await;
    assert!(seen_by_owner.approval.may_approve);
    approve(&mut owner, post, &seen_by_owner.approval.fingerprint).await.unwrap();
    let approved = detail(&mut owner, post).await;
    assert_eq!(approved.post.approval, Approval::Approved);
    assert!(approved.events.iter().any(|e| e.message == "Approved by Olga."));

    send_due(&app, 6).await;
    assert_eq!(sandbox.count(INIT, "\"title\":\"Launch day #cadence @maya\""), 1, "sent once, as approved");
}

#[tokio::test(flavor = "multi_thread")]
async fn any_change_asks_for_approval_again_and_an_approval_of_what_changed_since_is_refused() {
    let (sandbox, app, mut owner, mut editor, account) = team_with_approvals().await;
    let post = schedule(&mut editor, &account, 5).await.post_id;
    let first_look = detail(&mut owner, post).await.approval.fingerprint;

    // The editor changes the caption while the approver is looking at the old one.
    edit_caption(&mut editor, post, "Second draft").await;
    let stale = approve(&mut owner, post, &first_look).await.unwrap_err();
    assert!(matches!(&stale, AppError::Conflict(m) if m.contains("changed while you were looking")), "{stale:?}");
    assert_eq!(detail(&mut owner, post).await.post.approval, Approval::Pending);

    let second_look = detail(&mut owner, post).await.approval.fingerprint;
    assert_ne!(second_look, first_look);
    approve(&mut owner, post, &second_look).await.unwrap();

    // An edit after the approval, and a move in the calendar, each ask again.
    edit_caption(&mut editor, post, "Third draft").await;
    let after_edit = detail(&mut owner, post).await;
    assert_eq!(after_edit.post.approval, Approval::Pending);
    assert!(after_edit.events.iter().any(|e| e.message == "Changed after it was approved: waiting for an approver again."));
    approve(&mut owner, post, &after_edit.approval.fingerprint).await.unwrap();
    let moved_to = app::calendar::zone::wall_clock(OffsetDateTime::now_utc() + time::Duration::minutes(7), &app::calendar::zone::zone("UTC"));
    editor.call::<String>("calendar/reschedule", &[("post_id", &post.to_string()), ("when", &moved_to)]).await.unwrap();
    assert_eq!(detail(&mut owner, post).await.post.approval, Approval::Pending);
    send_due(&app, 8).await;
    assert_eq!(sandbox.count(INIT, ""), 0, "moved after approval: held back");

    // An approver's own change is their approval of it.
    edit_caption(&mut owner, post, "Final").await;
    let by_owner = detail(&mut owner, post).await;
    assert_eq!(by_owner.post.approval, Approval::Approved);
    assert!(by_owner.events.iter().any(|e| e.message == "Approved by Olga, as its author."));

    // A change that bypassed every form still does not go out unseen.
    diesel::update(posts::table.find(post)).set(posts::caption.eq("Sneaked in")).execute(&mut *app.conn().await).await.unwrap();
    send_due(&app, 8).await;
    assert_eq!(sandbox.count(INIT, ""), 0, "the claim compares the fingerprint under its row lock");
    let held = detail(&mut owner, post).await;
    assert_eq!(held.post.approval, Approval::Pending);
    assert!(held.events.iter().any(|e| e.kind == "approval_pending" && e.message.contains("held back")));
    approve(&mut owner, post, &held.approval.fingerprint).await.unwrap();
    send_due(&app, 8).await;
    assert_eq!(sandbox.count(INIT, "\"title\":\"Sneaked in\""), 1, "what the approver approved last");
}

#[tokio::test(flavor = "multi_thread")]
async fn approvers_are_chosen_viewers_never_approve_and_changes_are_asked_for_with_a_comment() {
    let (_sandbox, app, mut owner, mut editor, account) = team_with_approvals().await;
    let viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let members: Vec<app::teams::types::MemberView> = owner.call("teams/members", &[]).await.unwrap();
    let id_of = |name: &str| members.iter().find(|m| m.display_name == name).unwrap().user_id.to_string();
    assert_eq!(members.iter().map(|m| (m.display_name.as_str(), m.can_approve)).collect::<Vec<_>>(), [("Olga", true), ("Eddie", false), ("Vera", false)]);
    let refused = owner.call::<()>("teams/members/approver", &[("user_id", &id_of("Vera")), ("can_approve", "true")]).await.unwrap_err();
    assert!(refused.field_message("can_approve").is_some_and(|m| m.contains("Viewers cannot approve")), "{refused:?}");
    drop(viewer);

    // Posting at once would skip the review: refused for an editor without the right.
    let now = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000)).send(&mut editor).await.unwrap_err();
    assert!(now.field_message("mode").is_some_and(|m| m.contains("Schedule it instead")), "{now:?}");

    let post = schedule(&mut editor, &account, 60).await.post_id;
    let blank = owner.call::<()>("posts/request-changes", &[("post_id", &post.to_string()), ("comment", " ")]).await.unwrap_err();
    assert!(blank.field_message("comment").is_some(), "{blank:?}");
    owner.call::<()>("posts/request-changes", &[("post_id", &post.to_string()), ("comment", "Use the launch hashtag.")]).await.unwrap();
    let sent_back = detail(&mut editor, post).await;
    assert_eq!(sent_back.post.approval, Approval::ChangesRequested);
    assert_eq!(sent_back.comments.iter().map(|c| (c.author.as_str(), c.body.as_str())).collect::<Vec<_>>(), [("Olga", "Use the launch hashtag.")]);
    assert!(sent_back.events.iter().any(|e| e.message == "Olga asked for changes (see the comments)."));

    // Given the right, the editor approves; the right can be taken away again.
    owner.call::<()>("teams/members/approver", &[("user_id", &id_of("Eddie")), ("can_approve", "true")]).await.unwrap();
    let fingerprint = detail(&mut editor, post).await.approval.fingerprint;
    approve(&mut editor, post, &fingerprint).await.unwrap();
    owner.call::<()>("teams/members/approver", &[("user_id", &id_of("Eddie")), ("can_approve", "false")]).await.unwrap();
    assert!(!detail(&mut editor, post).await.approval.may_approve);

    // Switching approvals off takes waiting posts out of the queue; on puts them back.
    let waiting = schedule(&mut editor, &account, 45).await.post_id;
    owner.call::<()>("teams/approval-required", &[("required", "false")]).await.unwrap();
    assert_eq!(detail(&mut owner, waiting).await.post.approval, Approval::None);
    let dashboard: app::dashboard::DashboardView = owner.call("dashboard", &[]).await.unwrap();
    assert_eq!(dashboard.posts.awaiting_approval, 0, "nothing waits once approvals are off");
    let before = schedule(&mut editor, &account, 30).await.post_id;
    assert_eq!(detail(&mut owner, before).await.post.approval, Approval::None);
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    assert_eq!(detail(&mut owner, before).await.post.approval, Approval::Pending);
    let administration: app::teams::types::TeamAdministration = owner.call("teams/administration", &[]).await.unwrap();
    assert!(administration.approval_required);
}
