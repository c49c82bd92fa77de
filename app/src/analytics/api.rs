//! Server functions for analytics: a team's and an account's figures over a range, a post's
//! own curve, the composer's suggested slots, and the CSV of a chart. Every one proves the
//! caller and reads only the caller's team.

use crate::{
    analytics::types::{AccountAnalytics, PostAnalytics, SlotSuggestion, TeamAnalytics},
    error::AppError,
};
use leptos::prelude::*;
use uuid::Uuid;

/// Every account of the team over the last `days` days (7, 30, 90 or 365). Any member may look.
#[server(endpoint = "analytics/team")]
pub async fn load_team_analytics(days: Option<i64>) -> Result<TeamAnalytics, AppError> {
    use crate::{analytics::{ssr, types::range_days}, state::{app_state, db}, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let cache = app_state()?.analytics_cache;
    ssr::team_analytics(&mut conn, &cache, caller, range_days(days), time::OffsetDateTime::now_utc()).await
}

/// One account of the team over the last `days` days. Any member may look.
#[server(endpoint = "analytics/account")]
pub async fn load_account_analytics(account_id: Uuid, days: Option<i64>) -> Result<AccountAnalytics, AppError> {
    use crate::{analytics::{ssr, types::range_days}, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    ssr::account_analytics(&mut conn, caller, account_id, range_days(days), time::OffsetDateTime::now_utc()).await
}

/// A post's views and likes since it went live. Any member may look.
#[server(endpoint = "analytics/post")]
pub async fn load_post_analytics(post_id: Uuid) -> Result<PostAnalytics, AppError> {
    use crate::{analytics::ssr, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    ssr::post_analytics(&mut conn, caller, post_id).await
}

/// The next good times to schedule a post of the account, for the composer (editors, who
/// schedule).
#[server(endpoint = "analytics/suggest-slots")]
pub async fn suggest_slots(account_id: Uuid) -> Result<Vec<SlotSuggestion>, AppError> {
    use crate::{analytics::ssr, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    ssr::suggest_slots(&mut conn, caller, account_id, time::OffsetDateTime::now_utc()).await
}

/// The CSV of what one chart of the account page shows (`chart`: followers, views or videos).
#[server(endpoint = "analytics/csv")]
pub async fn export_csv(account_id: Uuid, days: Option<i64>, chart: String) -> Result<String, AppError> {
    use crate::{analytics::{ssr, types::range_days}, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let analytics = ssr::account_analytics(&mut conn, caller, account_id, range_days(days), time::OffsetDateTime::now_utc()).await?;
    crate::analytics::csv::csv(&analytics, &chart).map_err(|message| AppError::invalid("chart", message))
}

/// Reads the account's figures from TikTok now instead of waiting for the hourly collection
/// (editors; at most once a minute per account). Returns what was read, in words.
#[server(endpoint = "analytics/refresh")]
pub async fn refresh_analytics(account_id: Uuid) -> Result<String, AppError> {
    use crate::{analytics::ssr, state::{app_state, db}, teams::{ssr::require_role, types::Role}};
    let caller = {
        let mut conn = db().await?;
        require_role(&mut conn, Role::Editor).await?
    };
    ssr::refresh(&app_state()?, caller, account_id, time::OffsetDateTime::now_utc()).await
}
