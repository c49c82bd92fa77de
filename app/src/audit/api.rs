//! Server functions for the audit log: a page of it and its CSV, for owners and admins.

use crate::{audit::types::AuditPage, error::AppError};
use leptos::prelude::*;
use uuid::Uuid;

#[cfg(feature = "ssr")]
fn filter(subject: Option<String>, actor: Option<Uuid>) -> Result<crate::audit::ssr::AuditFilter, AppError> {
    use crate::audit::types::Subject;
    let subject = match subject.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(Subject::parse(text).ok_or_else(|| AppError::invalid("subject", "Choose what the changes are about from the list."))?),
    };
    Ok(crate::audit::ssr::AuditFilter { subject, actor })
}

/// The team's log, newest first, 50 at a time from before the entry `before`.
#[server(endpoint = "audit/list")]
pub async fn audit_log(subject: Option<String>, actor: Option<Uuid>, before: Option<i64>) -> Result<AuditPage, AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let filter = filter(subject, actor)?;
    let (_, tz) = crate::calendar::ssr::member_zone(&mut conn, caller.user_id).await?;
    crate::audit::ssr::page(&mut conn, caller.team_id, &filter, before, &tz).await
}

/// The whole filtered log (up to 50,000 entries) as CSV.
#[server(endpoint = "audit/csv")]
pub async fn audit_csv(subject: Option<String>, actor: Option<Uuid>) -> Result<String, AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Admin).await?;
    let filter = filter(subject, actor)?;
    let (zone_name, tz) = crate::calendar::ssr::member_zone(&mut conn, caller.user_id).await?;
    let entries = crate::audit::ssr::all(&mut conn, caller.team_id, &filter, &tz).await?;
    Ok(crate::audit::types::csv(&entries, &zone_name))
}
