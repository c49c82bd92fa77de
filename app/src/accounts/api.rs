//! Server functions for TikTok accounts: list, connect (and reconnect), refresh, disconnect.

use crate::{accounts::types::AccountView, error::AppError};
use leptos::prelude::*;
use uuid::Uuid;

/// The accounts of the caller's team (any member may look).
#[server(endpoint = "accounts/list")]
pub async fn list_accounts() -> Result<Vec<AccountView>, AppError> {
    use crate::{accounts::ssr::list_for_team, state::db, teams::{ssr::require_role, types::Role}};
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    list_for_team(&mut conn, caller.team_id).await
}

/// Starts TikTok's OAuth flow for the caller's team and sends the browser to the consent
/// screen (editors and up). Also the way to reconnect an account.
#[server(endpoint = "accounts/connect")]
pub async fn connect_tiktok() -> Result<String, AppError> {
    use crate::{accounts::connect::begin_connection, state::{app_state, db, session}, teams::{ssr::require_role, types::Role}};
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    let oauth_state = begin_connection(&mut conn, &session().await?, caller).await?;
    let url = state.tiktok.client.authorize_url(&state.tiktok.redirect_uri, &oauth_state);
    leptos_axum::redirect(&url);
    Ok(url)
}

/// Asks TikTok again who the creator is (name, username, a fresh avatar) and, where Direct
/// Post was granted, what they may post; stores both.
#[server(endpoint = "accounts/refresh-info")]
pub async fn refresh_account_info(account_id: Uuid) -> Result<AccountView, AppError> {
    use crate::{
        accounts::{profile::refresh_profile, ssr::{TikTokAccount, fresh_creator_info}},
        state::{app_state, db},
        teams::{ssr::require_role, types::Role},
        tiktok::error::for_people,
    };
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    let account = TikTokAccount::find_for_team(&mut conn, caller.team_id, account_id).await?;
    drop(conn);
    refresh_profile(&state.pool, &state.tiktok, &state.cipher, account_id).await?.map_err(|e| for_people(&e))?;
    if account.view().allows().direct_post {
        fresh_creator_info(&state, account_id).await?;
    }
    Ok(TikTokAccount::find(&mut *db().await?, account_id).await?.view())
}

/// Revokes Cadence's access at TikTok and deletes the tokens; posts stay in the history.
#[server(endpoint = "accounts/disconnect")]
pub async fn disconnect_account(account_id: Uuid) -> Result<(), AppError> {
    use crate::{accounts::ssr::disconnect, state::{app_state, db}, teams::{ssr::require_role, types::Role}};
    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Editor).await?;
    drop(conn);
    disconnect(&state.pool, &state.tiktok.client, &state.cipher, caller, account_id).await
}
