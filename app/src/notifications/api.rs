//! Server functions for notifications: the open ones, and acknowledging one.

use crate::{error::AppError, notifications::types::NotificationView};
use leptos::prelude::*;

/// The caller's team's open notifications (any member may look).
#[server(endpoint = "notifications/list")]
pub async fn list_notifications() -> Result<Vec<NotificationView>, AppError> {
    use crate::{notifications::ssr::open_for_team, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    open_for_team(&mut conn, caller.team_id).await
}

/// Marks a notification as seen (editors and up: they are the ones who act on it).
#[server(endpoint = "notifications/acknowledge")]
pub async fn acknowledge_notification(id: i64) -> Result<(), AppError> {
    use crate::{notifications::ssr::acknowledge, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    acknowledge(&mut conn, caller.team_id, id, caller.user_id).await
}
