//! Tokens that are never lost or left silently unusable: a refreshed grant stored through a
//! database connection that dies mid-write, and tokens sealed under a key this server lacks
//! (refused at start by key id; an account met later asks for a reconnect).

use crate::{
    accounts::{age_token, only_account},
    util::sandbox::{app_with_sandbox, connect},
};
use app::{
    accounts::{
        keys::check_stored_keys,
        ssr::{RefreshOutcome, refresh_account},
        types::{AccountStatus, AccountView},
    },
    crypto::TokenCipher,
    db::schema::{notifications, tiktok_accounts},
    error::AppError,
};
use diesel::{ExpressionMethods as _, QueryDsl as _};
use diesel_async::{RunQueryDsl as _, SimpleAsyncConnection as _};

/// The first write of a new refresh token kills its own database connection (a real
/// `pg_terminate_backend`, as a fail-over would) and fails; later writes go through. A
/// sequence counts the writes because, unlike a table, it is not rolled back with them.
const KILL_FIRST_TOKEN_WRITE: &str = r#"
CREATE SEQUENCE token_writes;
CREATE FUNCTION kill_first_token_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.encrypted_refresh_token IS DISTINCT FROM OLD.encrypted_refresh_token
     AND nextval('token_writes') = 1 THEN
    PERFORM pg_terminate_backend(pg_backend_pid());
    RAISE EXCEPTION 'connection lost while storing the token';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER kill_first_token_write BEFORE UPDATE ON tiktok_accounts
  FOR EACH ROW EXECUTE FUNCTION kill_first_token_write();
"#;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

#[tokio::test(flavor = "multi_thread")]
async fn a_grant_whose_first_write_fails_is_stored_on_retry_and_keeps_working() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let mut conn = app.conn().await;
    age_token(&mut conn, time::Duration::seconds(5)).await;
    conn.batch_execute(KILL_FIRST_TOKEN_WRITE).await.unwrap();
    drop(conn);
    let before = only_account(&app).await;

    let outcome = refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, before.id, None).await;
    assert_eq!(outcome.unwrap(), RefreshOutcome::Refreshed);

    let writes: Count = diesel::sql_query("SELECT last_value AS n FROM token_writes").get_result(&mut app.conn().await).await.unwrap();
    assert_eq!(writes.n, 2, "the first write failed and a second one stored the grant");
    assert_eq!(sandbox.count("/v2/oauth/token/", "grant_type=refresh_token"), 1, "TikTok was asked once");
    let after = only_account(&app).await;
    assert_eq!(after.status(), AccountStatus::Active);
    assert_ne!(after.encrypted_refresh_token, before.encrypted_refresh_token, "the rotated token was stored");

    // The stored refresh token is the live one at TikTok: the next renewal is accepted.
    let next = refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, after.id, Some(after.last_refreshed_at)).await;
    assert_eq!(next.unwrap(), RefreshOutcome::Refreshed);
    let token = only_account(&app).await.access_token(&app.state.cipher).unwrap();
    app.state.tiktok.client.creator_info(&token).await.expect("the renewed access token is accepted");
}

/// Reseals the account's tokens under a key this server does not have (what a second server
/// with its own generated key, or a lost key file, leaves behind).
async fn reseal_under_a_foreign_key(app: &crate::util::TestApp, foreign: &TokenCipher) -> uuid::Uuid {
    let account = only_account(app).await;
    let owner = account.id.to_string();
    diesel::update(tiktok_accounts::table.find(account.id))
        .set((
            tiktok_accounts::encrypted_access_token.eq(Some(foreign.encrypt("act.elsewhere", &owner).unwrap())),
            tiktok_accounts::encrypted_refresh_token.eq(Some(foreign.encrypt("rft.elsewhere", &owner).unwrap())),
        ))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    account.id
}

async fn reconnect_notices(app: &crate::util::TestApp) -> Vec<String> {
    notifications::table
        .filter(notifications::kind.eq("account_needs_reconnect"))
        .select(notifications::message)
        .load(&mut app.conn().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_start_check_names_the_key_id_that_does_not_open() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    let mut conn = app.conn().await;
    assert_eq!(check_stored_keys(&mut conn, &app.state.cipher).await.unwrap(), 0, "nothing stored, nothing to check");
    connect(&sandbox, &mut owner, "Maya Public").await;
    assert_eq!(check_stored_keys(&mut conn, &app.state.cipher).await.unwrap(), 1);

    // Same id, different key: a second server that generated its own.
    let same_id = TokenCipher::from_key_list(&TokenCipher::generate_key_entry("test")).unwrap();
    let error = check_stored_keys(&mut conn, &same_id).await.unwrap_err().to_string();
    assert!(error.contains("\"test\"") && error.contains("different key"), "{error}");
    // The key is missing altogether.
    let other = TokenCipher::from_key_list(&TokenCipher::generate_key_entry("k9")).unwrap();
    let error = check_stored_keys(&mut conn, &other).await.unwrap_err().to_string();
    assert!(error.contains("\"test\"") && error.contains("no configured key"), "{error}");
    assert!(!error.contains("rft.") && !error.contains("v1.test."), "no token material in the message: {error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refresh_that_meets_unreadable_tokens_asks_for_a_reconnect() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let foreign = TokenCipher::from_key_list(&TokenCipher::generate_key_entry("lost")).unwrap();
    let account_id = reseal_under_a_foreign_key(&app, &foreign).await;
    age_token(&mut app.conn().await, time::Duration::minutes(5)).await;

    assert_eq!(server::scheduler::refresh_due_tokens(&app.state).await, 0, "nothing was renewed");
    let after = only_account(&app).await;
    assert_eq!(after.status(), AccountStatus::NeedsReconnect);
    assert!(after.status_reason.as_deref().unwrap().contains("encryption key"), "{:?}", after.status_reason);
    assert_eq!(sandbox.count("/v2/oauth/token/", "grant_type=refresh_token"), 0, "TikTok was not asked");
    let notices = reconnect_notices(&app).await;
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert!(notices[0].starts_with("Maya Public: ") && notices[0].contains("Reconnect"), "{notices:?}");
    // The next run does not find it due again.
    let again = refresh_account(&app.state.pool, &app.state.tiktok.client, &app.state.cipher, account_id, None).await;
    assert_eq!(again.unwrap(), RefreshOutcome::Skipped);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_meets_unreadable_tokens_says_so_and_asks_for_a_reconnect() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    let account_id = {
        connect(&sandbox, &mut owner, "Maya Public").await;
        let foreign = TokenCipher::from_key_list(&TokenCipher::generate_key_entry("lost")).unwrap();
        reseal_under_a_foreign_key(&app, &foreign).await.to_string()
    };
    let refused = owner.call::<AccountView>("accounts/refresh-info", &[("account_id", &account_id)]).await.unwrap_err();
    let AppError::Conflict(message) = &refused else { panic!("a sentence, not {refused:?}") };
    assert!(message.contains("Reconnect the account"), "{message}");
    assert_eq!(only_account(&app).await.status(), AccountStatus::NeedsReconnect);
    assert_eq!(reconnect_notices(&app).await.len(), 1);

    // Reconnecting stores tokens this server can read again.
    connect(&sandbox, &mut owner, "Maya Public").await;
    assert_eq!(only_account(&app).await.status(), AccountStatus::Active);
    owner.call::<AccountView>("accounts/refresh-info", &[("account_id", &account_id)]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_whose_keys_do_not_open_the_stored_tokens_refuses_to_start() {
    let (sandbox, app, mut owner) = app_with_sandbox().await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // Same key id as the stored tokens, another key: what a second server's own key file holds.
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command
        .env("DATABASE_URL", &app.db.url)
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("LEPTOS_SITE_ROOT", std::env::temp_dir().join("cadence-crash-site"))
        .env("CADENCE_DATA_DIR", &app.state.config.data_dir)
        .env("CADENCE_TOKEN_KEYS", TokenCipher::generate_key_entry("test"))
        .env("CADENCE_SCHEDULER_ENABLED", "false")
        .env("RUST_LOG", "error")
        .kill_on_drop(true);
    for (key, value) in sandbox.app_settings() {
        command.env(key, value);
    }
    let ran = tokio::time::timeout(std::time::Duration::from_secs(60), command.output())
        .await
        .expect("the server stops by itself instead of serving")
        .unwrap();
    assert!(!ran.status.success());
    let said = format!("{}{}", String::from_utf8_lossy(&ran.stdout), String::from_utf8_lossy(&ran.stderr));
    assert!(said.contains("key id \"test\""), "the key id is named:\n{said}");
    assert!(!said.contains("rft.") && !said.contains("v1.test."), "no token material:\n{said}");
}
