//! Keeps what TikTok shows of a connected creator fresh: name, username and avatar.
//!
//! TikTok's avatar URLs are signed and expire within hours (creator_info says two), so an
//! avatar stored at connection time soon shows as a broken image. The profile is read again
//! when a person asks for fresh details and, in the background, once it is an hour old.

use crate::{
    accounts::{
        ssr::{TikTokAccount, with_access_token},
        types::AccountStatus,
    },
    crypto::TokenCipher,
    db::{DbPool, schema::tiktok_accounts},
    error::AppResult,
    tiktok::{client::TikTokApp, error::TikTokError},
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// A profile older than this is read again by the background job.
pub const PROFILE_MAX_AGE: Duration = Duration::hours(1);
/// Profiles read per job run, so a large install spreads the reads out.
const PROFILES_PER_RUN: i64 = 50;

/// Reads user info (asking for the username only when `user.info.profile` was granted) and
/// stores the name, username and avatar TikTok answers with.
pub async fn refresh_profile(
    pool: &DbPool,
    app: &TikTokApp,
    cipher: &std::sync::Arc<TokenCipher>,
    account_id: Uuid,
) -> AppResult<Result<(), TikTokError>> {
    let account = TikTokAccount::find(&mut *pool.get().await?, account_id).await?;
    let with_profile = account.view().allows().profile;
    let client = app.client.clone();
    let answer = with_access_token(pool, &app.client, cipher, account_id, |token| {
        let client = client.clone();
        async move { client.user_info(&token, with_profile).await }
    })
    .await?;
    let user = match answer {
        Ok(user) => user,
        Err(error) => return Ok(Err(error)),
    };
    let now = OffsetDateTime::now_utc();
    let conn = &mut *pool.get().await?;
    diesel::update(tiktok_accounts::table.find(account_id))
        .set((
            tiktok_accounts::display_name.eq(user.display_name.unwrap_or(account.display_name)),
            tiktok_accounts::username.eq(user.username.or(account.username)),
            // A missing avatar replaces the old, expiring URL: no image beats a broken one.
            tiktok_accounts::avatar_url.eq(user.avatar_url),
            tiktok_accounts::profile_read_at.eq(Some(now)),
            tiktok_accounts::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(Ok(()))
}

/// Connected accounts whose profile is older than [`PROFILE_MAX_AGE`], stalest first.
pub async fn stale_profiles(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<Vec<Uuid>> {
    tiktok_accounts::table
        .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
        .filter(tiktok_accounts::profile_read_at.is_null().or(tiktok_accounts::profile_read_at.lt(now - PROFILE_MAX_AGE)))
        .order(tiktok_accounts::profile_read_at.asc().nulls_first())
        .select(tiktok_accounts::id)
        .limit(PROFILES_PER_RUN)
        .load(conn)
        .await
}

/// The background job's body: reads every stale profile once, one after another.
pub async fn refresh_stale_profiles(state: &crate::state::AppState) -> AppResult<usize> {
    let due = stale_profiles(&mut *state.pool.get().await?, OffsetDateTime::now_utc()).await?;
    let mut refreshed = 0;
    for account_id in due {
        match refresh_profile(&state.pool, &state.tiktok, &state.cipher, account_id).await {
            Ok(Ok(())) => refreshed += 1,
            Ok(Err(error)) => tracing::info!(account.id = %account_id, error = %error, "profile not refreshed"),
            Err(error) => tracing::info!(account.id = %account_id, error = %error, "profile not refreshed"),
        }
    }
    Ok(refreshed)
}
