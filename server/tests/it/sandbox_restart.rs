//! A sandbox-mode server keeps its built-in TikTok's state across a restart: an account
//! connected before the restart still publishes afterwards, without reconnecting.

use crate::util::{test_app::PASSWORD, test_db::TestDb, upload::Upload};
use app::{
    accounts::types::AccountView,
    db::schema::{posts, tiktok_accounts},
    posts::types::UploadOutcome,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use sandbox::synthetic::SyntheticVideo;
use std::{path::Path, time::Duration};

/// A real server process in sandbox mode (no TikTok credentials), on a free port.
struct SandboxModeServer {
    child: std::process::Child,
    base: String,
}

impl SandboxModeServer {
    async fn start(db_url: &str, data_dir: &Path, log: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let log_file = || std::fs::OpenOptions::new().create(true).append(true).open(log).unwrap();
        let child = std::process::Command::new(env!("CARGO_BIN_EXE_server"))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("DATABASE_URL", db_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", std::env::temp_dir().join("cadence-crash-site"))
            .env("CADENCE_DATA_DIR", data_dir)
            .env("CADENCE_SIGNUP", "open")
            .env("RUST_LOG", "warn,app=info,server=info,sandbox=info")
            .stdout(log_file())
            .stderr(log_file())
            .spawn()
            .expect("the server binary starts");
        let base = format!("http://127.0.0.1:{port}");
        for _ in 0..300 {
            if reqwest::get(format!("{base}/healthz")).await.is_ok_and(|r| r.status().is_success()) {
                return Self { child, base };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the sandbox-mode server did not come up; see {}", log.display());
    }

    /// SIGTERM, as systemd or Ctrl-C stops it, and waits for the process to end.
    fn stop(mut self) {
        let status = std::process::Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        assert!(exit.success(), "a graceful stop exits 0: {exit:?}");
    }
}

impl Drop for SandboxModeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A browser: same-origin requests with the session cookie, redirects not followed.
struct Browser {
    http: reqwest::Client,
    cookie: Option<String>,
}

impl Browser {
    fn new() -> Self {
        Self { http: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap(), cookie: None }
    }

    fn keep_cookie(&mut self, response: &reqwest::Response) {
        for value in response.headers().get_all("set-cookie") {
            let value = value.to_str().unwrap();
            if let Some(rest) = value.strip_prefix(&format!("{}=", server::SESSION_COOKIE)) {
                self.cookie = Some(rest.split(';').next().unwrap_or_default().to_owned());
            }
        }
    }

    fn with_cookie(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.cookie {
            Some(cookie) => request.header("cookie", format!("{}={cookie}", server::SESSION_COOKIE)),
            None => request,
        }
    }

    async fn call<T: serde::de::DeserializeOwned>(&mut self, server: &SandboxModeServer, endpoint: &str, form: &[(&str, &str)]) -> T {
        let request = self.http.post(format!("{}/api/{endpoint}", server.base)).header("origin", &server.base).form(form);
        let response = self.with_cookie(request).send().await.unwrap();
        self.keep_cookie(&response);
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(status.is_success(), "{endpoint}: HTTP {status}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{endpoint}: {e}: {body}"))
    }

    async fn get(&mut self, url: &str) -> reqwest::Response {
        let response = self.with_cookie(self.http.get(url)).send().await.unwrap();
        self.keep_cookie(&response);
        response
    }
}

/// Runs TikTok's consent screen of the built-in sandbox as `creator` and follows the redirect
/// back to Cadence.
async fn connect(browser: &mut Browser, server: &SandboxModeServer, creator: &str) {
    let authorize_url: String = browser.call(server, "accounts/connect", &[]).await;
    let sandbox_origin = authorize_url.split("/v2/").next().unwrap().to_owned();
    let page = browser.http.get(&authorize_url).send().await.unwrap().text().await.unwrap();
    let request_id =
        page.split("name=\"request_id\" value=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a consent request").to_owned();
    let open_id = sandbox::Sandbox::new(sandbox::SandboxConfig::default())
        .creators()
        .into_iter()
        .find(|c| c.display_name == creator)
        .unwrap()
        .open_id;
    let form = [
        ("request_id", request_id.as_str()),
        ("open_id", open_id.as_str()),
        ("scope", "user.info.basic"),
        ("scope", "video.upload"),
        ("scope", "video.publish"),
    ];
    let decided = browser.http.post(format!("{sandbox_origin}/v2/auth/authorize/")).form(&form).send().await.unwrap();
    assert_eq!(decided.status(), 302);
    let callback = decided.headers()["location"].to_str().unwrap().to_owned();
    assert!(callback.starts_with(&format!("{}/oauth/tiktok/callback?", server.base)), "{callback}");
    let landed = browser.get(&callback).await;
    assert!(landed.status().is_redirection(), "the callback redirects: {}", landed.status());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_connection_made_before_a_restart_still_publishes_after_it() {
    let db = TestDb::migrated().await;
    let data = std::env::temp_dir().join(format!("cadence-sandbox-restart-{}", uuid::Uuid::new_v4()));
    let log = data.with_extension("log");
    std::fs::create_dir_all(&data).unwrap();

    let first = SandboxModeServer::start(&db.url, &data, &log).await;
    let mut browser = Browser::new();
    let signup = [
        ("email", "rita@example.com"),
        ("password", PASSWORD),
        ("display_name", "Rita"),
        ("time_zone", "Europe/Berlin"),
    ];
    browser.call::<()>(&first, "auth/signup", &signup).await;
    connect(&mut browser, &first, "Maya Public").await;
    let accounts: Vec<AccountView> = browser.call(&first, "accounts/list", &[]).await;
    let account_id = accounts.iter().find(|a| a.display_name == "Maya Public").expect("connected").id.to_string();
    first.stop();

    let state_file = data.join(server::tiktok_setup::SANDBOX_STATE_FILE);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&state_file).expect("the sandbox saved its state").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the state file holds tokens: owner-only");
    }

    // A new process: the sandbox (on a new port) still knows the grant and its tokens.
    let second = SandboxModeServer::start(&db.url, &data, &log).await;
    let video = SyntheticVideo::mp4(8, 2 * 1024 * 1024 + 5);
    let upload = Upload::post_now(&account_id, "SELF_ONLY", video);
    let (content_type, body) = upload.http_body();
    let request = browser
        .http
        .post(format!("{}/api/posts/upload", second.base))
        .header("origin", &second.base)
        .header("content-type", content_type)
        .body(body);
    let response = browser.with_cookie(request).send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    assert!(status.is_success(), "posting after the restart: HTTP {status}: {text}");
    let outcome: UploadOutcome = serde_json::from_str(&text).unwrap();

    let mut conn = AsyncPgConnection::establish(&db.url).await.unwrap();
    let publish_id: Option<String> =
        posts::table.find(outcome.post_id).select(posts::publish_id).first(&mut conn).await.unwrap();
    assert!(publish_id.is_some(), "TikTok (the sandbox) accepted the post: {outcome:?}");
    let status: String = tiktok_accounts::table
        .filter(tiktok_accounts::display_name.eq("Maya Public"))
        .select(tiktok_accounts::status)
        .first(&mut conn)
        .await
        .unwrap();
    assert_ne!(status, "needs_reconnect", "no reconnecting after a restart");
    drop(second);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_file(&log);
}
