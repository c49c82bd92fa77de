//! Connecting TikTok accounts through the sandbox: OAuth state rules, encrypted tokens,
//! refresh with rotation under concurrency, refresh failure, disconnect, webhooks, key rotation.

use crate::util::{
    TestApp, TestClient,
    sandbox::{app_with_sandbox, connect, consent},
};
use app::{
    accounts::{
        ssr::{RefreshOutcome, TikTokAccount, refresh_account},
        types::{AccountStatus, AccountView},
    },
    crypto::TokenCipher,
    db::schema::{oauth_states, tiktok_accounts, tiktok_webhook_events},
    error::AppError,
    teams::types::CreatedInvite,
};
use axum::{body::Body, http::{Request, StatusCode}};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::RunQueryDsl as _;
use sandbox::{Endpoint, Fault, FaultKind};

async fn accounts(client: &mut TestClient) -> Vec<AccountView> {
    client.call("accounts/list", &[]).await.unwrap()
}

pub(crate) async fn only_account(app: &TestApp) -> TikTokAccount {
    let mut conn = app.conn().await;
    let rows: Vec<TikTokAccount> =
        tiktok_accounts::table.select(<TikTokAccount as diesel::SelectableHelper<diesel::pg::Pg>>::as_select()).load(&mut conn).await.unwrap();
    assert_eq!(rows.len(), 1);
    rows.into_iter().next().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn connecting_stores_the_account_with_encrypted_tokens() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    assert_eq!(connect(&sandbox, &mut owner, "Maya Public").await, "/accounts?connected=1");

    let listed = accounts(&mut owner).await;
    assert_eq!(listed.len(), 1);
    let maya = &listed[0];
    assert_eq!((maya.display_name.as_str(), maya.status), ("Maya Public", AccountStatus::Active));
    assert!(maya.username.is_some() && maya.avatar_url.is_some());
    let info = maya.creator_info.as_ref().expect("creator info fetched at connection");
    assert!(info.privacy_level_options.contains(&"PUBLIC_TO_EVERYONE".to_owned()));
    let allows = maya.allows();
    assert!(allows.direct_post && allows.inbox, "the default grant posts and drafts");

    let row = only_account(&app).await;
    let sealed = row.encrypted_access_token.clone().unwrap();
    assert!(sealed.starts_with("v1.test.") && !sealed.contains("act."), "tokens are sealed: {sealed}");
    assert!(!row.encrypted_refresh_token.clone().unwrap().contains("rft."));
    // Sealed for this row only: the same value does not open for another account id.
    assert!(app.state.cipher.decrypt(&sealed, &uuid::Uuid::new_v4().to_string()).is_err());
    assert!(row.access_token(&app.state.cipher).unwrap().expose().starts_with("act."));

    let raw = owner.post_form("/api/accounts/list", &[]).await.text();
    assert!(!raw.contains("act.") && !raw.contains("rft.") && !raw.contains("v1.test."), "no token in responses");
    let page = owner.get("/accounts").await.text();
    assert!(page.contains("Maya Public") && !page.contains("act.") && !page.contains("rft."));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_state_cannot_be_replayed_used_by_another_browser_or_used_late() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;

    // Replayed: the same redirect twice.
    let callback = consent(&sandbox, &mut owner, "Maya Public").await;
    assert_eq!(owner.get(&callback).await.header("location"), Some("/accounts?connected=1"));
    assert_eq!(owner.get(&callback).await.header("location"), Some("/accounts?connect_error=state"));

    // Foreign: a callback issued to one browser, followed in another (even by the same user).
    let callback = consent(&sandbox, &mut owner, "Leo Private").await;
    let mut other_browser = app.client();
    other_browser.call::<()>("auth/login", &[("email", "olga@example.com"), ("password", crate::util::test_app::PASSWORD)]).await.unwrap();
    assert_eq!(other_browser.get(&callback).await.header("location"), Some("/accounts?connect_error=state"));

    // Stale: older than ten minutes.
    let callback = consent(&sandbox, &mut owner, "Leo Private").await;
    let mut conn = app.conn().await;
    diesel::update(oauth_states::table)
        .set(oauth_states::expires_at.eq(time::OffsetDateTime::now_utc() - time::Duration::seconds(1)))
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(owner.get(&callback).await.header("location"), Some("/accounts?connect_error=state"));

    assert_eq!(accounts(&mut owner).await.len(), 1, "only the first, valid attempt connected anything");
    assert_eq!(sandbox.count("/v2/oauth/token/", "authorization_code"), 1, "refused states never exchange their code");
}

#[tokio::test(flavor = "multi_thread")]
async fn declining_on_tiktok_connects_nothing() {
    let (sandbox, _app, mut owner) = app_with_sandbox().await;
    let callback = consent(&sandbox, &mut owner, "Maya Public").await;
    let state = callback.split("state=").nth(1).unwrap().split('&').next().unwrap();
    let declined = owner.get(&format!("/oauth/tiktok/callback?error=access_denied&error_description=no&state={state}")).await;
    assert_eq!(declined.header("location"), Some("/accounts?connect_error=denied"));
    assert!(accounts(&mut owner).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn reconnecting_updates_the_account_and_another_team_cannot_take_it() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let first = only_account(&app).await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let second = only_account(&app).await;
    assert_eq!(first.id, second.id, "the same row is updated");
    assert_ne!(first.encrypted_refresh_token, second.encrypted_refresh_token);

    let mut rival = app.signed_up("Rita").await;
    assert_eq!(connect(&sandbox, &mut rival, "Maya Public").await, "/accounts?connect_error=taken");
    assert!(accounts(&mut rival).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn viewers_cannot_connect_and_other_teams_cannot_touch_the_account() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let account_id = accounts(&mut owner).await[0].id.to_string();

    let invite: CreatedInvite = owner.call("teams/invites/create", &[("role", "viewer")]).await.unwrap();
    let mut viewer = app.client();
    viewer
        .call::<()>(
            "auth/signup",
            &[
                ("email", "vi@example.com"),
                ("password", crate::util::test_app::PASSWORD),
                ("display_name", "Vi"),
                ("time_zone", "UTC"),
                ("invite", invite.path.trim_start_matches("/invite/")),
            ],
        )
        .await
        .unwrap();
    assert_eq!(accounts(&mut viewer).await.len(), 1, "viewers see the team's accounts");
    assert!(matches!(viewer.call::<String>("accounts/connect", &[]).await, Err(AppError::Forbidden(_))));
    assert!(matches!(viewer.call::<()>("accounts/disconnect", &[("account_id", &account_id)]).await, Err(AppError::Forbidden(_))));

    let mut mallory = app.signed_up("Mallory").await;
    assert!(accounts(&mut mallory).await.is_empty());
    let refused = mallory.call::<()>("accounts/disconnect", &[("account_id", &account_id)]).await;
    assert_eq!(refused.unwrap_err(), AppError::NotFound("TikTok account".into()));
    let refused = mallory.call::<AccountView>("accounts/refresh-info", &[("account_id", &account_id)]).await;
    assert_eq!(refused.unwrap_err(), AppError::NotFound("TikTok account".into()));
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active);
}

/// Makes the stored 2-hour token look issued long ago, with `remaining` left.
pub(crate) async fn age_token(conn: &mut app::db::DbConn, remaining: time::Duration) {
    let now = time::OffsetDateTime::now_utc();
    diesel::update(tiktok_accounts::table)
        .set((
            tiktok_accounts::access_expires_at.eq(Some(now + remaining)),
            tiktok_accounts::last_refreshed_at.eq(Some(now + remaining - time::Duration::hours(2))),
        ))
        .execute(conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_refreshes_spend_the_refresh_token_exactly_once() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let mut conn = app.conn().await;
    age_token(&mut conn, time::Duration::seconds(5)).await;
    let account = only_account(&app).await;

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let state = app.state.clone();
            tokio::spawn(async move {
                refresh_account(&state.pool, &state.tiktok.client, &state.cipher, account.id, None).await.unwrap()
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for task in tasks {
        outcomes.push(task.await.unwrap());
    }
    assert_eq!(outcomes.iter().filter(|o| **o == RefreshOutcome::Refreshed).count(), 1, "{outcomes:?}");
    assert_eq!(outcomes.iter().filter(|o| **o == RefreshOutcome::AlreadyFresh).count(), 7);
    assert_eq!(sandbox.count("/v2/oauth/token/", "grant_type=refresh_token"), 1, "one refresh reached TikTok");

    // The stored (rotated) refresh token is the live one: a forced refresh succeeds.
    let refreshed = only_account(&app).await;
    assert_ne!(refreshed.encrypted_refresh_token, account.encrypted_refresh_token);
    let outcome = refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account.id, Some(refreshed.last_refreshed_at)).await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Refreshed);
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scheduler_job_refreshes_only_what_is_due() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    assert_eq!(server::scheduler::refresh_due_tokens(&app.state).await, 0, "a fresh 2 h token is not due");
    let mut conn = app.conn().await;
    age_token(&mut conn, time::Duration::minutes(10)).await;
    assert_eq!(server::scheduler::refresh_due_tokens(&app.state).await, 1);
    let account = only_account(&app).await;
    assert!(account.access_expires_at.unwrap() > time::OffsetDateTime::now_utc() + time::Duration::minutes(100));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_refresh_marks_the_account_for_reconnecting_without_deleting_it() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let account = only_account(&app).await;
    sandbox.sandbox.revoke_creator(&sandbox.open_id_of("Maya Public"));

    let outcome = refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account.id, Some(account.last_refreshed_at));
    assert_eq!(outcome.await.unwrap(), RefreshOutcome::NeedsReconnect);
    let after = only_account(&app).await;
    assert_eq!(after.status(), AccountStatus::NeedsReconnect);
    assert!(after.encrypted_refresh_token.is_some(), "nothing is deleted");
    let listed = accounts(&mut owner).await;
    assert!(listed[0].status_reason.as_deref().unwrap().contains("Reconnect"));

    // Reconnecting brings it back.
    connect(&sandbox, &mut owner, "Maya Public").await;
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_access_token_is_refreshed_once_and_the_call_retried() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let account_id = accounts(&mut owner).await[0].id.to_string();
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::CreatorInfo, kind: FaultKind::AccessTokenInvalid, count: 1, skip: 0 });

    let view: AccountView = owner.call("accounts/refresh-info", &[("account_id", &account_id)]).await.unwrap();
    assert!(view.creator_info.is_some());
    assert_eq!(sandbox.count("/v2/oauth/token/", "grant_type=refresh_token"), 1);
    let _ = app;
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnecting_revokes_at_tiktok_and_keeps_the_row() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Leo Private").await;
    let account_id = accounts(&mut owner).await[0].id.to_string();
    owner.call::<()>("accounts/disconnect", &[("account_id", &account_id)]).await.unwrap();

    assert_eq!(sandbox.count("/v2/oauth/revoke/", "token="), 1);
    let row = only_account(&app).await;
    assert_eq!(row.status(), AccountStatus::Disconnected);
    assert!(row.encrypted_access_token.is_none() && row.encrypted_refresh_token.is_none());
    assert_eq!(accounts(&mut owner).await[0].status, AccountStatus::Disconnected);
}

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_changes_nothing_when_tiktok_cannot_be_reached() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let account_id = accounts(&mut owner).await[0].id.to_string();
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::OauthRevoke, kind: FaultKind::Status503, count: 1, skip: 0 });
    let error = owner.call::<()>("accounts/disconnect", &[("account_id", &account_id)]).await.unwrap_err();
    assert!(matches!(error, AppError::Conflict(ref m) if m.contains("try again")), "{error:?}");
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active);
}

async fn post_webhook(app: &TestApp, body: &str, signature: Option<String>) -> StatusCode {
    let mut request = Request::post("/webhooks/tiktok").header("content-type", "application/json");
    if let Some(signature) = signature {
        request = request.header("TikTok-Signature", signature);
    }
    app.client().send(request.body(Body::from(body.to_owned())).unwrap()).await.status
}

#[tokio::test(flavor = "multi_thread")]
async fn webhooks_are_verified_deduplicated_and_acted_on() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let secret = sandbox.sandbox.config().client_secret.clone();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let body = serde_json::json!({
        "client_key": sandbox.sandbox.config().client_key,
        "event": "authorization.removed",
        "create_time": now,
        "user_openid": sandbox.open_id_of("Maya Public"),
        "content": "{\"reason\":1}",
    })
    .to_string();
    let sign = |t: i64| app::tiktok::webhook::sign(body.as_bytes(), secret.as_bytes(), t);

    assert_eq!(post_webhook(&app, &body, None).await, StatusCode::UNAUTHORIZED, "unsigned");
    assert_eq!(post_webhook(&app, &body, Some(app::tiktok::webhook::sign(body.as_bytes(), b"wrong", now))).await, StatusCode::UNAUTHORIZED);
    let beyond_retries = now - app::tiktok::webhook::MAX_AGE_SECS - 60;
    assert_eq!(post_webhook(&app, &body, Some(sign(beyond_retries))).await, StatusCode::UNAUTHORIZED, "older than TikTok retries");
    assert_eq!(post_webhook(&app, &body, Some(sign(now + 3600))).await, StatusCode::UNAUTHORIZED, "from the future");
    assert_eq!(post_webhook(&app, "not json", Some(app::tiktok::webhook::sign(b"not json", secret.as_bytes(), now))).await, StatusCode::BAD_REQUEST);
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active, "refused deliveries change nothing");

    assert_eq!(post_webhook(&app, &body, Some(sign(now))).await, StatusCode::OK);
    let row = only_account(&app).await;
    assert_eq!(row.status(), AccountStatus::Disconnected);
    assert_eq!(row.status_reason.as_deref(), Some("The creator disconnected Cadence in the TikTok app."));

    assert_eq!(post_webhook(&app, &body, Some(sign(now))).await, StatusCode::OK, "a replay is acknowledged");
    let mut conn = app.conn().await;
    let stored: i64 = tiktok_webhook_events::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(stored, 1, "but stored and acted on once");

    // A removal TikTok retries hours later must not undo a reconnection made since.
    connect(&sandbox, &mut owner, "Maya Public").await;
    let late = serde_json::json!({
        "client_key": sandbox.sandbox.config().client_key,
        "event": "authorization.removed",
        "create_time": now - 3 * 3600,
        "user_openid": sandbox.open_id_of("Maya Public"),
        "content": "{\"reason\":1}",
    })
    .to_string();
    let late_signature = app::tiktok::webhook::sign(late.as_bytes(), secret.as_bytes(), now);
    assert_eq!(post_webhook(&app, &late, Some(late_signature)).await, StatusCode::OK);
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active);
}

#[tokio::test(flavor = "multi_thread")]
async fn two_callbacks_for_the_same_creator_at_once_keep_one_account() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    let first = consent(&sandbox, &mut owner, "Maya Public").await;
    let second = consent(&sandbox, &mut owner, "Maya Public").await;
    let mut tab_a = owner.on(app.router.clone());
    let mut tab_b = owner.on(app.router.clone());
    let (a, b) = tokio::join!(tab_a.get(&first), tab_b.get(&second));
    let landed = [a.header("location").unwrap().to_owned(), b.header("location").unwrap().to_owned()];
    assert!(landed.iter().all(|l| l == "/accounts?connected=1"), "{landed:?}");
    let row = only_account(&app).await;
    assert_eq!(row.status(), AccountStatus::Active);
    assert!(row.access_token(&app.state.cipher).is_ok(), "the stored tokens open with this row's id");
}

#[tokio::test(flavor = "multi_thread")]
async fn rotating_the_key_reencrypts_every_token() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let before = only_account(&app).await;
    let plain = before.access_token(&app.state.cipher).unwrap().expose().to_owned();

    let new_key = TokenCipher::generate_key_entry("k2");
    let rotated = TokenCipher::from_key_list(&format!("{new_key},{}", crate::util::test_app::TEST_KEY)).unwrap();
    let mut conn = app.conn().await;
    assert_eq!(app::accounts::ssr::reencrypt_all(&mut conn, &rotated).await.unwrap(), 1);
    assert_eq!(app::accounts::ssr::reencrypt_all(&mut conn, &rotated).await.unwrap(), 0, "nothing left to move");

    let after = only_account(&app).await;
    assert!(after.encrypted_access_token.as_deref().unwrap().starts_with("v1.k2."));
    assert_eq!(after.access_token(&rotated).unwrap().expose(), plain);
    let new_only = TokenCipher::from_key_list(&new_key).unwrap();
    assert_eq!(after.access_token(&new_only).unwrap().expose(), plain, "the old key can now be dropped");
    assert!(after.access_token(&app.state.cipher).is_err(), "the old key alone no longer opens it");
}

#[test]
fn no_token_reaches_the_logs() {
    let logs = crate::util::logs::logs_of(|| async {
        let (sandbox, app, mut owner) = app_with_sandbox().await;
        connect(&sandbox, &mut owner, "Maya Public").await;
        let account = only_account(&app).await;
        refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account.id, Some(account.last_refreshed_at))
            .await
            .unwrap();
        let account_id = account.id.to_string();
        owner.call::<()>("accounts/disconnect", &[("account_id", &account_id)]).await.unwrap();
    });
    assert!(logs.contains("TikTok token refreshed"), "the journey was logged:\n{logs}");
    for secret in ["act.", "rft.", "v1.test.", "sbx_client_secret", "code="] {
        assert!(!logs.contains(secret), "{secret} appeared in the logs:\n{logs}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_running_scheduler_renews_short_lived_tokens_by_itself() {
    let sandbox = crate::util::sandbox::TestSandbox::start_with(sandbox::SandboxConfig {
        access_token_ttl: std::time::Duration::from_secs(12),
        ..Default::default()
    })
    .await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let mut owner = app.signed_up("Olga").await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let first = only_account(&app).await;

    let jobs = server::scheduler::start(app.state.clone()).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(45);
    let renewed = loop {
        let account = only_account(&app).await;
        if account.last_refreshed_at != first.last_refreshed_at {
            break account;
        }
        assert!(std::time::Instant::now() < deadline, "the scheduler did not renew the token in time");
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    };
    jobs.shutdown().await.unwrap();

    assert_eq!(renewed.status(), AccountStatus::Active);
    assert_ne!(renewed.encrypted_refresh_token, first.encrypted_refresh_token, "the rotated refresh token was stored");
    // The renewed access token works at TikTok.
    let token = renewed.access_token(&app.state.cipher).unwrap();
    app.state.tiktok.client.creator_info(&token).await.expect("the new access token is accepted");
}
