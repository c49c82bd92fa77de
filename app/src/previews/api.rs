//! Server functions for client preview links: making, listing and revoking them (members), and the guest's page and decision (anyone holding a live link).

use crate::{
    error::AppError,
    previews::types::{CreatedPreviewLink, GuestDecision, PreviewLinkView, GuestPreview},
};
use leptos::prelude::*;
use uuid::Uuid;

/// Makes a link to the posts `post_ids` (comma-separated) that lives `days` days; approvers only.
#[server(endpoint = "previews/create")]
pub async fn create_preview_link(post_ids: String, label: String, days: u32) -> Result<CreatedPreviewLink, AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let ids = post_ids
        .split(',')
        .filter(|id| !id.trim().is_empty())
        .map(|id| id.trim().parse::<Uuid>().map_err(|_| AppError::invalid("post_ids", "That is not a post of this team.")))
        .collect::<Result<Vec<_>, _>>()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::previews::ssr::create(&mut conn, caller, &ids, &label, days, time::OffsetDateTime::now_utc()).await
}

/// The team's links (editors and up).
#[server(endpoint = "previews/list")]
pub async fn list_preview_links() -> Result<Vec<PreviewLinkView>, AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::previews::ssr::list(&mut conn, caller, time::OffsetDateTime::now_utc()).await
}

/// Revokes one of the team's links; approvers only.
#[server(endpoint = "previews/revoke")]
pub async fn revoke_preview_link(link_id: Uuid) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::previews::ssr::revoke(&mut conn, caller, link_id).await
}

/// The posts a live link shows, for anyone holding it (no account needed).
#[server(endpoint = "preview/page")]
pub async fn preview_page(token: String) -> Result<GuestPreview, AppError> {
    let mut conn = crate::state::db().await?;
    crate::previews::ssr::page(&mut conn, &token, time::OffsetDateTime::now_utc()).await
}

/// A guest approves a post of the link, or asks for changes with `comment`, signed `name`.
#[server(endpoint = "preview/decide")]
pub async fn decide_in_preview(
    token: String,
    post_id: Uuid,
    fingerprint: String,
    decision: GuestDecision,
    name: String,
    comment: String,
) -> Result<(), AppError> {
    let mut conn = crate::state::db().await?;
    crate::previews::ssr::decide(&mut conn, &token, post_id, &fingerprint, decision, &name, &comment).await
}
