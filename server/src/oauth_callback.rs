//! `GET /oauth/tiktok/callback`: where TikTok sends the browser back after the consent screen.
//! Checks the state, exchanges the code, stores the account, and lands on `/accounts` with a
//! message key (never with text taken from the URL).

use app::{
    accounts::{
        ssr::{consume_state, store_connection},
        types::{AccountView, ConnectProblem},
    },
    auth::ssr::session_user_id,
    state::AppState,
    teams::{ssr::role_in, types::Role},
};
use axum::{
    extract::{Query, State},
    response::Redirect,
};
use serde::Deserialize;
use tower_sessions::Session;

/// TikTok's redirect: `code`, `scopes`, `state` on success; `error`, `error_description`,
/// `state` when the person declined (tiktok-api.md §2.3).
#[derive(Deserialize)]
pub struct CallbackParams {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

pub async fn tiktok_callback(
    State(state): State<AppState>,
    session: Session,
    Query(params): Query<CallbackParams>,
) -> Redirect {
    match finish(&state, &session, params).await {
        Ok(account) => {
            tracing::info!(account.id = %account.id, "TikTok account connected");
            Redirect::to("/accounts?connected=1")
        }
        Err(problem) => {
            tracing::info!(problem = problem.key(), "TikTok connection not completed");
            Redirect::to(&format!("/accounts?connect_error={}", problem.key()))
        }
    }
}

async fn finish(state: &AppState, session: &Session, params: CallbackParams) -> Result<AccountView, ConnectProblem> {
    let user_id = session_user_id(session).await.ok().flatten().ok_or(ConnectProblem::State)?;
    let oauth_state = params.state.ok_or(ConnectProblem::State)?;
    let mut conn = state.pool.get().await.map_err(|_| ConnectProblem::Unavailable)?;
    let now = time::OffsetDateTime::now_utc();
    let team_id = consume_state(&mut conn, session, &oauth_state, user_id, now).await?;
    // The role may have changed while the person was on TikTok's page.
    let role = role_in(&mut conn, team_id, user_id).await.map_err(|_| ConnectProblem::Unavailable)?;
    if role.is_none_or(|role| role < Role::Editor) {
        return Err(ConnectProblem::State);
    }
    if params.error.is_some() {
        return Err(ConnectProblem::Denied);
    }
    let code = params.code.ok_or(ConnectProblem::TikTok)?;
    // The connection goes back while TikTok exchanges the code, so a slow TikTok cannot take
    // the pages' connections.
    drop(conn);
    let grant = state.tiktok.client.exchange_code(&code, &state.tiktok.redirect_uri).await.map_err(|error| {
        tracing::warn!(error = %error, "TikTok code exchange failed");
        ConnectProblem::TikTok
    })?;
    let mut conn = state.pool.get().await.map_err(|_| ConnectProblem::Unavailable)?;
    store_connection(&mut conn, &state.tiktok.client, &state.cipher, team_id, user_id, grant).await
}
