//! TikTok's token endpoint behind the circuit breaker: a run of failures opens it, refreshes
//! then stop calling TikTok for the cool-down (TikTok's request log says so), and one trial
//! after it closes the breaker again once TikTok answers.

use crate::util::{
    TestApp,
    sandbox::{connected_account, fast_app_with_sandbox},
};
use app::{
    accounts::{
        ssr::{RefreshOutcome, TikTokAccount, refresh_account},
        types::AccountStatus,
    },
    error::{AppError, AppResult},
    tiktok::breaker::{COOL_DOWN, FAILURES_TO_OPEN},
};
use sandbox::{Endpoint, Fault, FaultKind};
use std::time::Duration;
use tokio::time::Instant;
use uuid::Uuid;

const TOKEN: &str = "/v2/oauth/token/";

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_token_endpoint_opens_the_breaker_and_it_closes_once_tiktok_recovers() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account_id: Uuid = connected_account(&sandbox, &mut owner, "Maya Public").await.parse().unwrap();
    let refreshes_at_tiktok = || sandbox.count(TOKEN, "grant_type=refresh_token");

    // TikTok's token endpoint answers 503 as many times as it takes to open the breaker.
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::OauthToken, kind: FaultKind::Status503, count: FAILURES_TO_OPEN, skip: 0 });
    for attempt in 1..=FAILURES_TO_OPEN {
        assert_eq!(refresh(&app, account_id).await, Err(AppError::Unavailable), "attempt {attempt} failed as TikTok did");
        assert_eq!(refreshes_at_tiktok(), attempt as usize, "each attempt reached TikTok while the breaker was closed");
    }
    let opened = Instant::now();
    assert!(sandbox.sandbox.faults().is_empty(), "TikTok has recovered: its next answer is a grant");

    // Open: refreshes fail fast without calling TikTok, for the whole cool-down.
    let mut refused = 0;
    loop {
        let calls_before = refreshes_at_tiktok();
        let asked = Instant::now();
        let outcome = refresh(&app, account_id).await;
        if refreshes_at_tiktok() > calls_before {
            // The trial call after the cool-down: TikTok answers, the breaker closes.
            // Slack for a busy machine's database round trips, far below the 30 s cool-down.
            assert!(asked >= opened + COOL_DOWN - Duration::from_secs(5), "TikTok was called {:?} after the breaker opened", asked - opened);
            assert_eq!(outcome, Ok(RefreshOutcome::Refreshed));
            break;
        }
        assert_eq!(outcome, Err(AppError::Unavailable), "an open breaker answers like an unreachable TikTok");
        assert!(asked.elapsed() < Duration::from_secs(10), "a refused call fails fast instead of waiting out TikTok's 30 s timeout");
        refused += 1;
        assert!(opened.elapsed() < COOL_DOWN + Duration::from_secs(30), "the breaker never let a trial call through");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(refused >= 3, "refreshes kept being asked for while the breaker was open ({refused})");
    assert_eq!(refreshes_at_tiktok(), FAILURES_TO_OPEN as usize + 1, "nothing reached TikTok while it was open but the trial");

    // Closed again: the next refresh goes straight to TikTok, and the account never needed a reconnect.
    assert_eq!(refresh(&app, account_id).await, Ok(RefreshOutcome::Refreshed));
    assert_eq!(refreshes_at_tiktok(), FAILURES_TO_OPEN as usize + 2);
    let account = TikTokAccount::find(&mut *app.conn().await, account_id).await.unwrap();
    assert_eq!(account.status(), AccountStatus::Active);
}

/// Renews the account's token now, as "Refresh" on the Accounts page does.
async fn refresh(app: &TestApp, account_id: Uuid) -> AppResult<RefreshOutcome> {
    let seen = TikTokAccount::find(&mut *app.conn().await, account_id).await.unwrap().last_refreshed_at;
    refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account_id, Some(seen)).await
}
