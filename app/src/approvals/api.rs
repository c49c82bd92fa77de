//! Server functions for approvals: deciding on a post (approvers), the team's setting and each member's right (admins and owners).

use crate::error::AppError;
use leptos::prelude::*;
use uuid::Uuid;

/// Approves the post as the approver saw it: `fingerprint` is the one their page showed.
#[server(endpoint = "posts/approve")]
pub async fn approve_post(post_id: Uuid, fingerprint: String) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::approvals::ssr::approve(&mut conn, caller, post_id, &fingerprint).await
}

/// Sends the post back with `comment`, which goes into its thread.
#[server(endpoint = "posts/request-changes")]
pub async fn request_changes(post_id: Uuid, comment: String) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::approvals::ssr::request_changes(&mut conn, caller, post_id, &comment).await
}

/// Whether the team's posts need an approver's approval before they go out.
#[server(endpoint = "teams/approval-required")]
pub async fn set_approval_required(required: bool) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    crate::approvals::ssr::set_required(&mut conn, caller, required).await
}

/// Gives a member the right to approve posts, or takes it.
#[server(endpoint = "teams/members/approver")]
pub async fn set_approver(user_id: Uuid, can_approve: bool) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    crate::approvals::ssr::set_member_right(&mut conn, caller, user_id, can_approve).await
}
