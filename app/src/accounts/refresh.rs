//! Renewing an account's TikTok tokens exactly once without ever dropping the new grant.
//!
//! TikTok rotates the refresh token on every renewal, so two rules pull against each other:
//! the old token must be spent once only (two servers refreshing together would get the second
//! one refused and the account marked for reconnecting), and the new one must reach the
//! database even if PostgreSQL blips right after TikTok answered. A row lock held across
//! TikTok's call satisfied the first and broke the second (the grant lived and died with one
//! transaction). Instead:
//!
//! 1. a short `UPDATE … RETURNING` claims the account until `refreshing_until` (database clock);
//!    whoever finds it claimed waits for the claim to end and then looks again;
//! 2. TikTok is called with no transaction and no pooled connection held;
//! 3. the new tokens are written by one compare-and-set statement fenced on that claim, retried
//!    on a fresh connection with backoff while the grant stays in memory.

use super::ssr::{TikTokAccount, TokenUnreadable};
use crate::{
    accounts::types::AccountStatus,
    crypto::TokenCipher,
    db::{DbPool, schema::tiktok_accounts},
    error::{AppError, AppResult},
    publishing::lease::db_now_plus,
    tiktok::{client::{TikTokClient, TokenGrant}, error::TikTokError},
};
use diesel::{dsl::now, prelude::*};
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use std::{sync::Arc, time::Duration as StdDuration};
use time::{Duration, OffsetDateTime};
use tokio::time::Instant;
use uuid::Uuid;

/// Refresh no later than this before expiry, and earlier for short-lived tokens.
pub(crate) const MAX_REFRESH_MARGIN: Duration = Duration::minutes(30);

/// How long a claim lasts: TikTok's call (30 s at most) plus every retry of the write, with room
/// to spare, so a claim never lapses while its holder may still store a grant.
const CLAIM: StdDuration = StdDuration::from_secs(180);
/// How long the write of a new grant is retried before giving up (well inside [`CLAIM`]).
const STORE_RETRY_FOR: StdDuration = StdDuration::from_secs(90);
/// How long a caller waits for another server's refresh of the same account to end.
const WAIT_FOR_OTHER: StdDuration = StdDuration::from_secs(45);

/// What a refresh attempt did.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    Refreshed,
    /// Someone else refreshed it (or reconnected the account) meanwhile; nothing was sent, or
    /// what was sent is superseded by newer tokens.
    AlreadyFresh,
    /// TikTok refused the refresh token, or the stored tokens cannot be read; the account now
    /// needs reconnecting.
    NeedsReconnect,
    /// Not active (disconnected or already waiting for a reconnect).
    Skipped,
}

/// How long before expiry a token is renewed: a third of its lifetime, at most 30 minutes.
pub fn refresh_margin(last_refreshed_at: Option<OffsetDateTime>, access_expires_at: OffsetDateTime) -> Duration {
    let lifetime: Duration = last_refreshed_at.map(|at| access_expires_at - at).unwrap_or(MAX_REFRESH_MARGIN * 3);
    (lifetime / 3_i32).min(MAX_REFRESH_MARGIN).max(Duration::ZERO)
}

/// Held (shared) by every refresh in flight; shutdown takes it exclusively to wait for them.
static REFRESHES_IN_FLIGHT: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Waits until no token refresh is in flight (called at shutdown, after new work stopped), so a
/// grant TikTok already rotated is stored (or its retries run out) before the process ends.
pub async fn wait_for_refreshes() {
    drop(REFRESHES_IN_FLIGHT.write().await);
}

/// Renews the account's tokens (see the module notes for how it stays exactly-once).
/// With `force`, the token is renewed even if it does not expire soon, unless it was renewed
/// after `seen_refresh` (someone else just did it).
///
/// The work runs in its own task: once TikTok has rotated the token, nothing the caller does (a
/// closed browser tab, a timeout) can cancel the write that saves it.
pub async fn refresh_account(
    pool: &DbPool,
    tiktok: &TikTokClient,
    cipher: &Arc<TokenCipher>,
    account_id: Uuid,
    force: Option<Option<OffsetDateTime>>,
) -> AppResult<RefreshOutcome> {
    let (pool, tiktok, cipher) = (pool.clone(), tiktok.clone(), cipher.clone());
    tokio::spawn(async move {
        let _in_flight = REFRESHES_IN_FLIGHT.read().await;
        let (account, claim) = claim(&pool, account_id).await?;
        let outcome = refresh_claimed(&pool, &tiktok, &cipher, &account, claim, force).await;
        // Every path that wrote its result has ended the claim already; this ends it on the
        // others (fresh, skipped, TikTok unreachable) so the next refresh need not wait it out.
        if let Err(error) = release(&pool, account_id, claim).await {
            tracing::warn!(account.id = %account_id, error = %error, "ending a refresh claim failed; it lapses by itself");
        }
        crate::metrics::token_refresh_result(&outcome);
        outcome
    })
    .await
    .map_err(|e| AppError::internal("token refresh task failed", e))?
}

/// Claims the account for one refresh, waiting (without holding a connection) while another
/// task or server holds it. Returns the row as claimed and the claim's end, the fence of the
/// write that follows.
async fn claim(pool: &DbPool, account_id: Uuid) -> AppResult<(TikTokAccount, OffsetDateTime)> {
    let started = Instant::now();
    let mut pause = StdDuration::from_millis(20);
    loop {
        let mut conn = pool.get().await?;
        let claimed: Option<(TikTokAccount, Option<OffsetDateTime>)> = diesel::update(
            tiktok_accounts::table
                .find(account_id)
                .filter(tiktok_accounts::refreshing_until.is_null().or(tiktok_accounts::refreshing_until.le(now))),
        )
        .set(tiktok_accounts::refreshing_until.eq(db_now_plus(CLAIM)))
        .returning((TikTokAccount::as_returning(), tiktok_accounts::refreshing_until))
        .get_result(&mut conn)
        .await
        .optional()?;
        if let Some((account, Some(until))) = claimed {
            return Ok((account, until));
        }
        // Nothing claimed: either there is no such account, or someone is refreshing it.
        TikTokAccount::find(&mut conn, account_id).await?;
        drop(conn);
        if started.elapsed() >= WAIT_FOR_OTHER {
            tracing::warn!(account.id = %account_id, "another token refresh of this account is taking too long");
            return Err(AppError::Unavailable);
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(StdDuration::from_millis(500));
    }
}

async fn release(pool: &DbPool, account_id: Uuid, claim: OffsetDateTime) -> AppResult<()> {
    diesel::update(tiktok_accounts::table.find(account_id).filter(tiktok_accounts::refreshing_until.eq(Some(claim))))
        .set(tiktok_accounts::refreshing_until.eq(None::<OffsetDateTime>))
        .execute(&mut *pool.get().await?)
        .await?;
    Ok(())
}

async fn refresh_claimed(
    pool: &DbPool,
    tiktok: &TikTokClient,
    cipher: &TokenCipher,
    account: &TikTokAccount,
    claim: OffsetDateTime,
    force: Option<Option<OffsetDateTime>>,
) -> AppResult<RefreshOutcome> {
    if account.status() != AccountStatus::Active {
        return Ok(RefreshOutcome::Skipped);
    }
    let fresh = match force {
        Some(seen_refresh) => account.last_refreshed_at != seen_refresh,
        None => account.access_expires_at.is_some_and(|expires| {
            expires - OffsetDateTime::now_utc() > refresh_margin(account.last_refreshed_at, expires)
        }),
    };
    if fresh {
        return Ok(RefreshOutcome::AlreadyFresh);
    }
    let refresh_token = match account.refresh_token(cipher) {
        Ok(token) => token,
        Err(TokenUnreadable::Missing) => return Ok(RefreshOutcome::Skipped),
        Err(TokenUnreadable::Undecryptable) => {
            mark_unreadable(pool, account.id).await?;
            return Ok(RefreshOutcome::NeedsReconnect);
        }
    };
    // No connection is held across this call: a slow TikTok must not take one from the pages.
    match tiktok.refresh(&refresh_token).await {
        Ok(grant) => store_grant(pool, cipher, account.id, claim, &grant).await,
        Err(TikTokError::Unauthorized { code, .. }) => {
            let marked = mark_needs_reconnect(
                pool,
                account.id,
                Some(claim),
                "TikTok no longer accepts this connection (it may have expired or been revoked). \
                 Reconnect the account to keep posting.",
                "TikTok no longer accepts the connection. Reconnect it to keep posting.",
            )
            .await?;
            tracing::warn!(account.id = %account.id, tiktok.code = %code, "refresh refused; account needs reconnecting");
            Ok(if marked { RefreshOutcome::NeedsReconnect } else { RefreshOutcome::AlreadyFresh })
        }
        Err(error) => {
            tracing::warn!(account.id = %account.id, error = %error, "refresh failed; will retry");
            Err(AppError::Unavailable)
        }
    }
}

/// Writes the grant TikTok just issued, fenced on the claim, retrying on a fresh connection
/// until [`STORE_RETRY_FOR`] has passed: from here on the old refresh token is spent, so losing
/// this write would cost the creator a reconnect.
async fn store_grant(
    pool: &DbPool,
    cipher: &TokenCipher,
    account_id: Uuid,
    claim: OffsetDateTime,
    grant: &TokenGrant,
) -> AppResult<RefreshOutcome> {
    let owner = account_id.to_string();
    let seal = |token: &crate::crypto::SecretToken| {
        cipher.encrypt(token.expose(), &owner).map_err(|e| AppError::internal("token encryption failed", e))
    };
    let (sealed_access, sealed_refresh) = (seal(&grant.access_token)?, seal(&grant.refresh_token)?);
    let refreshed_at = OffsetDateTime::now_utc();
    let deadline = Instant::now() + STORE_RETRY_FOR;
    let mut pause = StdDuration::from_millis(100);
    for attempt in 1.. {
        let written: AppResult<usize> = async {
            let mut conn = pool.get().await?;
            Ok(diesel::update(
                tiktok_accounts::table
                    .find(account_id)
                    .filter(tiktok_accounts::refreshing_until.eq(Some(claim))),
            )
            .set((
                tiktok_accounts::encrypted_access_token.eq(Some(&sealed_access)),
                tiktok_accounts::encrypted_refresh_token.eq(Some(&sealed_refresh)),
                tiktok_accounts::access_expires_at.eq(Some(refreshed_at + Duration::seconds(grant.expires_in))),
                tiktok_accounts::refresh_expires_at.eq(Some(refreshed_at + Duration::seconds(grant.refresh_expires_in))),
                tiktok_accounts::scopes.eq(grant.scopes.join(",")),
                tiktok_accounts::last_refreshed_at.eq(Some(refreshed_at)),
                tiktok_accounts::refreshing_until.eq(None::<OffsetDateTime>),
                tiktok_accounts::updated_at.eq(refreshed_at),
            ))
            .execute(&mut conn)
            .await?)
        }
        .await;
        match written {
            Ok(1..) => {
                tracing::info!(account.id = %account_id, expires_in = grant.expires_in, attempt, "TikTok token refreshed");
                return Ok(RefreshOutcome::Refreshed);
            }
            Ok(0) => return Ok(claim_lost(pool, account_id, &sealed_refresh).await?),
            Err(error) if Instant::now() + pause < deadline => {
                tracing::warn!(account.id = %account_id, error = %error, attempt, "storing the refreshed token failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(StdDuration::from_secs(5));
            }
            Err(error) => {
                tracing::error!(account.id = %account_id, error = %error, attempt, "TikTok rotated the refresh token but storing it kept failing; the account will need reconnecting");
                return Err(error);
            }
        }
    }
    unreachable!("the attempts never run out before the deadline returns")
}

/// The fenced write matched nothing. Either an earlier attempt did commit and only its answer
/// was lost (the stored token is ours, sealed with its own nonce), or the account changed under
/// the claim: reconnected or disconnected, and the newer state wins.
async fn claim_lost(pool: &DbPool, account_id: Uuid, sealed_refresh: &str) -> AppResult<RefreshOutcome> {
    let stored: Option<String> = tiktok_accounts::table
        .find(account_id)
        .select(tiktok_accounts::encrypted_refresh_token)
        .first(&mut *pool.get().await?)
        .await?;
    if stored.as_deref() == Some(sealed_refresh) {
        tracing::info!(account.id = %account_id, "TikTok token refreshed (stored by an attempt whose answer was lost)");
        return Ok(RefreshOutcome::Refreshed);
    }
    tracing::warn!(account.id = %account_id, "the account changed during a token refresh; its newer tokens are kept");
    Ok(RefreshOutcome::AlreadyFresh)
}

/// Marks an active account as needing a reconnect, with a reason for the Accounts page and a
/// notification for the team. With `claim`, only while that refresh claim still holds (it also
/// ends the claim). Returns whether the account was marked.
pub(crate) async fn mark_needs_reconnect(
    pool: &DbPool,
    account_id: Uuid,
    claim: Option<OffsetDateTime>,
    reason: &str,
    notice: &str,
) -> AppResult<bool> {
    let mut conn = pool.get().await?;
    conn.transaction(async |conn| {
        // Without a claim to check, `unfenced` makes the claim's condition true.
        let unfenced = claim.is_none().into_sql::<diesel::sql_types::Bool>();
        let marked = diesel::update(
            tiktok_accounts::table
                .find(account_id)
                .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
                .filter(tiktok_accounts::refreshing_until.eq(claim).or(unfenced)),
        )
            .set((
                tiktok_accounts::status.eq(AccountStatus::NeedsReconnect.as_str()),
                tiktok_accounts::status_reason.eq(Some(reason)),
                tiktok_accounts::refreshing_until.eq(None::<OffsetDateTime>),
                tiktok_accounts::updated_at.eq(OffsetDateTime::now_utc()),
            ))
            .execute(conn)
            .await?;
        if marked > 0 {
            crate::notifications::ssr::notify_account(conn, account_id, notice).await?;
        }
        Ok::<_, AppError>(marked > 0)
    })
    .await
}

/// The sentence for tokens sealed under a key this server does not have.
pub(crate) const UNREADABLE_REASON: &str = "Cadence can no longer read this account's saved TikTok sign-in (it was \
     stored under an encryption key this server does not have). Reconnect the account to keep posting.";

/// Marks an account whose stored tokens do not decrypt as needing a reconnect.
pub(crate) async fn mark_unreadable(pool: &DbPool, account_id: Uuid) -> AppResult<bool> {
    tracing::error!(account.id = %account_id, "stored TikTok tokens do not decrypt with any configured key; account needs reconnecting");
    mark_needs_reconnect(
        pool,
        account_id,
        None,
        UNREADABLE_REASON,
        "Its saved TikTok sign-in cannot be read with this server's keys. Reconnect it to keep posting.",
    )
    .await
}

#[cfg(test)]
mod tests {
    // Not a glob: diesel's `now` would turn `let now = …` into a pattern.
    use super::{CLAIM, Duration, OffsetDateTime, STORE_RETRY_FOR, StdDuration, refresh_margin};

    #[test]
    fn refresh_margin_is_a_third_of_the_lifetime_capped_at_thirty_minutes() {
        let now = OffsetDateTime::now_utc();
        assert_eq!(refresh_margin(Some(now), now + Duration::hours(2)), Duration::minutes(30));
        assert_eq!(refresh_margin(Some(now), now + Duration::seconds(120)), Duration::seconds(40));
        assert_eq!(refresh_margin(None, now), Duration::minutes(30));
    }

    #[test]
    fn a_claim_outlasts_every_retry_of_the_write() {
        // TikTok's call may take 30 s; the write's retries must end before the claim lapses,
        // or another server could spend the rotated-away token.
        assert!(STORE_RETRY_FOR + StdDuration::from_secs(30) + StdDuration::from_secs(10) < CLAIM);
    }
}
