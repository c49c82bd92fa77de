//! `GET /oauth/tiktok/callback`: where TikTok sends the browser back after the consent screen.
//! Checks the state, exchanges the code, stores the account, and lands on `/accounts` with a
//! message key (never with text taken from the URL; TikTok's own words go to the log).
//!
//! A pooled connection is held only for the database steps, never across a call to TikTok, so
//! a slow TikTok cannot drain the pool that pages need.

use app::{
    accounts::{
        connect::{ConnectionFacts, connection_facts, consume_state, revoke_dropped_grant, store_connection},
        types::{AccountView, ConnectProblem},
    },
    auth::ssr::session_user_id,
    state::AppState,
    teams::{ssr::role_in, types::Role},
    tiktok::{client::TokenGrant, scopes::Allows},
};
use axum::{
    extract::{Query, State},
    response::Redirect,
};
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

/// TikTok's redirect: `code`, `scopes`, `state` on success; `error`, `error_description`,
/// `state` when the person declined or TikTok refused the request (tiktok-api.md §2.3).
#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

pub async fn tiktok_callback(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Redirect {
    match finish(&state, &session, params).await {
        Ok(account) => {
            tracing::info!(account.id = %account.id, scopes = %account.scopes.join(","), "TikTok account connected");
            Redirect::to("/accounts?connected=1")
        }
        Err(problem) => {
            tracing::info!(problem = problem.key(), "TikTok connection not completed");
            Redirect::to(&format!("/accounts?connect_error={}", problem.key()))
        }
    }
}

async fn finish(state: &AppState, session: &Session, params: CallbackParams) -> Result<AccountView, ConnectProblem> {
    let (team_id, user_id) = check_state(state, session, params.state.as_deref()).await?;
    if let Some(error) = params.error.as_deref() {
        // TikTok's description is for the operator: it names the scope or setting at fault.
        // It is text from the URL, so it goes to the log, never onto the page.
        let description: String = params.error_description.unwrap_or_default().chars().take(300).collect();
        tracing::warn!(error = %error.chars().take(64).collect::<String>(), description = %description, "TikTok refused the connection");
        return Err(ConnectProblem::from_oauth_error(error));
    }
    let code = params.code.ok_or(ConnectProblem::TikTok)?;
    let grant = state.tiktok.client.exchange_code(&code, &state.tiktok.redirect_uri).await.map_err(|error| {
        tracing::warn!(error = %error, "TikTok code exchange failed");
        ConnectProblem::TikTok
    })?;
    match keep(state, team_id, user_id, &grant).await {
        Ok(account) => Ok(account),
        Err(problem) => {
            // Taken: revoking would remove the app for the creator, and with it the other
            // team's live connection; revoke_dropped_grant checks for that.
            revoke_dropped_grant(&state.pool, &state.tiktok.client, &grant).await;
            Err(problem)
        }
    }
}

/// Consumes the state (bound to this browser and user) and re-checks the person's role, which
/// may have changed while they were on TikTok's page. Returns `(team_id, user_id)`.
async fn check_state(state: &AppState, session: &Session, oauth_state: Option<&str>) -> Result<(Uuid, Uuid), ConnectProblem> {
    // Read before a connection is taken: loading the session takes one of its own.
    session.get::<Uuid>(app::auth::ssr::SESSION_USER_ID).await.ok().flatten().ok_or(ConnectProblem::State)?;
    let mut conn = state.pool.get().await.map_err(|_| ConnectProblem::Unavailable)?;
    let user_id = session_user_id(&mut conn, session).await.ok().flatten().ok_or(ConnectProblem::State)?;
    let oauth_state = oauth_state.ok_or(ConnectProblem::State)?;
    let now = time::OffsetDateTime::now_utc();
    let team_id = consume_state(&mut conn, session, oauth_state, user_id, now).await?;
    let role = role_in(&mut conn, team_id, user_id).await.map_err(|_| ConnectProblem::Unavailable)?;
    if role.is_none_or(|role| role < Role::Editor) {
        return Err(ConnectProblem::State);
    }
    Ok((team_id, user_id))
}

/// Reads the creator's facts from TikTok, then stores the connection.
async fn keep(state: &AppState, team_id: Uuid, user_id: Uuid, grant: &TokenGrant) -> Result<AccountView, ConnectProblem> {
    if Allows::from_granted(&grant.scopes).cannot_post() {
        return Err(ConnectProblem::NoPostingScope);
    }
    let facts: ConnectionFacts = connection_facts(&state.tiktok.client, grant).await?;
    let mut conn = state.pool.get().await.map_err(|_| ConnectProblem::Unavailable)?;
    store_connection(&mut conn, &state.cipher, team_id, user_id, grant, &facts).await
}
