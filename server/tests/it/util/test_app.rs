//! The production router over a test database, and a client that keeps cookies like a browser.

use super::test_db::TestDb;
use app::{config::Config, db::DbConn, error::AppError, state::AppState};
use axum::{
    Router,
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Request, StatusCode, header},
};
use http_body_util::BodyExt as _;
use leptos::prelude::LeptosOptions;
use serde::de::DeserializeOwned;
use std::net::SocketAddr;
use tower::ServiceExt as _;

pub const HOST: &str = "127.0.0.1:3000";
pub const TEST_KEY: &str = "test:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

pub struct TestApp {
    pub state: AppState,
    pub router: Router,
    pub db: TestDb,
}

/// Each test app's media and spool files live in a directory of its own under the system's
/// temporary directory; it goes with the app, so a suite run leaves no gigabytes behind.
impl Drop for TestApp {
    fn drop(&mut self) {
        let dir = &self.state.config.data_dir;
        let own = dir.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.starts_with(TEST_DATA_PREFIX));
        if own && dir.starts_with(std::env::temp_dir()) {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Names this test process's data directories.
const TEST_DATA_PREFIX: &str = "cadence-test-";

impl TestApp {
    pub async fn new() -> Self {
        Self::with_settings(&[]).await
    }

    /// An app whose configuration adds `settings` to the test defaults.
    pub async fn with_settings(settings: &[(&str, &str)]) -> Self {
        let db = TestDb::migrated().await;
        let router_and_state = Self::build(&db.url, settings);
        Self { state: router_and_state.1, router: router_and_state.0, db }
    }

    /// An app over `db` (e.g. one on a test's private PostgreSQL) with `settings` added.
    pub fn on_database(db: TestDb, settings: &[(&str, &str)]) -> Self {
        let (router, state) = Self::build(&db.url, settings);
        Self { state, router, db }
    }

    /// A second server over the same database (as after a restart, or a second instance).
    pub fn another_server(&self) -> Router {
        Self::build(&self.db.url, &[]).0
    }

    /// The state of another server over the same database and media directory, configured
    /// with `settings` (e.g. the sandbox's), for running its jobs.
    pub fn another_state(&self, settings: &[(&'static str, String)]) -> AppState {
        let data_dir = self.state.config.data_dir.display().to_string();
        let mut all: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        all.push(("CADENCE_DATA_DIR", &data_dir));
        Self::build(&self.db.url, &all).1
    }

    /// A router over another database (e.g. a restored one), configured with `settings`.
    pub fn router_over(database_url: &str, settings: &[(&str, &str)]) -> Router {
        Self::build(database_url, settings).0
    }

    fn build(database_url: &str, settings: &[(&str, &str)]) -> (Router, AppState) {
        let mut vars: Vec<(String, String)> = vec![
            ("DATABASE_URL".into(), database_url.into()),
            ("CADENCE_TOKEN_KEYS".into(), TEST_KEY.into()),
            ("CADENCE_SCHEDULER_ENABLED".into(), "false".into()),
            ("DATABASE_POOL_SIZE".into(), "4".into()),
            // Tests run `publish_due` at moments of their choosing, often ahead of the clock;
            // taking posts ahead of their time has tests of its own (`lead.rs`).
            ("CADENCE_PUBLISH_LEAD_MS".into(), "0".into()),
            // Most tests sign several people up from one address, each with a team of their own.
            ("CADENCE_SIGNUP".into(), "open".into()),
            ("CADENCE_SIGNUP_MAX_PER_IP".into(), "100000".into()),
            // Stored videos go to a directory of this test's own.
            (
                "CADENCE_DATA_DIR".into(),
                std::env::temp_dir().join(format!("{TEST_DATA_PREFIX}{}", uuid::Uuid::new_v4())).display().to_string(),
            ),
        ];
        // The first occurrence of a name counts, so the test's own settings go first.
        let mut given: Vec<(String, String)> = settings.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        given.append(&mut vars);
        let vars = given;
        let (config, cipher) = Config::from_vars(&vars).expect("test configuration is valid");
        // LEPTOS_SITE_ROOT is Leptos' setting, not Cadence's: a test that serves a site names it.
        let site_root = vars.iter().find(|(name, _)| name == "LEPTOS_SITE_ROOT").map(|(_, root)| root.clone());
        let options = match site_root {
            Some(root) => LeptosOptions::builder().output_name("cadence").site_root(root).build(),
            None => LeptosOptions::builder().output_name("cadence").build(),
        };
        // In sandbox mode the sandbox serves on a port of its own, as in production.
        let (state, _sandbox) = server::build_state(config, cipher, options).expect("state builds");
        (server::build_router(state.clone()), state)
    }

    /// An app that talks to `sandbox` (running on its own port) as if it were TikTok.
    pub async fn with_sandbox(sandbox: &super::sandbox::TestSandbox) -> Self {
        let settings = sandbox.app_settings();
        let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
        Self::with_settings(&refs).await
    }

    /// Signs `name` up through an invite link `owner` made for `role`; returns their client.
    pub async fn joined(&self, owner: &mut TestClient, role: &str, name: &str) -> TestClient {
        let invite: app::teams::types::CreatedInvite = owner.call("teams/invites/create", &[("role", role)]).await.unwrap();
        let mut client = self.client();
        let email = format!("{}@example.com", name.to_lowercase());
        let token = invite.path.trim_start_matches("/invite/");
        client
            .call::<()>(
                "auth/signup",
                &[("email", &email), ("password", PASSWORD), ("display_name", name), ("time_zone", "UTC"), ("invite", token)],
            )
            .await
            .unwrap();
        client
    }

    pub fn client(&self) -> TestClient {
        TestClient::new(self.router.clone())
    }

    pub async fn conn(&self) -> DbConn {
        self.state.pool.get().await.expect("test database connection")
    }

    /// Signs up a new account (which creates its own team) and returns the logged-in client.
    pub async fn signed_up(&self, name: &str) -> TestClient {
        let mut client = self.client();
        let email = format!("{}@example.com", name.to_lowercase());
        client
            .call::<()>(
                "auth/signup",
                &[
                    ("email", &email),
                    ("password", PASSWORD),
                    ("display_name", name),
                    ("time_zone", "Europe/Berlin"),
                ],
            )
            .await
            .expect("sign-up succeeds");
        client
    }
}

/// The password every test account uses.
pub const PASSWORD: &str = "correct horse battery staple";

/// One captured response.
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The `Set-Cookie` header that sets the cookie `name` (a response may set several).
    pub fn set_cookie(&self, name: &str) -> Option<&str> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|cookie| cookie.starts_with(&format!("{name}=")))
    }
}

/// Sends requests to the router like a browser on `HOST` would: same-origin, with cookies. A
/// clone is a second tab of the same browser (same session).
#[derive(Clone)]
pub struct TestClient {
    router: Router,
    pub cookie: Option<String>,
    pub peer: SocketAddr,
    /// The `Origin` header sent with POSTs; `None` sends none.
    pub origin: Option<String>,
    /// The device cookie (`app::auth::known_devices`) this browser was given at log-in.
    pub device: Option<String>,
}

impl TestClient {
    pub fn new(router: Router) -> Self {
        Self {
            router,
            cookie: None,
            peer: "127.0.0.1:50000".parse().unwrap(),
            origin: Some(format!("http://{HOST}")),
            device: None,
        }
    }

    /// The same browser talking to another server instance.
    pub fn on(&self, router: Router) -> Self {
        Self { router, cookie: self.cookie.clone(), peer: self.peer, origin: self.origin.clone(), device: self.device.clone() }
    }

    pub async fn send(&mut self, mut request: Request<Body>) -> TestResponse {
        let headers = request.headers_mut();
        headers.insert(header::HOST, HOST.parse().unwrap());
        let mut cookies = Vec::new();
        if let Some(cookie) = &self.cookie {
            cookies.push(format!("{}={cookie}", server::SESSION_COOKIE));
        }
        if let Some(device) = &self.device {
            cookies.push(format!("{}={device}", app::auth::known_devices::DEVICE_COOKIE));
        }
        if !cookies.is_empty() {
            headers.insert(header::COOKIE, cookies.join("; ").parse().unwrap());
        }
        request.extensions_mut().insert(ConnectInfo(self.peer));
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let (parts, body) = response.into_parts();
        for set_cookie in parts.headers.get_all(header::SET_COOKIE) {
            let set_cookie = set_cookie.to_str().unwrap();
            if let Some(rest) = set_cookie.strip_prefix(&format!("{}=", server::SESSION_COOKIE)) {
                let value = rest.split(';').next().unwrap_or_default();
                let removed = value.is_empty() || set_cookie.contains("Max-Age=0");
                self.cookie = (!removed).then(|| value.to_owned());
            }
            if let Some(rest) = set_cookie.strip_prefix(&format!("{}=", app::auth::known_devices::DEVICE_COOKIE)) {
                self.device = Some(rest.split(';').next().unwrap_or_default().to_owned()).filter(|v| !v.is_empty());
            }
        }
        let body = body.collect().await.expect("body").to_bytes().to_vec();
        TestResponse { status: parts.status, headers: parts.headers, body }
    }

    pub async fn get(&mut self, path: &str) -> TestResponse {
        self.send(Request::get(path).header(header::ACCEPT, "text/html").body(Body::empty()).unwrap()).await
    }

    /// POSTs a form to `path` the way the Leptos client calls server functions.
    pub async fn post_form(&mut self, path: &str, form: &[(&str, &str)]) -> TestResponse {
        let mut builder = Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(origin) = &self.origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        let body = serde_urlencoded::to_string(form).unwrap();
        builder = builder.header(header::CONTENT_LENGTH, body.len());
        self.send(builder.body(Body::from(body)).unwrap()).await
    }

    /// Calls the server function at `/api/<endpoint>` and decodes its result or its error.
    pub async fn call<T: DeserializeOwned>(&mut self, endpoint: &str, form: &[(&str, &str)]) -> Result<T, AppError> {
        let response = self.post_form(&format!("/api/{endpoint}"), form).await;
        if response.status.is_success() || response.status.is_redirection() {
            Ok(serde_json::from_slice(&response.body)
                .unwrap_or_else(|e| panic!("{endpoint}: cannot decode {:?}: {e}", response.text())))
        } else {
            Err(serde_json::from_slice(&response.body).unwrap_or_else(|_| {
                panic!("{endpoint}: HTTP {} with a body that is not an AppError: {:?}", response.status, response.text())
            }))
        }
    }

    /// `auth/session`: who the server thinks this client is.
    pub async fn session_info(&mut self) -> Option<app::auth::types::SessionInfo> {
        self.call("auth/session", &[]).await.expect("session info")
    }
}
