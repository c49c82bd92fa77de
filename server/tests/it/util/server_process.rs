//! A real server process (the built binary) for tests that kill servers or run several.

use super::{TestApp, sandbox::TestSandbox};
use std::time::Duration;

/// A real server process (the built binary) with its scheduler on, against the test's
/// database, media directory and sandbox.
pub struct ServerProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`, where it answers.
    pub url: String,
    /// Where it reaches PostgreSQL, and whether TikTok pulls its scheduled videos (for a
    /// replacement started like it).
    database_url: String,
    pulling: bool,
}

impl ServerProcess {
    /// Starts one with a 4 s publish lease (so a killed server's posts are taken over quickly)
    /// sending `concurrency` posts at a time.
    pub async fn start(app: &TestApp, sandbox: &TestSandbox, log: &std::path::Path, concurrency: usize) -> Self {
        Self::start_on(&app.db.url, app, sandbox, log, concurrency).await
    }

    /// The same, reaching the database at `database_url` (e.g. through a [`super::db_proxy::DbProxy`]).
    pub async fn start_on(
        database_url: &str,
        app: &TestApp,
        sandbox: &TestSandbox,
        log: &std::path::Path,
        concurrency: usize,
    ) -> Self {
        Self::launch(database_url, app, sandbox, log, concurrency, false).await
    }

    /// The same, handing TikTok its scheduled videos by PULL_FROM_URL from
    /// `http://localhost:PORT/media/pull/` (the sandbox must verify `localhost` and admit
    /// loopback http, as `TestSandbox` configs for it do).
    pub async fn start_pulling_on(database_url: &str, app: &TestApp, sandbox: &TestSandbox, log: &std::path::Path, concurrency: usize) -> Self {
        Self::launch(database_url, app, sandbox, log, concurrency, true).await
    }

    /// Another server started as this one was (its database route, pulls or uploads).
    pub async fn another_like(&self, app: &TestApp, sandbox: &TestSandbox, log: &std::path::Path, concurrency: usize) -> Self {
        Self::launch(&self.database_url.clone(), app, sandbox, log, concurrency, self.pulling).await
    }

    async fn launch(
        database_url: &str,
        app: &TestApp,
        sandbox: &TestSandbox,
        log: &std::path::Path,
        concurrency: usize,
        pulling: bool,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_server"));
        command
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", std::env::temp_dir().join("cadence-crash-site"))
            .env("CADENCE_DATA_DIR", &app.state.config.data_dir)
            .env("CADENCE_TOKEN_KEYS", super::test_app::TEST_KEY)
            .env("CADENCE_PUBLISH_LEASE_SECS", "4")
            .env("CADENCE_PUBLISH_CONCURRENCY", concurrency.to_string())
            // Recovery waits out an old upload's URL: as long as this sandbox's URLs live.
            .env("CADENCE_UPLOAD_URL_LIFETIME_SECS", (sandbox.sandbox.config().upload_url_ttl.as_secs() + 1).to_string())
            .env("RUST_LOG", "warn,app=info,server=info")
            .stdout(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap())
            .stderr(std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap());
        for (key, value) in sandbox.app_settings() {
            command.env(key, value);
        }
        if pulling {
            command.env("CADENCE_MEDIA_PUBLIC_URL", format!("http://localhost:{port}/media/pull"));
        }
        let child = command.spawn().expect("the server binary starts");
        let url = format!("http://127.0.0.1:{port}");
        let health = format!("{url}/healthz");
        // A deadline, not a count of tries: on a busy machine a debug server takes a while.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while tokio::time::Instant::now() < deadline {
            if reqwest::get(&health).await.is_ok_and(|r| r.status().is_success()) {
                return Self { child, url, database_url: database_url.to_owned(), pulling };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the server did not come up; see {}", log.display());
    }

    /// SIGTERM, as systemd stops it: the server finishes the token renewals in flight (so
    /// none is cut between TikTok's answer and the commit) and ends its claims.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        self.child.wait().unwrap();
    }

    /// SIGKILL: no shutdown, no clean-up, leases left as they are.
    pub fn kill_9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
