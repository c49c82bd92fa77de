//! Every server function, found through server_fn's own registry (so a new one cannot be
//! forgotten: it fails here until it is listed), called anonymously, with too small a role,
//! and as a member of another team with this team's real ids: all refused, nothing changed.

use crate::util::{
    TestClient,
    sandbox::{connected_account, fast_app_with_sandbox},
    upload::Upload,
};
use app::{error::AppError, posts::types::UploadOutcome, teams::types::{CreatedInvite, InviteView, MemberView, Role}};
use sandbox::synthetic::SyntheticVideo;
use std::collections::BTreeSet;

/// Who may call an endpoint.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Access {
    /// Anyone (signing up, logging in, reading an invite).
    Public,
    /// Anyone logged in, whatever their team role (their own profile, teams they create).
    SignedIn,
    /// Members of the caller's current team with at least this role.
    Team(Role),
}

/// The ids of team A's things that calls from elsewhere aim at.
struct Ids {
    account: String,
    post: String,
    notification: String,
    invite: String,
    member: String,
    team: String,
    comment: String,
    link: String,
    draft: String,
}

type Args = fn(&Ids) -> Vec<(&'static str, String)>;

fn rules() -> Vec<(&'static str, Access, Args)> {
    use Access::*;
    let none: Args = |_| vec![];
    vec![
        ("auth/session", Public, none),
        ("auth/mode", Public, none),
        ("auth/signup", Public, |_| vec![("email", "x@example.com".into()), ("password", "short".into()), ("display_name", "X".into()), ("time_zone", "UTC".into())]),
        ("auth/login", Public, |_| vec![("email", "nobody@example.com".into()), ("password", "wrong password here".into())]),
        ("auth/logout", Public, none),
        ("teams/invite/preview", Public, |_| vec![("token", "not-a-token".into())]),
        ("auth/profile", Team(Role::Viewer), |_| vec![("display_name", "Y".into()), ("time_zone", "UTC".into())]),
        ("auth/password", Team(Role::Viewer), |_| vec![("current_password", "wrong password here".into()), ("new_password", "another long password".into())]),
        ("teams/invite/accept", SignedIn, |_| vec![("token", "not-a-token".into())]),
        ("teams/switch", SignedIn, |ids| vec![("team_id", ids.team.clone())]),
        ("teams/create", SignedIn, |_| vec![("name", "Another".into())]),
        ("teams/members", Team(Role::Viewer), none),
        ("teams/members/role", Team(Role::Admin), |ids| vec![("user_id", ids.member.clone()), ("role", "admin".into())]),
        ("teams/members/remove", Team(Role::Viewer), |ids| vec![("user_id", ids.member.clone())]),
        ("teams/invites", Team(Role::Admin), none),
        ("teams/invites/create", Team(Role::Admin), |_| vec![("role", "editor".into())]),
        ("teams/invites/revoke", Team(Role::Admin), |ids| vec![("invite_id", ids.invite.clone())]),
        ("teams/rename", Team(Role::Admin), |_| vec![("name", "Taken over".into())]),
        ("teams/media-usage", Team(Role::Admin), none),
        ("teams/administration", Team(Role::Admin), none),
        ("accounts/list", Team(Role::Viewer), none),
        ("accounts/connect", Team(Role::Editor), none),
        ("accounts/refresh-info", Team(Role::Editor), |ids| vec![("account_id", ids.account.clone())]),
        ("accounts/disconnect", Team(Role::Editor), |ids| vec![("account_id", ids.account.clone())]),
        ("posts/list", Team(Role::Viewer), none),
        ("posts/detail", Team(Role::Viewer), |ids| vec![("post_id", ids.post.clone())]),
        ("dashboard", Team(Role::Viewer), none),
        ("posts/creator", Team(Role::Editor), |ids| vec![("account_id", ids.account.clone())]),
        ("posts/upload", Team(Role::Editor), none),
        ("posts/retry", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone())]),
        ("posts/cancel", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone())]),
        ("comments/add", Team(Role::Viewer), |ids| vec![("post_id", ids.post.clone()), ("body", "Taken over".into())]),
        ("comments/delete", Team(Role::Viewer), |ids| vec![("comment_id", ids.comment.clone())]),
        // Approvers only (see previews.rs for an editor without the right); guests need a live link.
        ("previews/create", Team(Role::Editor), |ids| vec![("post_ids", ids.post.clone()), ("label", "Stolen".into()), ("days", "7".into())]),
        ("previews/list", Team(Role::Editor), none),
        ("drafts/list", Team(Role::Viewer), none),
        ("drafts/detail", Team(Role::Viewer), |ids| vec![("draft_id", ids.draft.clone())]),
        ("drafts/save", Team(Role::Editor), |ids| vec![("draft_id", ids.draft.clone()), ("account_id", String::new()), ("choices", "{\"caption\":\"Taken\",\"privacy_level\":null,\"allow_comment\":false,\"allow_duet\":false,\"allow_stitch\":false,\"commercial\":false,\"your_brand\":false,\"branded_content\":false,\"is_aigc\":false,\"cover_timestamp_ms\":null}".into())]),
        ("drafts/delete", Team(Role::Editor), |ids| vec![("draft_id", ids.draft.clone())]),
        ("drafts/schedule", Team(Role::Editor), |ids| vec![("draft_id", ids.draft.clone()), ("account_id", ids.account.clone()), ("choices", "{\"caption\":\"Taken\",\"privacy_level\":\"SELF_ONLY\",\"allow_comment\":false,\"allow_duet\":false,\"allow_stitch\":false,\"commercial\":false,\"your_brand\":false,\"branded_content\":false,\"is_aigc\":false,\"cover_timestamp_ms\":null}".into()), ("when", "2030-01-01T10:00".into())]),
        ("previews/revoke", Team(Role::Editor), |ids| vec![("link_id", ids.link.clone())]),
        ("preview/page", Public, |_| vec![("token", "not-a-token".into())]),
        ("preview/decide", Public, |ids| vec![
            ("token", "not-a-token".into()),
            ("post_id", ids.post.clone()),
            ("fingerprint", "0".repeat(64)),
            ("decision", "approve".into()),
            ("name", "Mallory".into()),
            ("comment", String::new()),
        ]),
        ("audit/list", Team(Role::Admin), none),
        ("audit/csv", Team(Role::Admin), none),
        ("posts/approve", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone()), ("fingerprint", "0".repeat(64))]),
        ("posts/request-changes", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone()), ("comment", "Taken over".into())]),
        ("teams/approval-required", Team(Role::Admin), |_| vec![("required", "true".into())]),
        ("teams/members/approver", Team(Role::Admin), |ids| vec![("user_id", ids.member.clone()), ("can_approve", "false".into())]),
        ("posts/edit", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone()), ("choices", serde_json::to_string(&app::posts::rules::ComposerChoices::default()).unwrap()), ("when", "2031-01-01T09:00".into())]),
        ("calendar/view", Team(Role::Viewer), |_| vec![("span", "month".into())]),
        ("calendar/reschedule", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone()), ("when", "2031-01-01T09:00".into())]),
        ("calendar/duplicate", Team(Role::Editor), |ids| vec![("post_id", ids.post.clone())]),
        ("calendar/cancel-many", Team(Role::Editor), |ids| vec![("post_ids", ids.post.clone())]),
        ("notifications/list", Team(Role::Viewer), none),
        ("media/delivery", Team(Role::Viewer), none),
        ("notifications/acknowledge", Team(Role::Editor), |ids| vec![("id", ids.notification.clone())]),
        ("notifications/email-preferences", Team(Role::Viewer), none),
        ("notifications/email-preferences/save", Team(Role::Viewer), |_| EMAIL_CHOICES_OFF.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()),
        ("teams/invites/email", Team(Role::Admin), |_| vec![("email", "someone@example.com".into()), ("role", "editor".into())]),
        ("analytics/team", Team(Role::Viewer), none),
        ("analytics/account", Team(Role::Viewer), |ids| vec![("account_id", ids.account.clone())]),
        ("analytics/post", Team(Role::Viewer), |ids| vec![("post_id", ids.post.clone())]),
        ("analytics/suggest-slots", Team(Role::Editor), |ids| vec![("account_id", ids.account.clone())]),
        ("analytics/refresh", Team(Role::Editor), |ids| vec![("account_id", ids.account.clone())]),
        ("analytics/csv", Team(Role::Viewer), |ids| vec![("account_id", ids.account.clone()), ("chart", "videos".into())]),
    ]
}

/// Every e-mail switched off: what a stranger tries to impose on this team's members.
const EMAIL_CHOICES_OFF: [(&str, &str); 7] = [
    ("post_failed", "false"),
    ("post_unconfirmed", "false"),
    ("account_reconnect", "false"),
    ("grant_ending", "false"),
    ("daily_digest", "false"),
    ("approval_requested", "false"),
    ("approval_answered", "false"),
];

/// Calls `endpoint` as `client`; the upload goes as the composer sends it.
async fn call(client: &mut TestClient, endpoint: &str, args: &[(&str, String)], ids: &Ids) -> Result<serde_json::Value, AppError> {
    if endpoint == "posts/upload" {
        let upload = Upload::post_now(&ids.account, "SELF_ONLY", SyntheticVideo::mp4(20, 500_000));
        return upload.send(client).await.map(|outcome: UploadOutcome| serde_json::to_value(outcome).unwrap());
    }
    let form: Vec<(&str, &str)> = args.iter().map(|(k, v)| (*k, v.as_str())).collect();
    client.call(endpoint, &form).await
}

#[tokio::test(flavor = "multi_thread")]
async fn every_server_function_refuses_strangers_and_too_small_roles() {
    let registered: BTreeSet<String> = leptos::server_fn::axum::server_fn_paths()
        .filter_map(|(path, _)| path.strip_prefix("/api/").map(str::to_owned))
        .collect();
    let listed: BTreeSet<String> = rules().iter().map(|(endpoint, ..)| (*endpoint).to_owned()).collect();
    assert_eq!(registered, listed, "every server function must be listed here with who may call it");

    // Team A: an owner with a connected account, a scheduled post, an open notification, an
    // open invite, and a viewer and an editor.
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let in_two_days = time::OffsetDateTime::now_utc() + time::Duration::days(2);
    let scheduled = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 500_000), in_two_days);
    let post = scheduled.send(&mut owner).await.unwrap().post_id;
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    let mut editor = app.joined(&mut owner, "editor", "Eddie").await;
    let members: Vec<MemberView> = owner.call("teams/members", &[]).await.unwrap();
    let member = members.iter().find(|m| m.display_name == "Vera").unwrap().user_id;
    owner.call::<CreatedInvite>("teams/invites/create", &[("role", "viewer")]).await.unwrap();
    let invites: Vec<InviteView> = owner.call("teams/invites", &[]).await.unwrap();
    let team = owner.session_info().await.unwrap().team.id;
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query("INSERT INTO notifications (team_id, kind, post_id, message) SELECT team_id, 'post_failed', id, 'test' FROM posts")
            .execute(&mut app.conn().await)
            .await
            .unwrap();
    }
    let open: Vec<app::notifications::types::NotificationView> = owner.call("notifications/list", &[]).await.unwrap();
    owner.call::<()>("comments/add", &[("post_id", &post.to_string()), ("body", "Team A's note")]).await.unwrap();
    let detail: app::posts::types::PostDetail = owner.call("posts/detail", &[("post_id", &post.to_string())]).await.unwrap();
    let thread = detail.comments;
    let shared: app::previews::types::CreatedPreviewLink = owner
        .call("previews/create", &[("post_ids", &post.to_string()), ("label", "Team A's client"), ("days", "7")])
        .await
        .unwrap();
    let mut draft = Upload::post_now(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 300_000));
    draft.mode = "draft";
    let draft: UploadOutcome = draft.send(&mut owner).await.unwrap();
    let ids = Ids {
        draft: draft.post_id.to_string(),
        link: shared.link.id.to_string(),
        comment: thread[0].id.to_string(),
        account: account.clone(),
        post: post.to_string(),
        notification: open[0].id.to_string(),
        invite: invites[0].id.to_string(),
        member: member.to_string(),
        team: team.to_string(),
    };
    let mut anonymous = app.client();
    let mut stranger = app.signed_up("Mallory").await;

    for (endpoint, access, args) in rules() {
        let args = args(&ids);
        if access != Access::Public {
            let error = call(&mut anonymous, endpoint, &args, &ids).await.unwrap_err();
            assert_eq!(error, AppError::Unauthorized, "{endpoint} as nobody");
        }
        if let Access::Team(min) = access {
            if min > Role::Viewer {
                let error = call(&mut viewer, endpoint, &args, &ids).await.unwrap_err();
                assert!(matches!(error, AppError::Forbidden(_)), "{endpoint} as a viewer: {error:?}");
            }
            if min > Role::Editor {
                let error = call(&mut editor, endpoint, &args, &ids).await.unwrap_err();
                assert!(matches!(error, AppError::Forbidden(_)), "{endpoint} as an editor: {error:?}");
            }
        }
        // Another team's owner, aiming at this team's things.
        let aims_at_team_a = args.iter().any(|(name, _)| {
            matches!(*name, "account_id" | "post_id" | "post_ids" | "id" | "invite_id" | "user_id" | "team_id" | "comment_id" | "link_id" | "draft_id")
        }) || endpoint == "posts/upload";
        if aims_at_team_a {
            match call(&mut stranger, endpoint, &args, &ids).await {
                Err(AppError::NotFound(_) | AppError::Forbidden(_)) => {}
                // Bulk cancel answers with how many it cancelled: none of team A's.
                Ok(serde_json::Value::Number(n)) if endpoint == "calendar/cancel-many" => assert_eq!(n.as_u64(), Some(0)),
                other => panic!("{endpoint} as another team's owner: {other:?}"),
            }
        }
    }

    // Team A is as it was.
    let accounts: Vec<app::accounts::types::AccountView> = owner.call("accounts/list", &[]).await.unwrap();
    assert_eq!(accounts[0].status, app::accounts::types::AccountStatus::Active);
    let detail: app::posts::types::PostDetail = owner.call("posts/detail", &[("post_id", &ids.post)]).await.unwrap();
    assert_eq!(detail.post.state, app::posts::types::PostState::Scheduled);
    assert_eq!(detail.post.scheduled_at, Some(detail.post.scheduled_at.unwrap()));
    assert!(detail.events.iter().all(|e| e.kind != "rescheduled"));
    let thread = detail.comments.clone();
    assert_eq!(thread.iter().map(|c| c.body.as_str()).collect::<Vec<_>>(), ["Team A's note"], "nobody else wrote or deleted");
    let still_open: Vec<app::notifications::types::NotificationView> = owner.call("notifications/list", &[]).await.unwrap();
    assert_eq!(still_open.len(), 1);
    let invites_after: Vec<InviteView> = owner.call("teams/invites", &[]).await.unwrap();
    assert_eq!(invites_after.len(), invites.len());
    let members_after: Vec<MemberView> = owner.call("teams/members", &[]).await.unwrap();
    assert_eq!(members_after.len(), members.len());
    assert_eq!(owner.session_info().await.unwrap().team.name, "Olga's team");
    let administration: app::teams::types::TeamAdministration = owner.call("teams/administration", &[]).await.unwrap();
    assert!(!administration.approval_required, "nobody else switched approvals on");
    assert_eq!(detail.post.approval, app::approvals::types::Approval::None, "nobody else approved");
    let links: Vec<app::previews::types::PreviewLinkView> = owner.call("previews/list", &[]).await.unwrap();
    assert!(links.len() == 1 && links[0].live, "nobody else made or revoked a link: {links:?}");
    let drafts: Vec<app::drafts::types::DraftView> = owner.call("drafts/list", &[]).await.unwrap();
    assert!(drafts.len() == 1 && drafts[0].choices.caption != "Taken", "nobody else changed, scheduled or deleted the draft");
    let their_drafts: Vec<app::drafts::types::DraftView> = stranger.call("drafts/list", &[]).await.unwrap();
    assert!(their_drafts.is_empty(), "another team sees none of this team's drafts");
    let theirs: Vec<app::previews::types::PreviewLinkView> = stranger.call("previews/list", &[]).await.unwrap();
    assert!(theirs.is_empty(), "another team sees none of this team's links");

    // E-mail choices are each member's own: another team's owner saving theirs (which the
    // rules above let them do, for their own team) leaves this team's members as they were.
    stranger.call::<()>("notifications/email-preferences/save", &EMAIL_CHOICES_OFF).await.unwrap();
    for member in [&mut owner, &mut viewer, &mut editor] {
        let settings: app::notifications::types::EmailSettingsView = member.call("notifications/email-preferences", &[]).await.unwrap();
        assert_eq!(settings.preferences, app::notifications::types::EmailPreferences::default());
    }
    let mine: app::notifications::types::EmailSettingsView = stranger.call("notifications/email-preferences", &[]).await.unwrap();
    assert!(!mine.preferences.post_failed);
}
