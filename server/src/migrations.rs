//! The SQL migrations in `migrations/`, embedded in the binary and applied at start.

use diesel::migration::MigrationSource as _;
use diesel_async::{AsyncPgConnection, async_connection_wrapper::AsyncConnectionWrapper};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness as _, embed_migrations};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations");

type SyncConnection = AsyncConnectionWrapper<AsyncPgConnection>;

/// Applies every pending migration; returns how many ran. The harness is synchronous, so it
/// runs on a blocking thread over a wrapped async connection.
///
/// Refuses a database that has migrations this binary does not carry: a newer Cadence ran
/// there, and this older binary would read tables it does not understand (upgrading is
/// "replace the binary"; going back needs the backup taken before the upgrade).
pub async fn run_pending(database_url: &str) -> anyhow::Result<usize> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = SyncConnection::establish(&url)
            .map_err(|e| anyhow::anyhow!("cannot connect to DATABASE_URL: {e}"))?;
        refuse_unknown_migrations(&mut conn)?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migrations failed: {e}"))?;
        Ok(applied.len())
    })
    .await?
}

/// What the database has applied compared with what this binary carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MigrationStatus {
    /// Applied in the database, in this binary too.
    pub applied: usize,
    /// In this binary, not yet applied: a start applies them.
    pub pending: Vec<String>,
    /// Applied in the database but unknown to this binary: a newer Cadence ran there.
    pub unknown: Vec<String>,
}

/// Compares the database's applied migrations with the embedded ones, changing nothing
/// (beyond creating diesel's bookkeeping table on an empty database).
pub async fn status(database_url: &str) -> anyhow::Result<MigrationStatus> {
    let url = database_url.to_owned();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection as _;
        let mut conn = SyncConnection::establish(&url)
            .map_err(|e| anyhow::anyhow!("cannot connect to DATABASE_URL: {e}"))?;
        status_of(&mut conn)
    })
    .await?
}

fn status_of(conn: &mut SyncConnection) -> anyhow::Result<MigrationStatus> {
    #[derive(diesel::QueryableByName)]
    struct Present {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        present: bool,
    }
    use diesel::RunQueryDsl as _;
    // Asking the harness on an empty database would create its table: look first.
    let bookkeeping: Present =
        diesel::sql_query("SELECT to_regclass('__diesel_schema_migrations') IS NOT NULL AS present")
            .get_result(conn)
            .map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?;
    if !bookkeeping.present {
        return Ok(compare(&embedded_versions(), &[]));
    }
    let applied: Vec<String> = conn
        .applied_migrations()
        .map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?
        .iter()
        .map(ToString::to_string)
        .collect();
    Ok(compare(&embedded_versions(), &applied))
}

/// The versions (directory-name digits) of the embedded migrations, oldest first.
pub fn embedded_versions() -> Vec<String> {
    let migrations: Vec<Box<dyn diesel::migration::Migration<diesel::pg::Pg>>> =
        MIGRATIONS.migrations().unwrap_or_default();
    let mut versions: Vec<String> = migrations.iter().map(|m| m.name().version().to_string()).collect();
    versions.sort();
    versions
}

/// The pure comparison behind [`status`].
fn compare(embedded: &[String], applied: &[String]) -> MigrationStatus {
    let mut pending: Vec<String> = embedded.iter().filter(|v| !applied.contains(v)).cloned().collect();
    let mut unknown: Vec<String> = applied.iter().filter(|v| !embedded.contains(v)).cloned().collect();
    pending.sort();
    unknown.sort();
    MigrationStatus { applied: applied.len() - unknown.len(), pending, unknown }
}

fn refuse_unknown_migrations(conn: &mut SyncConnection) -> anyhow::Result<()> {
    let status = status_of(conn)?;
    if status.unknown.is_empty() {
        return Ok(());
    }
    Err(anyhow::anyhow!("{}", newer_database_message(&status.unknown)))
}

/// The refusal a person reads when the database is ahead of the binary.
pub fn newer_database_message(unknown: &[String]) -> String {
    format!(
        "the database is newer than this binary: it has {} migration(s) this binary does not know ({}). \
         A newer Cadence has run on it; start that version again, or restore the backup taken \
         before the upgrade to go back. Nothing was changed.",
        unknown.len(),
        unknown.join(", ")
    )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn pending_and_unknown_migrations_are_told_apart() {
        let status = compare(&strings(&["1", "2", "3"]), &strings(&["1", "4"]));
        assert_eq!(status, MigrationStatus { applied: 1, pending: strings(&["2", "3"]), unknown: strings(&["4"]) });
        assert!(compare(&strings(&["1"]), &strings(&["1"])).unknown.is_empty());
    }

    #[test]
    fn the_embedded_versions_are_the_migration_directories() {
        let versions = embedded_versions();
        assert_eq!(versions.len(), embedded_count());
        assert_eq!(versions.first().map(String::as_str), Some("20261125000001"));
    }
}
