//! The soak's end: every post published once or stopped with a reason, TikTok's record agreeing
//! with Cadence's, and no refresh token lost but to a kill mid-rotation.

use crate::util::{
    TestApp,
    ledger::{self, assert_tiktok_agrees, waits_for_tomorrow},
    sandbox::TestSandbox,
};
use app::{
    accounts::{
        ssr::{RefreshOutcome, TikTokAccount, refresh_account},
        types::AccountStatus,
    },
    db::schema::tiktok_accounts,
    posts::types::PostState,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::collections::{BTreeMap, BTreeSet};
use time::OffsetDateTime;
use uuid::Uuid;

/// What the checks counted, for the summary line.
pub struct Verdict {
    pub by_state: BTreeMap<&'static str, usize>,
    pub revoked_failed: usize,
    pub refreshes_during: usize,
    pub renewed_at_end: usize,
    pub lost_to_kills: Vec<String>,
}

/// Checks Cadence's and TikTok's records of the posts `ids` (panicking on any breach) after a
/// run of `elapsed` seconds in which creators `revoked` access and servers were killed at
/// `killed_at`.
pub async fn check(
    app: &TestApp,
    sandbox: &TestSandbox,
    ids: &[Uuid],
    revoked: &BTreeSet<String>,
    killed_at: &[OffsetDateTime],
    elapsed: f64,
    log: &std::path::Path,
) -> Verdict {
    // Cadence's record.
    let finals = ledger::load_posts(app, ids).await;
    let mut by_state: BTreeMap<&'static str, usize> = BTreeMap::new();
    for post in &finals {
        let (id, state) = (post.id, post.state());
        if waits_for_tomorrow(post) {
            // Re-sends after faults used up Cadence's count of the creator's ~15 daily posts: the
            // post waits for tomorrow's room, and its timeline says so.
            let events = ledger::timeline(app, id).await;
            assert!(events.last().is_some_and(|(_, message)| message.contains("posts a day")), "{events:#?}");
            *by_state.entry("waiting for tomorrow").or_default() += 1;
            continue;
        }
        if !state.is_settled() {
            let events = ledger::timeline(app, id).await;
            let last = &events[events.len().saturating_sub(10)..];
            panic!("post {id} still {state:?} after {elapsed:.0} s: {post:?}\n{last:#?}\nsee {}", log.display());
        }
        *by_state.entry(state.as_str()).or_default() += 1;
        match state {
            PostState::Published => {}
            PostState::Failed | PostState::Unconfirmed => {
                let message = post.fail_message.clone().unwrap_or_default();
                assert!(message.len() > 20, "post {id} stopped without a reason a person can act on: {message:?}");
            }
            other => panic!("post {id} ended {other:?}"),
        }
    }
    // TikTok's record.
    assert_tiktok_agrees(sandbox, &finals);

    // Posts of creators who revoked access and had not gone out stopped with a reason (checked
    // above); count them for the summary.
    let connected: BTreeMap<Uuid, TikTokAccount> = tiktok_accounts::table
        .select(TikTokAccount::as_select())
        .load(&mut app.conn().await)
        .await
        .unwrap()
        .into_iter()
        .map(|account| (account.id, account))
        .collect();
    let revoked_failed = finals
        .iter()
        .filter(|post| post.state() == PostState::Failed && revoked.contains(&connected[&post.account_id].open_id))
        .count();

    // No refresh token lost: every account whose creator did not revoke is still connected, and
    // its stored refresh token is the one TikTok will take now. The one exception the design
    // cannot close: under strict rotation, a SIGKILL after TikTok issued the new pair and before
    // the commit that stores it loses that pair (it existed only in the killed process). Such
    // an account must show exactly that in TikTok's log: its stored refresh token was spent
    // successfully moments before a kill. It is then flagged for reconnecting, never silent.
    // Stalls and restarts kill nothing, so there no loss at all is allowed.
    let refreshes_during = sandbox.sandbox.requests().iter().filter(|r| ledger::renewed(r)).count();
    let mut renewed_at_end = 0;
    let mut lost_to_kills = Vec::new();
    for account in connected.values() {
        if revoked.contains(&account.open_id) {
            continue;
        }
        // The request log redacts refresh tokens; TikTok's own record says when one was spent.
        // The sandbox may handle a request that reached its socket just before the sender
        // died, so the kill can be logged a little before the rotation it interrupted.
        let explain_loss = |account: &TikTokAccount| {
            let sealed = account.encrypted_refresh_token.as_deref().expect("tokens are kept until a reconnect");
            let stored = app.state.cipher.decrypt(sealed, &account.id.to_string()).unwrap();
            let spent_at = sandbox.sandbox.refresh_token_used_at(stored.expose());
            let explained = spent_at.is_some_and(|at| killed_at.iter().any(|kill| (*kill - at).abs() < time::Duration::seconds(2)));
            assert!(
                explained,
                "{} lost its refresh token without a kill to explain it: {:?}, spent at {spent_at:?}, kills at {killed_at:?}",
                account.display_name, account.status_reason
            );
        };
        if account.status() != AccountStatus::Active {
            explain_loss(account);
            lost_to_kills.push(account.display_name.clone());
            continue;
        }
        // A server killed in the middle of a renewal leaves its claim until it lapses (3 min):
        // "try again" until then is a wait, not a lost token.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(240);
        let outcome = loop {
            match refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account.id, Some(account.last_refreshed_at)).await {
                Err(app::error::AppError::Unavailable) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                other => break other.unwrap(),
            }
        };
        if outcome == RefreshOutcome::NeedsReconnect {
            // Spent by a renewal a kill cut off, found only now: the same loss, told the same way.
            explain_loss(account);
            lost_to_kills.push(account.display_name.clone());
            continue;
        }
        assert!(matches!(outcome, RefreshOutcome::Refreshed), "{}: {outcome:?}", account.display_name);
        renewed_at_end += 1;
    }
    assert!(refreshes_during > 0, "tokens were renewed during the soak");
    Verdict { by_state, revoked_failed, refreshes_during, renewed_at_end, lost_to_kills }
}
