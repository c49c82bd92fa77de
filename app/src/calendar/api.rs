//! Server functions for the calendar: a month or week of posts, moving a post, copying one,
//! and cancelling several at once.

use crate::{calendar::types::CalendarView, error::AppError};
use leptos::prelude::*;
use uuid::Uuid;

/// A month or week (`span`) around `date` (`YYYY-MM-DD`, local; today when empty), optionally
/// only one account's or one state's posts. Any member may look.
#[server(endpoint = "calendar/view")]
pub async fn load_calendar(
    span: String,
    date: Option<String>,
    account_id: Option<Uuid>,
    state: Option<String>,
) -> Result<CalendarView, AppError> {
    use crate::{
        calendar::{ssr::{CalendarFilter, calendar}, types::CalendarSpan},
        posts::types::PostState,
        state::db,
        teams::{ssr::require_role, types::Role},
    };
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let span = CalendarSpan::parse(&span).unwrap_or(CalendarSpan::Month);
    let filter = CalendarFilter { account_id, state: state.as_deref().and_then(PostState::parse) };
    calendar(&mut conn, caller, span, date.as_deref().filter(|d| !d.is_empty()), filter).await
}

/// Moves a scheduled post to `when` (`2026-11-30T09:00` on the caller's wall clock). Returns
/// the new time as it reads.
#[server(endpoint = "calendar/reschedule")]
pub async fn reschedule_post(post_id: Uuid, when: String) -> Result<String, AppError> {
    use crate::{calendar::ssr::reschedule, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    reschedule(&mut conn, caller, post_id, &when).await
}

/// Copies a post with a stored video, a day later. Returns the copy's id.
#[server(endpoint = "calendar/duplicate")]
pub async fn duplicate_post(post_id: Uuid) -> Result<Uuid, AppError> {
    use crate::{calendar::ssr::duplicate, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    duplicate(&mut conn, caller, post_id).await
}

/// Cancels the scheduled posts among `post_ids` (comma-separated); returns how many were.
#[server(endpoint = "calendar/cancel-many")]
pub async fn cancel_posts(post_ids: String) -> Result<usize, AppError> {
    use crate::{posts::ssr::cancel, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    let mut cancelled = 0;
    for id in post_ids.split(',').map(str::trim).filter(|id| !id.is_empty()) {
        let id: Uuid = id.parse().map_err(|_| AppError::invalid("post_ids", "A post id is not valid."))?;
        match cancel(&mut conn, caller, id).await {
            Ok(()) => cancelled += 1,
            // Already on its way or settled: the others still go.
            Err(AppError::Conflict(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(cancelled)
}
