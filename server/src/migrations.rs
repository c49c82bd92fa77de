//! The SQL migrations in `migrations/`, embedded in the binary and applied at start.

use diesel::migration::MigrationSource as _;
use diesel_async::{AsyncPgConnection, async_connection_wrapper::AsyncConnectionWrapper};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies every pending migration; returns how many ran. The harness is synchronous, so it
/// runs on a blocking thread over a wrapped async connection.
pub async fn run_pending(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = SyncConnection::establish(&url)
            .map_err(|e| anyhow::anyhow!("cannot connect to DATABASE_URL: {e}"))?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        Ok(applied.len())
    })
    .await?
}

/// Reverts every migration (used by tests to prove each `down.sql` works).
pub async fn revert_all(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = SyncConnection::establish(&url)?;
        let reverted = conn.revert_all_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(reverted.len())
    })
    .await?
}

/// How many migrations the binary carries.
pub fn embedded_count() -> usize {
    MIGRATIONS.migrations().map(|m: Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>>| m.len()).unwrap_or(0)
}
