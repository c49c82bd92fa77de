//! `server backup` and `server restore` as an operator runs them: the real binary, a real
//! database with an account, tokens and a scheduled video, restored into a fresh database and
//! data directory where everything works again.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account, fast_app_with_sandbox},
    test_app::TEST_KEY,
    test_db::TestDb,
    upload::Upload,
};
use app::{
    crypto::TokenCipher,
    db::schema::{media, posts, tiktok_accounts},
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use sandbox::synthetic::SyntheticVideo;
use std::path::Path;
use uuid::Uuid;

/// Runs the server binary with only the given environment (plus PATH); returns (ok, output).
pub fn run_server(args: &[&str], env: &[(&str, String)]) -> (bool, String) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default()).args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    let output = command.output().expect("the server binary runs");
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

fn environment(db_url: &str, data_dir: &Path, sandbox: &TestSandbox) -> Vec<(&'static str, String)> {
    let mut env = vec![
        ("DATABASE_URL", db_url.to_owned()),
        ("CADENCE_DATA_DIR", data_dir.display().to_string()),
        ("CADENCE_TOKEN_KEYS", TEST_KEY.to_owned()),
    ];
    env.extend(sandbox.app_settings());
    env
}

struct AccountTokens {
    id: Uuid,
    access: String,
    refresh: String,
}

async fn tokens_of(url: &str) -> Vec<AccountTokens> {
    let cipher = TokenCipher::from_key_list(TEST_KEY).unwrap();
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    let rows: Vec<(Uuid, Option<String>, Option<String>)> = tiktok_accounts::table
        .select((tiktok_accounts::id, tiktok_accounts::encrypted_access_token, tiktok_accounts::encrypted_refresh_token))
        .order(tiktok_accounts::id)
        .load(&mut conn)
        .await
        .unwrap();
    rows.into_iter()
        .map(|(id, access, refresh)| AccountTokens {
            id,
            access: cipher.decrypt(&access.expect("an access token"), &id.to_string()).unwrap().expose().to_owned(),
            refresh: cipher.decrypt(&refresh.expect("a refresh token"), &id.to_string()).unwrap().expose().to_owned(),
        })
        .collect()
}

async fn post_videos(url: &str) -> Vec<(Uuid, String)> {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    posts::table
        .inner_join(media::table)
        .select((posts::id, media::storage_key))
        .order(posts::id)
        .load(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_restored_into_a_fresh_database_and_directory_works_again() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = time::OffsetDateTime::now_utc() + time::Duration::hours(2);
    let video = SyntheticVideo::mp4(12, 3 * 1024 * 1024 + 17);
    Upload::scheduled(&account, "SELF_ONLY", video, due).send(&mut owner).await.expect("scheduled");

    let work = std::env::temp_dir().join(format!("cadence-backup-it-{}", Uuid::new_v4()));
    let backup_dir = work.join("backup");
    let source_data = &app.state.config.data_dir;
    let (ok, output) = run_server(
        &["backup", "--to", backup_dir.to_str().unwrap()],
        &environment(&app.db.url, source_data, &sandbox),
    );
    assert!(ok, "backup failed: {output}");
    assert!(output.contains("every video the database refers to is present"), "{output}");
    assert!(!output.contains(TEST_KEY.split(':').nth(1).unwrap()), "no key material in the output");

    // A fresh, empty database and data directory, as on a new machine.
    let fresh = TestDb::empty().await;
    let fresh_data = work.join("data");
    let (ok, output) = run_server(
        &["restore", "--from", backup_dir.to_str().unwrap()],
        &environment(&fresh.url, &fresh_data, &sandbox),
    );
    assert!(ok, "restore failed: {output}");

    // Every account's tokens decrypt with the restored keys to what the source holds, and
    // TikTok (the sandbox) accepts the restored access token.
    let before = tokens_of(&app.db.url).await;
    let after = tokens_of(&fresh.url).await;
    assert_eq!(before.len(), 1);
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(&before) {
        assert_eq!((a.id, &a.access, &a.refresh), (b.id, &b.access, &b.refresh));
    }
    let info = reqwest::Client::new()
        .get(format!("{}/v2/user/info/?fields=open_id,display_name", sandbox.url))
        .bearer_auth(&after[0].access)
        .send()
        .await
        .unwrap();
    assert!(info.status().is_success(), "the restored token works at TikTok");

    // Every post is there and its video reads back byte for byte from the restored directory.
    let posts_before = post_videos(&app.db.url).await;
    let posts_after = post_videos(&fresh.url).await;
    assert_eq!(posts_before.len(), 1);
    assert_eq!(posts_after, posts_before);
    for (_, key) in &posts_after {
        let original = std::fs::read(source_data.join("media").join(key)).unwrap();
        let restored = std::fs::read(fresh_data.join("media").join(key)).unwrap();
        assert_eq!(restored.len(), original.len());
        assert!(restored == original, "the restored video is the same bytes");
    }

    // A server over the restored database starts and sees the account connected.
    let mut settings = sandbox.app_settings();
    settings.push(("CADENCE_DATA_DIR", fresh_data.display().to_string()));
    let settings: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut again = TestClient::new(TestApp::router_over(&fresh.url, &settings));
    again
        .call::<()>("auth/login", &[("email", "olga@example.com"), ("password", crate::util::test_app::PASSWORD)])
        .await
        .expect("the restored person logs in");
    let accounts: Vec<app::accounts::types::AccountView> = again.call("accounts/list", &[]).await.unwrap();
    assert_eq!(accounts.len(), 1);

    // Restoring over data that exists is refused and changes nothing.
    let (ok, output) = run_server(
        &["restore", "--from", backup_dir.to_str().unwrap()],
        &environment(&fresh.url, &work.join("other-data"), &sandbox),
    );
    assert!(!ok && output.contains("not empty"), "{output}");
    assert_eq!(post_videos(&fresh.url).await, posts_before);
    let _ = std::fs::remove_dir_all(&work);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_local_key_file_travels_with_the_backup_and_a_damaged_backup_is_refused() {
    let source = TestDb::migrated().await;
    let work = std::env::temp_dir().join(format!("cadence-backup-keys-{}", Uuid::new_v4()));
    let source_data = work.join("source");
    // Sandbox mode without CADENCE_TOKEN_KEYS: the key lives in <data dir>/token-keys.
    let env = |db: &str, data: &Path| vec![("DATABASE_URL", db.to_owned()), ("CADENCE_DATA_DIR", data.display().to_string())];
    let (ok, output) = run_server(&["migrate"], &env(&source.url, &source_data));
    assert!(ok, "{output}");
    let key_file = std::fs::read(source_data.join("token-keys")).expect("a key file was generated");

    let backup_dir = work.join("backup");
    let (ok, output) = run_server(&["backup", "--to", backup_dir.to_str().unwrap()], &env(&source.url, &source_data));
    assert!(ok, "{output}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(backup_dir.join("token-keys")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the copied key file is owner-only");
    }

    // A second backup into the same directory is refused.
    let (ok, output) = run_server(&["backup", "--to", backup_dir.to_str().unwrap()], &env(&source.url, &source_data));
    assert!(!ok && output.contains("not empty"), "{output}");

    let fresh = TestDb::empty().await;
    let fresh_data = work.join("fresh");
    let (ok, output) = run_server(&["restore", "--from", backup_dir.to_str().unwrap()], &env(&fresh.url, &fresh_data));
    assert!(ok, "{output}");
    assert_eq!(std::fs::read(fresh_data.join("token-keys")).unwrap(), key_file, "the same key, not a new one");

    // A dump changed after the backup is refused before anything is touched.
    let dump = backup_dir.join("database.dump");
    let mut bytes = std::fs::read(&dump).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&dump, bytes).unwrap();
    let empty = TestDb::empty().await;
    let (ok, output) = run_server(&["restore", "--from", backup_dir.to_str().unwrap()], &env(&empty.url, &work.join("x")));
    assert!(!ok && output.contains("checksum"), "{output}");
    let _ = std::fs::remove_dir_all(&work);
}
