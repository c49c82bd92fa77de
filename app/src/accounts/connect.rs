//! Connecting a TikTok account: single-use OAuth states, what TikTok tells about the creator
//! right after the code exchange, and storing the connection (reconnecting updates the row).
//!
//! No database connection is held while TikTok is called: the callback takes one to consume
//! the state, gives it back for the exchange and look-ups, and takes one again to store.

use crate::{
    audit::{ssr::Change, types::Subject},
    accounts::{
        ssr::TikTokAccount,
        types::{AccountStatus, AccountView, ConnectProblem},
    },
    crypto::{SecretToken, TokenCipher, random_token, sha256_hex},
    db::schema::{oauth_states, tiktok_accounts},
    error::AppResult,
    teams::ssr::Caller,
    tiktok::{
        client::{TikTokClient, TokenGrant},
        scopes::Allows,
        types::{CreatorInfo, UserInfo},
    },
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use time::{Duration, OffsetDateTime};
use tower_sessions::Session;
use uuid::Uuid;

/// How long a person has to finish TikTok's consent screen.
pub const OAUTH_STATE_LIFETIME: Duration = Duration::minutes(10);
/// Session key listing the hashes of this browser's OAuth states in flight.
const SESSION_OAUTH_STATES: &str = "oauth_states";
/// At most this many connection attempts in flight per browser.
const MAX_STATES_PER_SESSION: usize = 5;

/// Starts a connection: a fresh single-use state, stored hashed in the database (bound to the
/// team and user) and in this browser's session. Returns the state to send to TikTok.
pub async fn begin_connection(conn: &mut AsyncPgConnection, session: &Session, caller: Caller) -> AppResult<String> {
    let state = random_token(32);
    let hash = sha256_hex(state.as_bytes());
    let now = OffsetDateTime::now_utc();
    diesel::delete(oauth_states::table.filter(oauth_states::expires_at.lt(now))).execute(conn).await?;
    diesel::insert_into(oauth_states::table)
        .values((
            oauth_states::state_hash.eq(&hash),
            oauth_states::team_id.eq(caller.team_id),
            oauth_states::user_id.eq(caller.user_id),
            oauth_states::expires_at.eq(now + OAUTH_STATE_LIFETIME),
        ))
        .execute(conn)
        .await?;
    let mut in_flight: Vec<String> = session.get(SESSION_OAUTH_STATES).await?.unwrap_or_default();
    in_flight.push(hash);
    let excess = in_flight.len().saturating_sub(MAX_STATES_PER_SESSION);
    in_flight.drain(..excess);
    session.insert(SESSION_OAUTH_STATES, in_flight).await?;
    Ok(state)
}

/// Uses up a state from TikTok's redirect. It must have been issued to this browser, for this
/// user, not be used yet and not be older than ten minutes. Returns `(team_id, user_id)`.
pub async fn consume_state(
    conn: &mut AsyncPgConnection,
    session: &Session,
    state: &str,
    user_id: Uuid,
    now: OffsetDateTime,
) -> Result<Uuid, ConnectProblem> {
    let hash = sha256_hex(state.as_bytes());
    let mut in_flight: Vec<String> = session.get(SESSION_OAUTH_STATES).await.ok().flatten().unwrap_or_default();
    let issued_here = in_flight.contains(&hash);
    in_flight.retain(|h| *h != hash);
    let _ = session.insert(SESSION_OAUTH_STATES, in_flight).await;
    if !issued_here {
        return Err(ConnectProblem::State);
    }
    // Deleting it is what makes it single-use, even against a concurrent replay.
    let row: Option<(Uuid, Uuid, OffsetDateTime)> =
        diesel::delete(oauth_states::table.filter(oauth_states::state_hash.eq(&hash)))
            .returning((oauth_states::team_id, oauth_states::user_id, oauth_states::expires_at))
            .get_result(conn)
            .await
            .optional()
            .map_err(|_| ConnectProblem::Unavailable)?;
    match row {
        Some((team_id, owner, expires_at)) if owner == user_id && expires_at > now => Ok(team_id),
        _ => Err(ConnectProblem::State),
    }
}

/// What TikTok says about the creator right after the code exchange.
pub struct ConnectionFacts {
    pub display_name: String,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    /// Only asked when Direct Post was granted: creator_info is a `video.publish` call.
    pub creator: Option<CreatorInfo>,
}

/// Reads who the creator is and, when the grant allows Direct Post, what they may post. Asks
/// only for what the granted scopes cover, so a partial grant is never refused for a field.
pub async fn connection_facts(tiktok: &TikTokClient, grant: &TokenGrant) -> Result<ConnectionFacts, ConnectProblem> {
    let allows = Allows::from_granted(&grant.scopes);
    let user = tiktok.user_info(&grant.access_token, allows.profile).await.map_err(|error| {
        tracing::warn!(error = %error, "user info failed right after connecting");
        ConnectProblem::TikTok
    })?;
    if user.open_id != grant.open_id {
        tracing::warn!("user info answered for another open_id than the token");
        return Err(ConnectProblem::TikTok);
    }
    // A creator who cannot post right now (daily cap, ban) still connects; the composer
    // fetches creator info again before every post anyway.
    let creator = if allows.direct_post {
        match tiktok.creator_info(&grant.access_token).await {
            Ok(info) => Some(info),
            Err(error) => {
                tracing::info!(error = %error, "creator info unavailable at connection time");
                None
            }
        }
    } else {
        None
    };
    Ok(facts_from(user, creator))
}

fn facts_from(user: UserInfo, creator: Option<CreatorInfo>) -> ConnectionFacts {
    let display_name = user
        .display_name
        .clone()
        .or_else(|| creator.as_ref().map(|c| c.creator_nickname.clone()))
        .unwrap_or_else(|| "TikTok account".to_owned());
    let username = user.username.clone().or_else(|| creator.as_ref().map(|c| c.creator_username.clone()));
    let avatar_url = user.avatar_url.clone().or_else(|| creator.as_ref().map(|c| c.creator_avatar_url.clone()));
    ConnectionFacts { display_name, username, avatar_url, creator }
}

/// Stores or updates the account for the team after a successful exchange.
pub async fn store_connection(
    conn: &mut AsyncPgConnection,
    cipher: &TokenCipher,
    team_id: Uuid,
    user_id: Uuid,
    grant: &TokenGrant,
    facts: &ConnectionFacts,
) -> Result<AccountView, ConnectProblem> {
    // Two callbacks for the same creator can race (two tabs, two teams). The unique indexes
    // decide: a live row in another team means "taken"; a row this team just inserted means
    // the second attempt updates it instead.
    for _ in 0..2 {
        let outcome = store_once(conn, cipher, team_id, user_id, grant, facts).await;
        match outcome {
            StoreOutcome::Stored(view) => return Ok(*view),
            StoreOutcome::Problem(problem) => return Err(problem),
            StoreOutcome::Raced => continue,
        }
    }
    Err(ConnectProblem::TikTok)
}

enum StoreOutcome {
    Stored(Box<AccountView>),
    Problem(ConnectProblem),
    /// Another callback inserted the same account meanwhile; try again as an update.
    Raced,
}

async fn store_once(
    conn: &mut AsyncPgConnection,
    cipher: &TokenCipher,
    team_id: Uuid,
    user_id: Uuid,
    grant: &TokenGrant,
    facts: &ConnectionFacts,
) -> StoreOutcome {
    let now = OffsetDateTime::now_utc();
    let creator_json = &facts.creator.as_ref().and_then(|c| serde_json::to_value(c).ok());
    let result = conn
        .transaction(async |conn| {
            let taken_elsewhere: i64 = tiktok_accounts::table
                .filter(tiktok_accounts::open_id.eq(&grant.open_id))
                .filter(tiktok_accounts::team_id.ne(team_id))
                .filter(tiktok_accounts::status.ne(AccountStatus::Disconnected.as_str()))
                .count()
                .get_result(conn)
                .await?;
            if taken_elsewhere > 0 {
                return Ok(Err(ConnectProblem::Taken));
            }
            let existing: Option<Uuid> = tiktok_accounts::table
                .filter(tiktok_accounts::team_id.eq(team_id))
                .filter(tiktok_accounts::open_id.eq(&grant.open_id))
                .select(tiktok_accounts::id)
                .for_update()
                .first(conn)
                .await
                .optional()?;
            let id = existing.unwrap_or_else(Uuid::new_v4);
            let owner = id.to_string();
            let seal = |token: &SecretToken| {
                cipher.encrypt(token.expose(), &owner).map_err(|e| {
                    tracing::error!(error = %e, "token encryption failed");
                    diesel::result::Error::RollbackTransaction
                })
            };
            let sealed_access = seal(&grant.access_token)?;
            let sealed_refresh = seal(&grant.refresh_token)?;
            let values = (
                tiktok_accounts::display_name.eq(&facts.display_name),
                tiktok_accounts::username.eq(&facts.username),
                tiktok_accounts::avatar_url.eq(&facts.avatar_url),
                tiktok_accounts::scopes.eq(grant.scopes.join(",")),
                tiktok_accounts::status.eq(AccountStatus::Active.as_str()),
                tiktok_accounts::status_reason.eq(None::<String>),
                tiktok_accounts::encrypted_access_token.eq(Some(&sealed_access)),
                tiktok_accounts::encrypted_refresh_token.eq(Some(&sealed_refresh)),
                tiktok_accounts::access_expires_at.eq(Some(now + Duration::seconds(grant.expires_in))),
                tiktok_accounts::refresh_expires_at.eq(Some(now + Duration::seconds(grant.refresh_expires_in))),
                tiktok_accounts::last_refreshed_at.eq(Some(now)),
                tiktok_accounts::creator_info.eq(creator_json),
                tiktok_accounts::creator_info_at.eq(creator_json.as_ref().map(|_| now)),
                tiktok_accounts::profile_read_at.eq(Some(now)),
                // A refresh of the old grant still in flight must not overwrite this one.
                tiktok_accounts::refreshing_until.eq(None::<OffsetDateTime>),
                tiktok_accounts::connected_by.eq(Some(user_id)),
                tiktok_accounts::updated_at.eq(now),
            );
            let (action, verb) = if existing.is_some() { ("account.reconnected", "Reconnected") } else { ("account.connected", "Connected") };
            let change = Change::new(Subject::Account, id, action, format!("{verb} the TikTok account {}.", facts.display_name))
                .values(None, Some(serde_json::json!({ "username": facts.username, "scopes": grant.scopes })));
            crate::audit::ssr::record_for(conn, team_id, Some(user_id), change).await?;
            if existing.is_some() {
                diesel::update(tiktok_accounts::table.find(id)).set(values).execute(conn).await?;
                // Reconnected: "needs reconnecting" is no longer news.
                crate::notifications::ssr::resolve(conn, None, Some(id), Some(user_id)).await?;
            } else {
                diesel::insert_into(tiktok_accounts::table)
                    .values((
                        tiktok_accounts::id.eq(id),
                        tiktok_accounts::team_id.eq(team_id),
                        tiktok_accounts::open_id.eq(&grant.open_id),
                        values,
                    ))
                    .execute(conn)
                    .await?;
            }
            Ok::<_, diesel::result::Error>(Ok(TikTokAccount::find(conn, id).await?.view()))
        })
        .await;
    match result {
        Ok(Ok(view)) => StoreOutcome::Stored(Box::new(view)),
        Ok(Err(problem)) => StoreOutcome::Problem(problem),
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, info)) => {
            match info.constraint_name() {
                Some("tiktok_accounts_live_open_id_key") => StoreOutcome::Problem(ConnectProblem::Taken),
                _ => StoreOutcome::Raced,
            }
        }
        Err(error) => {
            tracing::error!(error = %error, "storing a TikTok connection failed");
            StoreOutcome::Problem(ConnectProblem::Unavailable)
        }
    }
}

/// Revokes a grant Cadence is dropping (the connection failed after TikTok issued it, or it
/// allows no posting), so no token is left alive at TikTok that nobody holds. TikTok's revoke
/// removes the app for the creator altogether, taking every grant of theirs with it, so it is
/// skipped while Cadence holds a live connection of the same creator (another team's, or this
/// team's own when a reconnect failed); then the unused tokens are only discarded.
pub async fn revoke_dropped_grant(pool: &crate::db::DbPool, tiktok: &TikTokClient, grant: &TokenGrant) {
    let live_elsewhere = match pool.get().await {
        Ok(mut conn) => tiktok_accounts::table
            .filter(tiktok_accounts::open_id.eq(&grant.open_id))
            .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
            .count()
            .get_result::<i64>(&mut conn)
            .await
            .map(|count| count > 0),
        Err(error) => Err(diesel::result::Error::QueryBuilderError(error.to_string().into())),
    };
    match live_elsewhere {
        Ok(false) => match tiktok.revoke(&grant.access_token).await {
            Ok(()) => tracing::info!("revoked a TikTok grant that Cadence did not keep"),
            Err(error) => tracing::warn!(error = %error, "could not revoke a TikTok grant that Cadence did not keep"),
        },
        Ok(true) => tracing::info!("kept TikTok's authorization: another connection of this creator is live"),
        Err(error) => tracing::warn!(error = %error, "not revoking a dropped grant: cannot check for live connections"),
    }
}
