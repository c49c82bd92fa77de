//! Roles, invites, team switching, and isolation between teams.

use crate::util::{TestApp, TestClient, test_app::PASSWORD};
use app::{
    db::schema::invites,
    error::AppError,
    teams::types::{CreatedInvite, InvitePreview, InviteView, MemberView, Role},
};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;

async fn invite(client: &mut TestClient, role: &str) -> String {
    let created: CreatedInvite = client.call("teams/invites/create", &[("role", role)]).await.unwrap();
    created.path.trim_start_matches("/invite/").to_owned()
}

/// Signs a new person up through an invite link.
async fn join_with(app: &TestApp, token: &str, name: &str) -> TestClient {
    let mut client = app.client();
    let email = format!("{}@example.com", name.to_lowercase());
    client
        .call::<()>(
            "auth/signup",
            &[("email", &email), ("password", PASSWORD), ("display_name", name), ("time_zone", "UTC"), ("invite", token)],
        )
        .await
        .expect("sign-up through the invite succeeds");
    client
}

async fn members(client: &mut TestClient) -> Vec<MemberView> {
    client.call("teams/members", &[]).await.unwrap()
}

fn id_of(members: &[MemberView], name: &str) -> String {
    members.iter().find(|m| m.display_name == name).unwrap().user_id.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invite_brings_a_new_person_into_the_team_once() {
    let app = TestApp::new().await;
    let mut owner = app.signed_up("Ana").await;
    let token = invite(&mut owner, "editor").await;

    let mut visitor = app.client();
    let preview: InvitePreview = visitor.call("teams/invite/preview", &[("token", &token)]).await.unwrap();
    assert_eq!((preview.team_name.as_str(), preview.role, preview.invited_by.as_str()), ("Ana's team", Role::Editor, "Ana"));

    let mut bo = join_with(&app, &token, "Bo").await;
    let info = bo.session_info().await.unwrap();
    assert_eq!((info.team.name.as_str(), info.role), ("Ana's team", Role::Editor));
    assert_eq!(info.teams.len(), 1, "joining through an invite creates no team of one's own");

    let reused = app.client().call::<InvitePreview>("teams/invite/preview", &[("token", &token)]).await.unwrap_err();
    assert!(reused.field_message("invite").unwrap().contains("not valid any more"));
    let mut cy = app.client();
    let refused = cy
        .call::<()>(
            "auth/signup",
            &[("email", "cy@example.com"), ("password", PASSWORD), ("display_name", "Cy"), ("time_zone", "UTC"), ("invite", &token)],
        )
        .await
        .unwrap_err();
    assert!(refused.field_message("invite").is_some());
    assert!(cy.session_info().await.is_none(), "a refused invite sign-up leaves no account behind");
    let open: Vec<InviteView> = owner.call("teams/invites", &[]).await.unwrap();
    assert!(open.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_and_revoked_invites_are_refused() {
    let app = TestApp::new().await;
    let mut owner = app.signed_up("Ana").await;
    let expired = invite(&mut owner, "viewer").await;
    let revoked = invite(&mut owner, "viewer").await;

    let mut conn = app.conn().await;
    diesel::update(invites::table.filter(invites::token_hash.eq(app::teams::ssr::hash_invite_token(&expired))))
        .set(invites::expires_at.eq(time::OffsetDateTime::now_utc() - time::Duration::minutes(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    let open: Vec<InviteView> = owner.call("teams/invites", &[]).await.unwrap();
    assert_eq!(open.len(), 1);
    owner.call::<()>("teams/invites/revoke", &[("invite_id", &open[0].id.to_string())]).await.unwrap();

    for token in [expired, revoked] {
        let error = app.client().call::<InvitePreview>("teams/invite/preview", &[("token", &token)]).await.unwrap_err();
        assert!(error.field_message("invite").is_some(), "{error:?}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_existing_user_accepts_an_invite_and_switches_between_teams() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let mut bo = app.signed_up("Bo").await;
    let token = invite(&mut ana, "viewer").await;

    bo.call::<()>("teams/invite/accept", &[("token", &token)]).await.unwrap();
    let info = bo.session_info().await.unwrap();
    assert_eq!((info.team.name.as_str(), info.role, info.teams.len()), ("Ana's team", Role::Viewer, 2));

    let own_team = info.teams.iter().find(|t| t.name == "Bo's team").unwrap().id.to_string();
    bo.call::<()>("teams/switch", &[("team_id", &own_team)]).await.unwrap();
    let info = bo.session_info().await.unwrap();
    assert_eq!((info.team.name.as_str(), info.role), ("Bo's team", Role::Owner));

    // A team one is not a member of cannot be switched to, and is indistinguishable from none.
    let mut cy = app.signed_up("Cy").await;
    let cy_team = cy.session_info().await.unwrap().team.id.to_string();
    assert_eq!(bo.call::<()>("teams/switch", &[("team_id", &cy_team)]).await.unwrap_err(), AppError::NotFound("Team".into()));
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_and_editors_cannot_manage_the_team() {
    let app = TestApp::new().await;
    let mut owner = app.signed_up("Ana").await;
    let viewer_token = invite(&mut owner, "viewer").await;
    let editor_token = invite(&mut owner, "editor").await;
    let mut viewer = join_with(&app, &viewer_token, "Vi").await;
    let mut editor = join_with(&app, &editor_token, "Ed").await;
    let listed = members(&mut viewer).await;
    assert_eq!(listed.len(), 3, "every member may see who is in the team");
    let ana_id = id_of(&listed, "Ana");
    let ed_id = id_of(&listed, "Ed");

    for client in [&mut viewer, &mut editor] {
        assert!(matches!(client.call::<CreatedInvite>("teams/invites/create", &[("role", "viewer")]).await, Err(AppError::Forbidden(_))));
        assert!(matches!(client.call::<Vec<InviteView>>("teams/invites", &[]).await, Err(AppError::Forbidden(_))));
        assert!(matches!(client.call::<()>("teams/members/role", &[("user_id", &ana_id), ("role", "viewer")]).await, Err(AppError::Forbidden(_))));
        assert!(matches!(client.call::<()>("teams/rename", &[("name", "Hijacked")]).await, Err(AppError::Forbidden(_))));
    }
    assert!(matches!(viewer.call::<()>("teams/members/remove", &[("user_id", &ed_id)]).await, Err(AppError::Forbidden(_))));
    assert_eq!(members(&mut owner).await.len(), 3, "nothing changed");
}

#[tokio::test(flavor = "multi_thread")]
async fn admins_manage_members_but_only_owners_touch_owners() {
    let app = TestApp::new().await;
    let mut owner = app.signed_up("Ana").await;
    let admin_token = invite(&mut owner, "admin").await;
    let editor_token = invite(&mut owner, "editor").await;
    let mut admin = join_with(&app, &admin_token, "Ad").await;
    join_with(&app, &editor_token, "Ed").await;
    let listed = members(&mut owner).await;
    let (ana_id, ed_id) = (id_of(&listed, "Ana"), id_of(&listed, "Ed"));

    admin.call::<()>("teams/members/role", &[("user_id", &ed_id), ("role", "viewer")]).await.unwrap();
    assert!(matches!(admin.call::<()>("teams/members/role", &[("user_id", &ed_id), ("role", "owner")]).await, Err(AppError::Forbidden(_))));
    assert!(matches!(admin.call::<()>("teams/members/role", &[("user_id", &ana_id), ("role", "admin")]).await, Err(AppError::Forbidden(_))));
    assert!(matches!(admin.call::<()>("teams/members/remove", &[("user_id", &ana_id)]).await, Err(AppError::Forbidden(_))));
    let owner_invite = admin.call::<CreatedInvite>("teams/invites/create", &[("role", "owner")]).await.unwrap_err();
    assert!(owner_invite.field_message("role").is_some());

    admin.call::<()>("teams/members/remove", &[("user_id", &ed_id)]).await.unwrap();
    let names: Vec<String> = members(&mut owner).await.into_iter().map(|m| m.display_name).collect();
    assert_eq!(names, ["Ana", "Ad"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_team_always_keeps_an_owner() {
    let app = TestApp::new().await;
    let mut owner = app.signed_up("Ana").await;
    let ana_id = id_of(&members(&mut owner).await, "Ana");
    let demote = owner.call::<()>("teams/members/role", &[("user_id", &ana_id), ("role", "admin")]).await.unwrap_err();
    assert!(matches!(demote, AppError::Conflict(_)));
    let leave = owner.call::<()>("teams/members/remove", &[("user_id", &ana_id)]).await.unwrap_err();
    assert!(matches!(leave, AppError::Conflict(_)));

    // With a second owner, the first may step down.
    let token = invite(&mut owner, "admin").await;
    join_with(&app, &token, "Bo").await;
    let bo_id = id_of(&members(&mut owner).await, "Bo");
    owner.call::<()>("teams/members/role", &[("user_id", &bo_id), ("role", "owner")]).await.unwrap();
    owner.call::<()>("teams/members/role", &[("user_id", &ana_id), ("role", "editor")]).await.unwrap();
    assert_eq!(owner.session_info().await.unwrap().role, Role::Editor, "a role change applies at once");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_team_never_sees_or_changes_another_teams_members_or_invites() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let token = invite(&mut ana, "editor").await;
    join_with(&app, &token, "Ed").await;
    let ana_members = members(&mut ana).await;
    let ed_id = id_of(&ana_members, "Ed");
    let _open_invite = invite(&mut ana, "viewer").await;
    let ana_invites: Vec<InviteView> = ana.call("teams/invites", &[]).await.unwrap();

    let mut mallory = app.signed_up("Mallory").await;
    let seen: Vec<String> = members(&mut mallory).await.into_iter().map(|m| m.display_name).collect();
    assert_eq!(seen, ["Mallory"]);
    let seen_invites: Vec<InviteView> = mallory.call("teams/invites", &[]).await.unwrap();
    assert!(seen_invites.is_empty());
    let seen_administration: app::teams::types::TeamAdministration = mallory.call("teams/administration", &[]).await.unwrap();
    assert!(seen_administration.invites.is_empty(), "the team page's invites are Mallory's team's only");
    let ana_administration: app::teams::types::TeamAdministration = ana.call("teams/administration", &[]).await.unwrap();
    assert_eq!(ana_administration.invites, ana_invites);

    let not_found = |result: Result<(), AppError>| assert!(matches!(result, Err(AppError::NotFound(_))), "{result:?}");
    not_found(mallory.call("teams/members/role", &[("user_id", &ed_id), ("role", "viewer")]).await);
    not_found(mallory.call("teams/members/remove", &[("user_id", &ed_id)]).await);
    not_found(mallory.call("teams/invites/revoke", &[("invite_id", &ana_invites[0].id.to_string())]).await);

    assert_eq!(members(&mut ana).await, ana_members, "Ana's team is untouched");
    let still_open: Vec<InviteView> = ana.call("teams/invites", &[]).await.unwrap();
    assert_eq!(still_open.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removed_member_loses_access_at_once() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let token = invite(&mut ana, "editor").await;
    let mut ed = join_with(&app, &token, "Ed").await;
    let ed_id = id_of(&members(&mut ana).await, "Ed");
    ana.call::<()>("teams/members/remove", &[("user_id", &ed_id)]).await.unwrap();

    let refused = ed.call::<Vec<MemberView>>("teams/members", &[]).await.unwrap_err();
    assert!(matches!(refused, AppError::Forbidden(_)), "{refused:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn anonymous_callers_are_refused_everywhere_but_the_public_endpoints() {
    let app = TestApp::new().await;
    let mut anonymous = app.client();
    for endpoint in ["teams/members", "teams/invites"] {
        let result = anonymous.call::<serde_json::Value>(endpoint, &[]).await;
        assert_eq!(result.unwrap_err(), AppError::Unauthorized, "{endpoint}");
    }
    let result = anonymous.call::<CreatedInvite>("teams/invites/create", &[("role", "viewer")]).await;
    assert_eq!(result.unwrap_err(), AppError::Unauthorized);
    let result = anonymous.call::<()>("teams/invite/accept", &[("token", "whatever")]).await;
    assert_eq!(result.unwrap_err(), AppError::Unauthorized);
    assert!(anonymous.session_info().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn creating_a_team_makes_the_caller_its_owner_and_switches_to_it() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let empty = ana.call::<serde_json::Value>("teams/create", &[("name", "   ")]).await.unwrap_err();
    assert!(empty.field_message("name").is_some());
    ana.call::<serde_json::Value>("teams/create", &[("name", "Agency")]).await.unwrap();
    let info = ana.session_info().await.unwrap();
    assert_eq!((info.team.name.as_str(), info.role, info.teams.len()), ("Agency", Role::Owner, 2));
    ana.call::<()>("teams/rename", &[("name", "Agency Two")]).await.unwrap();
    assert_eq!(ana.session_info().await.unwrap().team.name, "Agency Two");
}
