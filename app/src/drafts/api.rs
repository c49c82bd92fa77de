//! Server functions for drafts: the team's list and one draft (any member), saving, deleting and scheduling one (editors and up); a new draft comes from the composer's upload (`mode=draft`).

use crate::{drafts::types::DraftView, error::AppError};
use leptos::prelude::*;
use uuid::Uuid;

#[server(endpoint = "drafts/list")]
pub async fn list_drafts() -> Result<Vec<DraftView>, AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    crate::drafts::ssr::list(&mut conn, caller).await
}

#[server(endpoint = "drafts/detail")]
pub async fn draft_detail(draft_id: Uuid) -> Result<DraftView, AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    crate::drafts::ssr::find(&mut conn, caller, draft_id).await
}

/// Saves the draft's account (empty: none yet), `choices` (the composer's, as JSON) and, for a
/// photo draft, `photo` (title, cover and music, as JSON; absent keeps them).
#[server(endpoint = "drafts/save")]
pub async fn save_draft(draft_id: Uuid, account_id: String, choices: String, photo: Option<String>) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let (account, choices) = parse(&account_id, &choices)?;
    let photo = parse_photo(photo.as_deref())?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::drafts::ssr::update(&mut conn, caller, draft_id, account, choices, photo).await
}

#[server(endpoint = "drafts/delete")]
pub async fn delete_draft(draft_id: Uuid) -> Result<(), AppError> {
    use crate::{state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    crate::drafts::ssr::delete(&mut conn, caller, draft_id).await
}

/// Schedules the draft for `account_id` at `when` (the caller's wall clock), a photo draft with
/// `photo` (absent: as saved); returns the post's id.
#[server(endpoint = "drafts/schedule")]
pub async fn schedule_draft(draft_id: Uuid, account_id: String, choices: String, photo: Option<String>, when: String) -> Result<Uuid, AppError> {
    use crate::{state::{app_state, db}, teams::{ssr::require_role, types::Role}};
    let (account, choices) = parse(&account_id, &choices)?;
    let photo = parse_photo(photo.as_deref())?;
    let account = account.ok_or_else(|| AppError::invalid("account_id", "Choose the TikTok account to post to."))?;
    let caller = require_role(&mut *db().await?, Role::Editor).await?;
    crate::drafts::ssr::schedule(&app_state()?, caller, draft_id, account, choices, photo, &when).await
}

#[cfg(feature = "ssr")]
fn parse(account_id: &str, choices: &str) -> Result<(Option<Uuid>, crate::posts::rules::ComposerChoices), AppError> {
    let account = match account_id.trim() {
        "" => None,
        id => Some(id.parse().map_err(|_| AppError::invalid("account_id", "Choose the TikTok account to post to."))?),
    };
    let choices = serde_json::from_str(choices).map_err(|_| AppError::invalid("choices", "The post's settings could not be read."))?;
    Ok((account, choices))
}

#[cfg(feature = "ssr")]
fn parse_photo(photo: Option<&str>) -> Result<Option<crate::posts::photo_rules::PhotoChoices>, AppError> {
    match photo.map(str::trim).filter(|photo| !photo.is_empty()) {
        Some(photo) => crate::publishing::photos::parse_choices(photo).map(Some),
        None => Ok(None),
    }
}
