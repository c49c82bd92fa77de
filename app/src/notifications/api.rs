//! Server functions for notifications: the open ones, acknowledging one, and each member's
//! choice of e-mails.

use crate::{error::AppError, notifications::types::{EmailSettingsView, NotificationView}};
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

/// The caller's e-mail choices in their current team (any member chooses for themselves).
#[server(endpoint = "notifications/email-preferences")]
pub async fn get_email_preferences() -> Result<EmailSettingsView, AppError> {
    use crate::{mail::{outbox::delivery_enabled, preferences}, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let preferences = preferences::load(&mut conn, caller.team_id, caller.user_id).await?;
    Ok(EmailSettingsView { preferences, delivery_enabled: delivery_enabled(&mut conn).await? })
}

/// Stores the caller's own e-mail choices in their current team; nobody chooses for others.
#[server(endpoint = "notifications/email-preferences/save")]
pub async fn save_email_preferences(
    post_failed: bool,
    post_unconfirmed: bool,
    account_reconnect: bool,
    grant_ending: bool,
    daily_digest: bool,
    approval_requested: bool,
    approval_answered: bool,
) -> Result<(), AppError> {
    use crate::{mail::preferences, notifications::types::EmailPreferences, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let choices =
        EmailPreferences { post_failed, post_unconfirmed, account_reconnect, grant_ending, daily_digest, approval_requested, approval_answered };
    preferences::save(&mut conn, caller.team_id, caller.user_id, choices).await?;
    Ok(())
}
