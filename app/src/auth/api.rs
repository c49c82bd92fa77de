//! Server functions for accounts: who am I, sign up, log in, log out, profile, password.

use crate::{
    auth::types::{ServerMode, SessionInfo, UserView},
    error::AppError,
};
use leptos::prelude::*;

/// The logged-in visitor with their current team, or `None` for a visitor who is not logged in.
#[server(endpoint = "auth/session")]
pub async fn get_session_info() -> Result<Option<SessionInfo>, AppError> {
    use crate::{auth::{live::LiveAccount, ssr::User}, state::db, teams::ssr::{current_caller, teams_of}};

    let mut conn = db().await?;
    let Some(caller) = current_caller(&mut conn).await? else { return Ok(None) };
    let live = LiveAccount::of(&crate::state::session().await?).await?.filter(|account| account.user.id == caller.user_id);
    let (user, teams) = match live {
        Some(account) => (account.user.clone(), account.teams()?),
        None => (User::find(&mut conn, caller.user_id).await?.view(), teams_of(&mut conn, caller.user_id).await?),
    };
    let team = teams
        .iter()
        .find(|(team, _)| team.id == caller.team_id)
        .map(|(team, _)| team.clone())
        .ok_or(AppError::Unauthorized)?;
    Ok(Some(SessionInfo {
        user,
        team,
        role: caller.role,
        teams: teams.into_iter().map(|(team, _)| team).collect(),
    }))
}

/// Whether this server runs against the TikTok sandbox; public, for the banner.
#[server(endpoint = "auth/mode")]
pub async fn get_server_mode() -> Result<ServerMode, AppError> {
    let state = crate::state::app_state()?;
    Ok(ServerMode { sandbox: state.config.tiktok.sandbox_mode() })
}

/// Creates an account. With an invite token the person joins that team; otherwise a new team is
/// created with them as its owner. Logs the new account in.
#[server(endpoint = "auth/signup")]
pub async fn sign_up(
    email: String,
    password: String,
    display_name: String,
    time_zone: String,
    invite: Option<String>,
) -> Result<(), AppError> {
    use crate::{
        auth::{
            signup::check_signup_allowed,
            ssr::{NewUser, hash_password, start_session},
            types::{check_password, normalize_display_name, normalize_email, normalize_time_zone},
        },
        state::{app_state, client_ip, db, session},
        teams::ssr::{accept_invite, create_team_with_owner},
    };
    use diesel_async::AsyncConnection as _;

    let email = normalize_email(&email).map_err(|m| AppError::invalid("email", m))?;
    let display_name = normalize_display_name(&display_name).map_err(|m| AppError::invalid("display_name", m))?;
    check_password(&password).map_err(|m| AppError::invalid("password", m))?;
    // A browser that did not report its zone gets UTC; it can be changed in Settings.
    let time_zone = if time_zone.trim().is_empty() { "UTC".to_owned() } else { time_zone };
    let time_zone = normalize_time_zone(&time_zone).map_err(|m| AppError::invalid("time_zone", m))?;
    // An unknown zone from an unusual browser must not block sign-up: UTC until Settings.
    let time_zone = if crate::calendar::zone::is_known(&time_zone) { time_zone } else { "UTC".to_owned() };
    let invite = invite.filter(|token| !token.trim().is_empty());
    let now = time::OffsetDateTime::now_utc();
    {
        // Before the password is hashed, so refused or too many sign-ups cost no argon2 work.
        let state = app_state()?;
        let mut conn = db().await?;
        check_signup_allowed(&mut conn, state.config.signup, &state.config.login_limits, invite.is_some(), client_ip(), now)
            .await?;
    }

    let password_hash = hash_password(password).await?;
    let mut conn = db().await?;
    let (user_id, team_id, epoch) = conn
        .transaction(async |conn| {
            let user = NewUser {
                email: &email,
                password_hash: &password_hash,
                display_name: &display_name,
                time_zone: &time_zone,
            }
            .insert(conn)
            .await?;
            let team = match &invite {
                Some(token) => accept_invite(conn, token.trim(), user.id, now).await?,
                None => create_team_with_owner(conn, &format!("{display_name}'s team"), user.id).await?,
            };
            Ok::<_, AppError>((user.id, team.id, user.session_epoch))
        })
        .await?;
    // The browser that made the account is its owner's first known device.
    crate::auth::known_devices::remember_this_browser(&mut conn, user_id, app_state()?.config.http.secure_cookies(), now)
        .await?;
    // Cycling the session id deletes the old row through the session store's own connection;
    // holding this one meanwhile is how a small pool deadlocked.
    drop(conn);
    let lifetime = app_state()?.config.sessions.absolute_lifetime;
    start_session(&session().await?, user_id, team_id, epoch, lifetime).await?;
    tracing::info!(user.id = %user_id, team.id = %team_id, "account created");
    leptos_axum::redirect("/");
    Ok(())
}

/// Logs in with e-mail and password, within the failure limits per account and per address.
#[server(endpoint = "auth/login")]
pub async fn log_in(email: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::{
        auth::{
            known_devices,
            ssr::{User, begin_login_attempt, known_device_subjects, login_subjects, safe_next_path, start_session, verify_password},
            types::normalize_email,
        },
        state::{app_state, client_ip, db, session},
        teams::ssr::teams_of,
    };

    let state = app_state()?;
    let email = normalize_email(&email).map_err(|m| AppError::invalid("email", m))?;
    let now = time::OffsetDateTime::now_utc();
    let secure = state.config.http.secure_cookies();
    let device_cookie = known_devices::cookie_name(secure);
    let presented = leptos::prelude::use_context::<http::request::Parts>()
        .and_then(|parts| known_devices::presented_token(&parts.headers, device_cookie));
    let mut conn = db().await?;
    let user = User::find_by_email(&mut conn, &email).await?;
    // A browser this person logged in with before is not paused by others' wrong guesses.
    let known_device = match (&user, &presented) {
        (Some(user), Some(token)) => known_devices::recognise(&mut conn, token, user.id, now).await?,
        _ => None,
    };
    let subjects = match &known_device {
        Some(device) => known_device_subjects(device, client_ip()),
        None => login_subjects(&email, client_ip()),
    };
    let attempt = begin_login_attempt(&mut conn, &state.config.login_limits, &subjects, now).await?;

    let valid = verify_password(password, user.as_ref().map(|u| u.password_hash.clone())).await;
    let Some(user) = user.filter(|_| valid) else {
        // The attempt stays recorded as a failure.
        tracing::info!("log-in refused: wrong e-mail or password");
        return Err(AppError::invalid("password", "The e-mail or password is wrong."));
    };
    attempt.succeeded(&mut conn, &subjects).await?;
    let (team, _) = teams_of(&mut conn, user.id).await?.into_iter().next().ok_or_else(|| {
        AppError::Forbidden("Your account is not in any team. Ask a team admin for an invite.".into())
    })?;
    known_devices::remember_this_browser(&mut conn, user.id, secure, now).await?;
    // The session store takes a connection of its own to cycle the id.
    drop(conn);
    start_session(&session().await?, user.id, team.id, user.session_epoch, state.config.sessions.absolute_lifetime).await?;
    tracing::info!(user.id = %user.id, known_device = known_device.is_some(), "logged in");
    leptos_axum::redirect(&safe_next_path(next.as_deref()));
    Ok(())
}

/// Ends the session (its row is deleted, the cookie cleared).
#[server(endpoint = "auth/logout")]
pub async fn log_out() -> Result<(), AppError> {
    crate::state::session().await?.flush().await?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Changes the caller's display name and time zone.
#[server(endpoint = "auth/profile")]
pub async fn update_profile(display_name: String, time_zone: String) -> Result<UserView, AppError> {
    use crate::{
        auth::{ssr::User, types::{normalize_display_name, normalize_time_zone}},
        db::schema::users,
        state::db,
        teams::{ssr::require_role, types::Role},
    };
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;

    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    let display_name = normalize_display_name(&display_name).map_err(|m| AppError::invalid("display_name", m))?;
    let time_zone = normalize_time_zone(&time_zone).map_err(|m| AppError::invalid("time_zone", m))?;
    if !crate::calendar::zone::is_known(&time_zone) {
        return Err(AppError::invalid("time_zone", format!("{time_zone} is not a time zone Cadence knows. Pick one such as Europe/Berlin.")));
    }
    diesel::update(users::table.find(caller.user_id))
        .set((
            users::display_name.eq(&display_name),
            users::time_zone.eq(&time_zone),
            users::updated_at.eq(time::OffsetDateTime::now_utc()),
        ))
        .execute(&mut conn)
        .await?;
    Ok(User::find(&mut conn, caller.user_id).await?.view())
}

/// Changes the caller's password after checking the current one; cycles the session id.
#[server(endpoint = "auth/password")]
pub async fn change_password(current_password: String, new_password: String) -> Result<(), AppError> {
    use crate::{
        auth::{
            ssr::{LimitKind, User, begin_login_attempt, hash_password, verify_password},
            types::check_password,
        },
        db::schema::users,
        state::{app_state, db, session},
        teams::{ssr::require_role, types::Role},
    };
    use diesel::{ExpressionMethods as _, QueryDsl as _};
    use diesel_async::RunQueryDsl as _;

    let state = app_state()?;
    let mut conn = db().await?;
    let caller = require_role(&mut conn, Role::Viewer).await?;
    // Someone holding a stolen session must not guess the password here at argon2's pace: the
    // check counts against the same limits as log-in, per person.
    let subjects = [(format!("password-check:{}", caller.user_id), LimitKind::AccountFromAddress)];
    let attempt =
        begin_login_attempt(&mut conn, &state.config.login_limits, &subjects, time::OffsetDateTime::now_utc()).await?;
    let user = User::find(&mut conn, caller.user_id).await?;
    if !verify_password(current_password, Some(user.password_hash)).await {
        return Err(AppError::invalid("current_password", "That is not your current password."));
    }
    attempt.succeeded(&mut conn, &subjects).await?;
    check_password(&new_password).map_err(|m| AppError::invalid("new_password", m))?;
    let hash = hash_password(new_password).await?;
    // The new epoch ends every other session of this person (a stolen one included), even one
    // a racing request writes back after its row is deleted below; this browser moves to the
    // new epoch and gets a new session id, saved after the deletion.
    let epoch: i32 = diesel::update(users::table.find(caller.user_id))
        .set((
            users::password_hash.eq(hash),
            users::session_epoch.eq(users::session_epoch + 1),
            users::updated_at.eq(time::OffsetDateTime::now_utc()),
        ))
        .returning(users::session_epoch)
        .get_result(&mut conn)
        .await?;
    let session = session().await?;
    crate::auth::ssr::end_sessions_of(&mut conn, caller.user_id).await?;
    // The session store takes a connection of its own to cycle the id.
    drop(conn);
    session.insert(crate::auth::ssr::SESSION_EPOCH, epoch).await?;
    session.cycle_id().await?;
    Ok(())
}
