//! Upgrading is "replace the binary, restart": pending migrations run at start, and a database
//! a newer binary has migrated is refused with a sentence. `server check-config` tells the same
//! before anything starts, with secrets masked.

use crate::{backup_restore::run_server, util::test_db::TestDb};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};

async fn add_future_migration(url: &str) {
    let mut conn = AsyncPgConnection::establish(url).await.unwrap();
    diesel::sql_query("INSERT INTO __diesel_schema_migrations (version) VALUES ('29991231000001')")
        .execute(&mut conn)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_migrated_by_a_newer_binary_is_refused_at_start() {
    let db = TestDb::migrated().await;
    assert_eq!(server::migrations::run_pending(&db.url).await.unwrap(), 0, "nothing pending after migration");
    add_future_migration(&db.url).await;

    let error = server::migrations::run_pending(&db.url).await.expect_err("a newer database is refused");
    let message = error.to_string();
    assert!(message.contains("the database is newer than this binary"), "{message}");
    assert!(message.contains("29991231000001"), "names the unknown migration: {message}");

    // The real binary refuses to start with that sentence, and exits non-zero.
    let data = std::env::temp_dir().join(format!("cadence-upgrade-{}", uuid::Uuid::new_v4()));
    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("CADENCE_DATA_DIR", data.display().to_string()),
        ("LEPTOS_SITE_ADDR", "127.0.0.1:0".to_owned()),
        ("CADENCE_SCHEDULER_ENABLED", "false".to_owned()),
    ];
    let (ok, output) = run_server(&["serve"], &env);
    assert!(!ok, "the server must not start: {output}");
    assert!(output.contains("the database is newer than this binary"), "{output}");
    let (ok, output) = run_server(&["check-config"], &env);
    assert!(!ok && output.contains("the database is newer than this binary"), "{output}");
    let _ = std::fs::remove_dir_all(&data);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_older_database_is_migrated_at_start() {
    let db = TestDb::empty().await;
    let status = server::migrations::status(&db.url).await.unwrap();
    assert_eq!(status.applied, 0);
    assert_eq!(status.pending.len(), server::migrations::embedded_count());
    let applied = server::migrations::run_pending(&db.url).await.unwrap();
    assert_eq!(applied, server::migrations::embedded_count());
    let status = server::migrations::status(&db.url).await.unwrap();
    assert!(status.pending.is_empty() && status.unknown.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn check_config_prints_what_a_start_uses_with_secrets_masked() {
    let db = TestDb::empty().await;
    let data = std::env::temp_dir().join(format!("cadence-check-config-{}", uuid::Uuid::new_v4()));
    let key = "k1:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    let secret = "tiktok-secret-must-not-print";
    let env = vec![
        ("DATABASE_URL", db.url.clone()),
        ("CADENCE_DATA_DIR", data.display().to_string()),
        ("CADENCE_TOKEN_KEYS", key.to_owned()),
        ("CADENCE_TIKTOK_CLIENT_KEY", "aw_client_key_123".to_owned()),
        ("CADENCE_TIKTOK_CLIENT_SECRET", secret.to_owned()),
        ("CADENCE_PUBLIC_URL", "https://cadence.example.com".to_owned()),
        ("LEPTOS_SITE_ROOT", data.join("no-site").display().to_string()),
    ];
    let (ok, output) = run_server(&["check-config"], &env);
    assert!(output.contains("reachable"), "the database was reached: {output}");
    assert!(output.contains(&format!("{} to apply at start", server::migrations::embedded_count())), "{output}");
    assert!(output.contains("key ids k1"), "{output}");
    assert!(!output.contains(secret) && !output.contains("0001020304"), "secrets stay masked: {output}");
    // No site was built there: a start would serve pages without their bundle.
    assert!(!ok && output.contains("missing cadence.wasm"), "{output}");
    assert!(!data.exists(), "check-config creates nothing");

    // A setting that does not parse names its variable and fails.
    let mut bad = env.clone();
    bad.push(("CADENCE_LOG_FORMAT", "xml".to_owned()));
    let (ok, output) = run_server(&["check-config"], &bad);
    assert!(!ok && output.contains("CADENCE_LOG_FORMAT"), "{output}");

    // A database that does not answer is a problem too.
    let mut unreachable = env.clone();
    unreachable[0] = ("DATABASE_URL", "postgres://postgres:hunter2@127.0.0.1:1/cadence".to_owned());
    let (ok, output) = run_server(&["check-config"], &unreachable);
    assert!(!ok && output.contains("postgres://postgres:***@127.0.0.1:1/cadence"), "{output}");
    assert!(!output.contains("hunter2"), "{output}");
}
