//! A fresh PostgreSQL database per test, cloned from a template migrated once per process.

use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl as _};
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::OnceCell;

static TEMPLATE: OnceCell<String> = OnceCell::const_new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);
const PREFIX: &str = "cadence_test_";

/// The server-level URL from `TEST_DATABASE_URL` (any database on the server).
pub fn admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").expect(
        "TEST_DATABASE_URL is not set; run scripts/test, or point it at a PostgreSQL server, \
         e.g. postgres://postgres@127.0.0.1:5432/postgres",
    )
}

fn url_for(database: &str) -> String {
    url_on(&admin_url(), database)
}

/// The URL of `database` on the server of `admin`.
fn url_on(admin: &str, database: &str) -> String {
    let (base, _) = admin.rsplit_once('/').expect("the database URL has no database part");
    format!("{base}/{database}")
}

async fn admin_connection() -> AsyncPgConnection {
    AsyncPgConnection::establish(&admin_url()).await.expect("cannot connect to TEST_DATABASE_URL")
}

async fn execute(sql: &str) {
    execute_on(&admin_url(), sql).await;
}

async fn execute_on(admin: &str, sql: &str) {
    let mut conn = AsyncPgConnection::establish(admin).await.unwrap_or_else(|e| panic!("cannot connect to {admin}: {e}"));
    diesel::sql_query(sql).execute(&mut conn).await.unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// Drops databases left behind by test processes that no longer run.
async fn drop_stale_databases() {
    #[derive(diesel::QueryableByName)]
    struct Name {
        #[diesel(sql_type = diesel::sql_types::Text)]
        datname: String,
    }
    let mut conn = admin_connection().await;
    let names: Vec<Name> = diesel::sql_query(format!(
        "SELECT datname FROM pg_database WHERE datname LIKE '{PREFIX}%' AND NOT datistemplate"
    ))
    .load(&mut conn)
    .await
    .unwrap_or_default();
    for Name { datname } in names {
        let pid = datname.trim_start_matches(PREFIX).trim_start_matches("template_").split('_').next();
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{datname}\" WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

async fn template() -> &'static str {
    TEMPLATE
        .get_or_init(|| async {
            drop_stale_databases().await;
            let name = format!("{PREFIX}template_{}", std::process::id());
            execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")).await;
            execute(&format!("CREATE DATABASE \"{name}\"")).await;
            server::migrations::run_pending(&url_for(&name)).await.expect("migrating the template failed");
            name
        })
        .await
}

/// A database that exists for one test and is dropped afterwards.
pub struct TestDb {
    pub name: String,
    pub url: String,
    /// The server-level URL it is dropped through.
    admin: String,
}

impl TestDb {
    /// A migrated database, copied from the template.
    pub async fn migrated() -> Self {
        let template = template().await;
        let db = Self::named();
        execute(&format!("CREATE DATABASE \"{}\" TEMPLATE \"{template}\" STRATEGY = FILE_COPY", db.name)).await;
        db
    }

    /// An empty database (no migrations applied).
    pub async fn empty() -> Self {
        let db = Self::named();
        execute(&format!("CREATE DATABASE \"{}\"", db.name)).await;
        db
    }

    /// A migrated database on another PostgreSQL server (e.g. a test's private cluster), with
    /// the migrations run on it directly (no template there).
    pub async fn migrated_on(admin: &str) -> Self {
        let db = Self::named_on(admin);
        execute_on(admin, &format!("CREATE DATABASE \"{}\"", db.name)).await;
        server::migrations::run_pending(&db.url).await.expect("migrating the database failed");
        db
    }

    fn named() -> Self {
        Self::named_on(&admin_url())
    }

    fn named_on(admin: &str) -> Self {
        let name = format!("{PREFIX}{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed));
        let url = url_on(admin, &name);
        Self { name, url, admin: admin.to_owned() }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let admin = self.admin.clone();
        // Drop runs outside any async context we could borrow; use a private runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = AsyncPgConnection::establish(&admin).await.ok()?;
                diesel::sql_query(sql).execute(&mut conn).await.ok()
            })
        })
        .join();
    }
}
