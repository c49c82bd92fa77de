//! Tokens that are never lost or left silently unusable: a refreshed grant stored through a
//! database connection that dies mid-write, and tokens sealed under a key this server lacks.

use crate::{
    accounts::{age_token, only_account},
    util::sandbox::{app_with_sandbox, connect},
};
use app::accounts::{ssr::{RefreshOutcome, refresh_account}, types::AccountStatus};
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
