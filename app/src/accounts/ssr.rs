//! Server side of TikTok accounts: the account row, calling TikTok with a token (refreshing once
//! on `access_token_invalid`), disconnecting, and acting on webhook events. Connecting lives in
//! [`super::connect`], renewing tokens in [`super::refresh`].
//!
//! Tokens are sealed with the account's id as associated data and only ever decrypted into a
//! [`SecretToken`] for the one call that needs it.

use crate::{
    accounts::types::{AccountStatus, AccountView},
    crypto::{SecretToken, TokenCipher, sha256_hex},
    db::schema::{tiktok_accounts, tiktok_webhook_events},
    error::{AppError, AppResult},
    teams::ssr::Caller,
    tiktok::{
        client::{TikTokApp, TikTokClient},
        error::{TikTokError, for_people},
        rate_limit::{LimitedEndpoint, try_acquire},
        types::CreatorInfo,
    },
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use std::{future::Future, time::Duration as StdDuration};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

pub use super::refresh::{RefreshOutcome, refresh_account, refresh_margin, wait_for_refreshes};
use super::refresh::{MAX_REFRESH_MARGIN, UNREADABLE_REASON, mark_unreadable};

/// Why a stored token cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenUnreadable {
    /// No token is stored (disconnected).
    Missing,
    /// Sealed under a key this server does not have, or damaged: only a reconnect helps.
    Undecryptable,
}

/// A row of `tiktok_accounts`. Holds sealed tokens, so it is never serialised.
#[derive(Queryable, Selectable, Identifiable, Debug, Clone)]
#[diesel(table_name = tiktok_accounts, check_for_backend(diesel::pg::Pg))]
pub struct TikTokAccount {
    pub id: Uuid,
    pub team_id: Uuid,
    pub open_id: String,
    pub display_name: String,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    pub scopes: String,
    pub status: String,
    pub status_reason: Option<String>,
    pub encrypted_access_token: Option<String>,
    pub encrypted_refresh_token: Option<String>,
    pub access_expires_at: Option<OffsetDateTime>,
    pub refresh_expires_at: Option<OffsetDateTime>,
    pub last_refreshed_at: Option<OffsetDateTime>,
    pub creator_info: Option<serde_json::Value>,
    pub creator_info_at: Option<OffsetDateTime>,
    pub connected_by: Option<Uuid>,
    pub created_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
}

impl TikTokAccount {
    pub fn status(&self) -> AccountStatus {
        AccountStatus::parse(&self.status).unwrap_or(AccountStatus::Disconnected)
    }

    pub fn view(&self) -> AccountView {
        let mut view = AccountView {
            id: self.id,
            display_name: self.display_name.clone(),
            username: self.username.clone(),
            avatar_url: self.avatar_url.clone(),
            status: self.status(),
            status_reason: self.status_reason.clone(),
            scopes: split_scopes(&self.scopes),
            access_expires_at: self.access_expires_at,
            refresh_expires_at: self.refresh_expires_at,
            grant_end: None,
            last_refreshed_at: self.last_refreshed_at,
            creator_info: self.creator_info.clone().and_then(|value| serde_json::from_value(value).ok()),
            creator_info_at: self.creator_info_at,
            connected_at: self.created_at,
        };
        view.grant_end = view.grant_end_at(OffsetDateTime::now_utc());
        view
    }

    /// The access token, decrypted for one call; an unreadable one is a sentence, not a 500.
    pub fn access_token(&self, cipher: &TokenCipher) -> AppResult<SecretToken> {
        self.open(cipher, self.encrypted_access_token.as_deref()).map_err(|why| match why {
            TokenUnreadable::Missing => not_connected(self),
            TokenUnreadable::Undecryptable => AppError::Conflict(format!("{}: {UNREADABLE_REASON}", self.display_name)),
        })
    }

    pub(crate) fn refresh_token(&self, cipher: &TokenCipher) -> Result<SecretToken, TokenUnreadable> {
        self.open(cipher, self.encrypted_refresh_token.as_deref())
    }

    fn open(&self, cipher: &TokenCipher, sealed: Option<&str>) -> Result<SecretToken, TokenUnreadable> {
        let sealed = sealed.ok_or(TokenUnreadable::Missing)?;
        cipher.decrypt(sealed, &self.id.to_string()).map_err(|error| {
            // The key id is not secret and is what an operator needs; the value never is logged.
            tracing::warn!(account.id = %self.id, error = %error, "a stored TikTok token does not decrypt");
            TokenUnreadable::Undecryptable
        })
    }

    pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<TikTokAccount> {
        tiktok_accounts::table.find(id).select(TikTokAccount::as_select()).first(conn).await
    }

    /// The account if it belongs to the caller's team; another team's account is "not found".
    pub async fn find_for_team(conn: &mut AsyncPgConnection, team_id: Uuid, id: Uuid) -> AppResult<TikTokAccount> {
        tiktok_accounts::table
            .filter(tiktok_accounts::id.eq(id))
            .filter(tiktok_accounts::team_id.eq(team_id))
            .select(TikTokAccount::as_select())
            .first(conn)
            .await
            .optional()?
            .ok_or_else(|| AppError::NotFound("TikTok account".into()))
    }
}

fn not_connected(account: &TikTokAccount) -> AppError {
    AppError::Conflict(format!("{} is not connected. Reconnect it on the Accounts page.", account.display_name))
}

fn split_scopes(scopes: &str) -> Vec<String> {
    scopes.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// The team's accounts, connected ones first.
/// Takes the connection shared, so a page can send this with its other queries (pipelined).
pub async fn list_for_team(conn: &AsyncPgConnection, team_id: Uuid) -> AppResult<Vec<AccountView>> {
    let rows: Vec<TikTokAccount> = tiktok_accounts::table
        .filter(tiktok_accounts::team_id.eq(team_id))
        .order((tiktok_accounts::status.asc(), tiktok_accounts::display_name.asc()))
        .select(TikTokAccount::as_select())
        .load(&mut &*conn)
        .await?;
    Ok(rows.iter().map(TikTokAccount::view).collect())
}

/// Ids of active accounts whose access token should be renewed now.
pub async fn due_for_refresh(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<(Uuid, Option<OffsetDateTime>, Option<OffsetDateTime>)> = tiktok_accounts::table
        .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
        .filter(tiktok_accounts::access_expires_at.lt(now + MAX_REFRESH_MARGIN))
        // One being refreshed elsewhere is not due here.
        .filter(tiktok_accounts::refreshing_until.is_null().or(tiktok_accounts::refreshing_until.le(diesel::dsl::now)))
        .select((tiktok_accounts::id, tiktok_accounts::last_refreshed_at, tiktok_accounts::access_expires_at))
        .load(conn)
        .await?;
    Ok(rows
        .into_iter()
        .filter(|(_, last, expires)| expires.is_some_and(|e| e - now <= refresh_margin(*last, e)))
        .map(|(id, _, _)| id)
        .collect())
}

/// Runs `call` with the account's access token; if TikTok says the token is invalid, refreshes
/// once (under the row lock) and tries again with the new token.
pub async fn with_access_token<T, F, Fut>(
    pool: &crate::db::DbPool,
    tiktok: &TikTokClient,
    cipher: &std::sync::Arc<TokenCipher>,
    account_id: Uuid,
    call: F,
) -> AppResult<Result<T, TikTokError>>
where
    F: Fn(SecretToken) -> Fut,
    Fut: Future<Output = Result<T, TikTokError>>,
{
    let account = TikTokAccount::find(&mut *pool.get().await?, account_id).await?;
    if account.status() != AccountStatus::Active {
        return Err(not_connected(&account));
    }
    match call(usable_access_token(pool, cipher, &account).await?).await {
        Err(TikTokError::Unauthorized { code, .. }) if code == "access_token_invalid" => {
            match refresh_account(pool, tiktok, cipher, account_id, Some(account.last_refreshed_at)).await? {
                RefreshOutcome::Refreshed | RefreshOutcome::AlreadyFresh => {
                    let account = TikTokAccount::find(&mut *pool.get().await?, account_id).await?;
                    Ok(call(usable_access_token(pool, cipher, &account).await?).await)
                }
                RefreshOutcome::NeedsReconnect | RefreshOutcome::Skipped => Err(not_connected(&account)),
            }
        }
        other => Ok(other),
    }
}

/// The access token for a call; one that no key opens marks the account as needing a reconnect
/// (with a notification) and answers with that sentence.
async fn usable_access_token(pool: &crate::db::DbPool, cipher: &TokenCipher, account: &TikTokAccount) -> AppResult<SecretToken> {
    let token = account.access_token(cipher);
    if token.is_err() && matches!(account.open(cipher, account.encrypted_access_token.as_deref()), Err(TokenUnreadable::Undecryptable)) {
        mark_unreadable(pool, account.id).await?;
    }
    token
}

/// Fetches creator info again and stores it with the account, within TikTok's 20 look-ups a
/// minute per token: a full window answers as TikTok's own throttling would, without calling.
pub async fn refresh_creator_info(
    pool: &crate::db::DbPool,
    app: &TikTokApp,
    cipher: &std::sync::Arc<TokenCipher>,
    account_id: Uuid,
) -> AppResult<Result<CreatorInfo, TikTokError>> {
    let now = OffsetDateTime::now_utc();
    if let Err(wait) = try_acquire(&mut *pool.get().await?, account_id, LimitedEndpoint::CreatorInfo, now).await? {
        return Ok(Err(TikTokError::RateLimited { retry_after: Some(wait) }));
    }
    let client = app.client.clone();
    let result = with_access_token(pool, &app.client, cipher, account_id, |token| {
        let client = client.clone();
        async move { client.creator_info(&token).await }
    })
    .await?;
    if let Ok(info) = &result {
        let now = OffsetDateTime::now_utc();
        let conn = &mut *pool.get().await?;
        diesel::update(tiktok_accounts::table.find(account_id))
            .set((
                tiktok_accounts::creator_info.eq(serde_json::to_value(info).ok()),
                tiktok_accounts::creator_info_at.eq(Some(now)),
                tiktok_accounts::updated_at.eq(now),
            ))
            .execute(conn)
            .await?;
    }
    Ok(result)
}

/// What the creator may post right now (§9 rule 1), asked fresh and stored with the account;
/// TikTok's refusals come back as sentences.
pub async fn fresh_creator_info(state: &crate::state::AppState, account_id: Uuid) -> AppResult<CreatorInfo> {
    refresh_creator_info(&state.pool, &state.tiktok, &state.cipher, account_id).await?.map_err(|e| for_people(&e))
}

/// Revokes the grant at TikTok, then deletes the tokens; the row (and so the post history)
/// stays. If TikTok cannot be reached nothing changes, so the grant is never left dangling.
pub async fn disconnect(
    pool: &crate::db::DbPool,
    tiktok: &TikTokClient,
    cipher: &std::sync::Arc<TokenCipher>,
    caller: Caller,
    account_id: Uuid,
) -> AppResult<()> {
    let unreachable = || {
        AppError::Conflict(
            "TikTok could not be reached to revoke access, so the account is still connected. Please try again.".into(),
        )
    };
    let account = TikTokAccount::find_for_team(&mut *pool.get().await?, caller.team_id, account_id).await?;
    if account.status() == AccountStatus::Disconnected {
        return Ok(());
    }
    // TikTok refuses to revoke with an expired access token, so renew it first when needed.
    let expired = account.access_expires_at.is_none_or(|at| at <= OffsetDateTime::now_utc());
    if expired && account.status() == AccountStatus::Active {
        match refresh_account(pool, tiktok, cipher, account_id, Some(account.last_refreshed_at)).await {
            // A refused refresh means the grant is already dead at TikTok.
            Ok(_) => {}
            Err(_) => return Err(unreachable()),
        }
    }
    // No pooled connection is held while TikTok answers: a slow revoke must not take one
    // from the pages.
    let account = TikTokAccount::find(&mut *pool.get().await?, account_id).await?;
    let reason = match account.access_token(cipher) {
        Ok(token) => match tiktok.revoke(&token).await {
            Ok(()) => "Disconnected in Cadence; access was revoked at TikTok.",
            // TikTok answered but did not revoke: it no longer knows the token (expired, revoked,
            // or the app was removed; TikTok documents `invalid_request` for these). Cadence
            // drops its copy all the same, so a disconnect never gets stuck on a dead grant.
            Err(error @ (TikTokError::Unauthorized { .. } | TikTokError::Rejected { .. })) => {
                tracing::info!(account.id = %account_id, error = %error, "TikTok did not revoke; the grant is already unusable");
                "Disconnected in Cadence; TikTok no longer held this grant."
            }
            Err(error) => {
                tracing::warn!(account.id = %account_id, error = %error, "revoking at TikTok failed; nothing changed");
                return Err(unreachable());
            }
        },
        // Sealed under a key this server no longer has: nothing to revoke with, nothing to keep.
        Err(_) => "Disconnected in Cadence; its tokens could not be read, so TikTok was not asked to revoke them.",
    };
    let mut conn = pool.get().await?;
    conn.transaction(async |conn| {
        mark_disconnected(conn, &[account_id], reason).await?;
        let change = crate::audit::ssr::Change::new(
            crate::audit::types::Subject::Account,
            account_id,
            "account.disconnected",
            format!("Disconnected the TikTok account {}. {reason}", account.display_name),
        );
        crate::audit::ssr::record(conn, caller, change).await
    })
    .await?;
    tracing::info!(account.id = %account_id, team.id = %caller.team_id, "TikTok account disconnected");
    Ok(())
}

async fn mark_disconnected(conn: &mut AsyncPgConnection, ids: &[Uuid], reason: &str) -> QueryResult<usize> {
    diesel::update(tiktok_accounts::table.filter(tiktok_accounts::id.eq_any(ids)))
        .set((
            tiktok_accounts::status.eq(AccountStatus::Disconnected.as_str()),
            tiktok_accounts::status_reason.eq(Some(reason)),
            tiktok_accounts::encrypted_access_token.eq(None::<String>),
            tiktok_accounts::encrypted_refresh_token.eq(None::<String>),
            tiktok_accounts::access_expires_at.eq(None::<OffsetDateTime>),
            tiktok_accounts::refresh_expires_at.eq(None::<OffsetDateTime>),
            // A refresh in flight must not write its tokens back into a disconnected account.
            tiktok_accounts::refreshing_until.eq(None::<OffsetDateTime>),
            tiktok_accounts::updated_at.eq(OffsetDateTime::now_utc()),
        ))
        .execute(conn)
        .await
}

/// A verified webhook delivery, as parsed from TikTok's envelope (§8.1).
#[derive(Debug, serde::Deserialize)]
pub struct WebhookEnvelope {
    pub event: String,
    pub user_openid: String,
    pub create_time: i64,
    /// A JSON document inside a string.
    pub content: String,
}

/// What became of a delivery.
#[derive(Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    Processed,
    /// The same signed body was seen before (TikTok redelivers; attackers replay).
    Duplicate,
}

/// How long a stored delivery is kept for spotting redeliveries and replays: past the oldest
/// signature `verify` accepts (`MAX_AGE_SECS`, 73 h), a replay fails its age check anyway.
pub const WEBHOOK_EVENT_RETENTION: Duration = Duration::days(7);

/// Deletes deliveries older than [`WEBHOOK_EVENT_RETENTION`] (a clean-up job), so the table
/// does not grow for ever.
pub async fn prune_webhook_events(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(tiktok_webhook_events::table.filter(tiktok_webhook_events::received_at.lt(now - WEBHOOK_EVENT_RETENTION)))
        .execute(conn)
        .await
}

/// Stores a verified event once and acts on it: `authorization.removed` disconnects the
/// account at once; `post.publish.*` events move the post they name.
pub async fn record_webhook(conn: &mut AsyncPgConnection, raw_body: &[u8], envelope: WebhookEnvelope) -> AppResult<WebhookOutcome> {
    let content: serde_json::Value = serde_json::from_str(&envelope.content)
        .map_err(|_| AppError::invalid("content", "webhook content is not a JSON document"))?;
    let body_hash = sha256_hex(raw_body);
    conn.transaction(async |conn| {
        let inserted = diesel::insert_into(tiktok_webhook_events::table)
            .values((
                tiktok_webhook_events::body_sha256.eq(&body_hash),
                tiktok_webhook_events::event.eq(&envelope.event),
                tiktok_webhook_events::user_openid.eq(&envelope.user_openid),
                tiktok_webhook_events::content.eq(&content),
                tiktok_webhook_events::created_time.eq(envelope.create_time),
            ))
            .on_conflict_do_nothing()
            .execute(conn)
            .await?;
        if inserted == 0 {
            return Ok(WebhookOutcome::Duplicate);
        }
        if envelope.event == "authorization.removed" {
            // A delivery retried for hours must not wipe a connection made after the removal.
            let removed_at = OffsetDateTime::from_unix_timestamp(envelope.create_time).unwrap_or(OffsetDateTime::now_utc());
            let ids: Vec<Uuid> = tiktok_accounts::table
                .filter(tiktok_accounts::open_id.eq(&envelope.user_openid))
                .filter(tiktok_accounts::status.ne(AccountStatus::Disconnected.as_str()))
                // Tokens obtained after the removal (a reconnection) are newer than it.
                .filter(
                    tiktok_accounts::last_refreshed_at
                        .is_null()
                        .or(tiktok_accounts::last_refreshed_at.le(removed_at + Duration::seconds(1))),
                )
                .select(tiktok_accounts::id)
                .load(conn)
                .await?;
            let reason = removal_reason(content.get("reason").and_then(serde_json::Value::as_i64));
            mark_disconnected(conn, &ids, reason).await?;
            diesel::update(tiktok_webhook_events::table.filter(tiktok_webhook_events::body_sha256.eq(&body_hash)))
                .set(tiktok_webhook_events::processed_at.eq(Some(OffsetDateTime::now_utc())))
                .execute(conn)
                .await?;
            tracing::info!(accounts = ids.len(), "TikTok removed Cadence's access for a creator");
        } else if envelope.event.starts_with("post.publish.")
            && crate::posts::ssr::apply_publish_event(conn, &envelope.event, &content).await?
        {
            diesel::update(tiktok_webhook_events::table.filter(tiktok_webhook_events::body_sha256.eq(&body_hash)))
                .set(tiktok_webhook_events::processed_at.eq(Some(OffsetDateTime::now_utc())))
                .execute(conn)
                .await?;
        }
        Ok(WebhookOutcome::Processed)
    })
    .await
}

/// TikTok's `authorization.removed` reasons (§8.2) as sentences.
pub fn removal_reason(code: Option<i64>) -> &'static str {
    match code {
        Some(1) => "The creator disconnected Cadence in the TikTok app.",
        Some(2) => "The TikTok account was deleted.",
        Some(3) => "TikTok removed access because the creator's age changed.",
        Some(4) => "The TikTok account was banned.",
        Some(5) => "Access was revoked by Cadence.",
        _ => "TikTok removed Cadence's access to this account.",
    }
}

/// Re-seals every stored token with the current key (after adding a new first key).
/// Returns how many accounts were rewritten.
pub async fn reencrypt_all(conn: &mut AsyncPgConnection, cipher: &TokenCipher) -> AppResult<usize> {
    let rows: Vec<TikTokAccount> = tiktok_accounts::table
        .filter(tiktok_accounts::encrypted_refresh_token.is_not_null())
        .select(TikTokAccount::as_select())
        .load(conn)
        .await?;
    let mut rewritten = 0;
    for account in rows {
        let stale = [&account.encrypted_access_token, &account.encrypted_refresh_token]
            .into_iter()
            .flatten()
            .any(|sealed| cipher.needs_reencryption(sealed));
        if !stale {
            continue;
        }
        conn.transaction(async |conn| {
            let locked: TikTokAccount = tiktok_accounts::table
                .find(account.id)
                .select(TikTokAccount::as_select())
                .for_update()
                .first(conn)
                .await?;
            let owner = locked.id.to_string();
            let reseal = |sealed: &Option<String>| -> AppResult<Option<String>> {
                sealed
                    .as_deref()
                    .map(|value| {
                        let plain = cipher.decrypt(value, &owner).map_err(|e| AppError::internal("token does not decrypt", e))?;
                        cipher.encrypt(plain.expose(), &owner).map_err(|e| AppError::internal("token encryption failed", e))
                    })
                    .transpose()
            };
            diesel::update(tiktok_accounts::table.find(locked.id))
                .set((
                    tiktok_accounts::encrypted_access_token.eq(reseal(&locked.encrypted_access_token)?),
                    tiktok_accounts::encrypted_refresh_token.eq(reseal(&locked.encrypted_refresh_token)?),
                ))
                .execute(conn)
                .await?;
            Ok::<_, AppError>(())
        })
        .await?;
        rewritten += 1;
    }
    Ok(rewritten)
}

/// Pause between scheduled refreshes of different accounts, so one server does not burst.
pub const REFRESH_SPACING: StdDuration = StdDuration::from_millis(50);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removal_reasons_read_as_sentences() {
        assert_eq!(removal_reason(Some(1)), "The creator disconnected Cadence in the TikTok app.");
        assert_eq!(removal_reason(Some(99)), "TikTok removed Cadence's access to this account.");
    }
}
