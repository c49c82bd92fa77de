//! Server functions for teams: members, roles, invites, switching and creating teams.
//!
//! Each one starts with `require_role`, which proves the caller and their team; every query
//! below it is scoped to `caller.team_id`.

use crate::{
    error::AppError,
    teams::types::{CreatedInvite, InvitePreview, InviteView, MemberView, Role, TeamView},
};
use leptos::prelude::*;
use uuid::Uuid;

/// The members of the caller's current team.
#[server(endpoint = "teams/members")]
pub async fn list_members() -> Result<Vec<MemberView>, AppError> {
    use crate::{state::db, teams::ssr::{list_members, require_role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    list_members(&mut conn, caller.team_id).await
}

/// Gives a member another role (admins and owners; only owners touch the owner role).
#[server(endpoint = "teams/members/role")]
pub async fn change_member_role(user_id: Uuid, role: Role) -> Result<(), AppError> {
    use crate::{state::db, teams::ssr::{change_role, require_role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    change_role(&mut conn, caller, user_id, role).await?;
    tracing::info!(team.id = %caller.team_id, member.id = %user_id, role = %role, "role changed");
    Ok(())
}

/// Removes a member from the caller's team, or lets the caller leave it.
#[server(endpoint = "teams/members/remove")]
pub async fn remove_member(user_id: Uuid) -> Result<(), AppError> {
    use crate::{state::db, teams::ssr::{remove_member, require_role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    remove_member(&mut conn, caller, user_id).await?;
    tracing::info!(team.id = %caller.team_id, member.id = %user_id, "member removed");
    Ok(())
}

/// Open invite links of the caller's team.
#[server(endpoint = "teams/invites")]
pub async fn list_invites() -> Result<Vec<InviteView>, AppError> {
    use crate::{state::db, teams::ssr::{list_open_invites, require_role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    list_open_invites(&mut conn, caller.team_id, time::OffsetDateTime::now_utc()).await
}

/// Creates a single-use invite link for `role`, valid for seven days.
#[server(endpoint = "teams/invites/create")]
pub async fn create_invite(role: Role) -> Result<CreatedInvite, AppError> {
    use crate::{state::db, teams::ssr::{create_invite, require_role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let (invite, token) = create_invite(&mut conn, caller, role, time::OffsetDateTime::now_utc()).await?;
    tracing::info!(team.id = %caller.team_id, invite.id = %invite.id, role = %role, "invite created");
    Ok(CreatedInvite { invite, path: format!("/invite/{token}") })
}

/// Revokes an open invite of the caller's team.
#[server(endpoint = "teams/invites/revoke")]
pub async fn revoke_invite(invite_id: Uuid) -> Result<(), AppError> {
    use crate::{state::db, teams::ssr::{require_role, revoke_invite}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    revoke_invite(&mut conn, caller, invite_id, time::OffsetDateTime::now_utc()).await
}

/// What an invite link offers; public, so the join page can show it before sign-up.
#[server(endpoint = "teams/invite/preview")]
pub async fn preview_invite(token: String) -> Result<InvitePreview, AppError> {
    use crate::{state::db, teams::ssr::preview_invite};
    let mut conn = db().await?;
    preview_invite(&mut conn, token.trim(), time::OffsetDateTime::now_utc()).await
}

/// Joins the invite's team as the logged-in user and switches to it.
#[server(endpoint = "teams/invite/accept")]
pub async fn accept_invite(token: String) -> Result<(), AppError> {
    use crate::{
        auth::ssr::{SESSION_TEAM_ID, session_user_id},
        state::{db, session},
        teams::ssr::accept_invite,
    };
    let session = session().await?;
    let mut conn = db().await?;
    let user_id = session_user_id(&mut conn, &session).await?.ok_or(AppError::Unauthorized)?;
    let team = accept_invite(&mut conn, token.trim(), user_id, time::OffsetDateTime::now_utc()).await?;
    session.insert(SESSION_TEAM_ID, team.id).await?;
    tracing::info!(team.id = %team.id, user.id = %user_id, "invite accepted");
    leptos_axum::redirect("/");
    Ok(())
}

/// Makes another of the caller's teams the current one.
#[server(endpoint = "teams/switch")]
pub async fn switch_team(team_id: Uuid) -> Result<(), AppError> {
    use crate::{
        auth::ssr::{SESSION_TEAM_ID, session_user_id},
        state::{db, session},
        teams::ssr::role_in,
    };
    let session = session().await?;
    let mut conn = db().await?;
    let user_id = session_user_id(&mut conn, &session).await?.ok_or(AppError::Unauthorized)?;
    if role_in(&mut conn, team_id, user_id).await?.is_none() {
        return Err(AppError::NotFound("Team".into()));
    }
    session.insert(SESSION_TEAM_ID, team_id).await?;
    leptos_axum::redirect("/");
    Ok(())
}

/// Creates a new team owned by the caller and switches to it.
#[server(endpoint = "teams/create")]
pub async fn create_team(name: String) -> Result<TeamView, AppError> {
    use crate::{
        auth::ssr::{SESSION_TEAM_ID, session_user_id},
        state::{db, session},
        teams::{ssr::create_team_with_owner, types::normalize_team_name},
    };
    use diesel_async::AsyncConnection as _;
    let session = session().await?;
    let mut conn = db().await?;
    let user_id = session_user_id(&mut conn, &session).await?.ok_or(AppError::Unauthorized)?;
    let name = normalize_team_name(&name).map_err(|m| AppError::invalid("name", m))?;
    let team = conn.transaction(async |conn| create_team_with_owner(conn, &name, user_id).await).await?;
    session.insert(SESSION_TEAM_ID, team.id).await?;
    leptos_axum::redirect("/team");
    Ok(team)
}

/// Renames the caller's current team (admins and owners).
#[server(endpoint = "teams/rename")]
pub async fn rename_team(name: String) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::{rename_team, require_role}, types::normalize_team_name}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let name = normalize_team_name(&name).map_err(|m| AppError::invalid("name", m))?;
    rename_team(&mut conn, caller, &name).await
}

/// The team's open invites, storage use and approval setting, for those who manage the team;
/// read in one round trip (the queries go to PostgreSQL together).
#[server(endpoint = "teams/administration")]
pub async fn team_administration() -> Result<crate::teams::types::TeamAdministration, AppError> {
    use crate::{media::quota::team_usage, state::{app_state, db}, teams::ssr::{list_open_invites, require_role}};
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let approval = async {
        use crate::db::schema::teams;
        use diesel::QueryDsl as _;
        use diesel_async::RunQueryDsl as _;
        Ok::<bool, AppError>(teams::table.find(caller.team_id).select(teams::approval_required).first(&mut &*conn).await?)
    };
    let (invites, used_bytes, approval_required) = futures_util::try_join!(
        list_open_invites(&conn, caller.team_id, time::OffsetDateTime::now_utc()),
        async { Ok(team_usage(&conn, caller.team_id).await?) },
        approval,
    )?;
    let storage = crate::teams::types::MediaUsage { used_bytes, quota_bytes: state.config.team_media_quota };
    Ok(crate::teams::types::TeamAdministration { invites, storage, approval_required })
}

/// How much of the team's storage for scheduled videos is in use; for those who manage the team.
#[server(endpoint = "teams/media-usage")]
pub async fn media_usage() -> Result<crate::teams::types::MediaUsage, AppError> {
    use crate::{media::quota::team_usage, state::{app_state, db}, teams::ssr::require_role};
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let used_bytes = team_usage(&mut conn, caller.team_id).await?;
    Ok(crate::teams::types::MediaUsage { used_bytes, quota_bytes: state.config.team_media_quota })
}

/// Creates a single-use invite for `role` and e-mails its link to `email`; only where this
/// server sends e-mail (otherwise the link is copied by hand, as before).
#[server(endpoint = "teams/invites/email")]
pub async fn email_invite(email: String, role: Role) -> Result<InviteView, AppError> {
    use crate::{state::db, teams::ssr::{email_invite, require_role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let invite = email_invite(&mut conn, caller, &email, role, time::OffsetDateTime::now_utc()).await?;
    // The address is not logged: the invite's id is enough to follow it.
    tracing::info!(team.id = %caller.team_id, invite.id = %invite.id, role = %role, "invite e-mailed");
    Ok(invite)
}
