//! What the benchmarks share: a release server as its own process, and a person signing up and
//! connecting a sandbox creator over HTTP.

use sandbox::{Sandbox, SandboxConfig};
use std::{
    process::{Child, Command},
    time::Duration,
};

/// A release server as its own process, talking to the benchmark's sandbox as TikTok.
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    pub fn start(
        database_url: &str,
        sandbox_url: &str,
        config: &SandboxConfig,
        data_dir: &std::path::Path,
        port: u16,
        extra: &[(&str, &str)],
    ) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_server"))
            .envs(extra.iter().copied())
            .env("DATABASE_URL", database_url)
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
            .env("LEPTOS_SITE_ROOT", data_dir.join("site"))
            .env("CADENCE_DATA_DIR", data_dir)
            .env("CADENCE_TOKEN_KEYS", "bench:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")
            .env("CADENCE_TIKTOK_CLIENT_KEY", &config.client_key)
            .env("CADENCE_TIKTOK_CLIENT_SECRET", &config.client_secret)
            .env("CADENCE_TIKTOK_API_URL", sandbox_url)
            .env("CADENCE_TIKTOK_AUTH_URL", sandbox_url)
            // Every creator signs up from this one address with a team of their own.
            .env("CADENCE_SIGNUP", "open")
            .env("CADENCE_SIGNUP_MAX_PER_IP", "100000")
            .env("RUST_LOG", "warn")
            .spawn()
            .expect("the server binary starts");
        Self { child, port }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on now, for a server to bind.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

pub async fn wait_healthy(http: &reqwest::Client, base: &str) {
    for _ in 0..300 {
        if http.get(format!("{base}/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the server did not come up");
}

/// The session cookie of a new owner signed up as `email`.
pub async fn sign_up(http: &reqwest::Client, base: &str, email: &str) -> String {
    let response = http
        .post(format!("{base}/api/auth/signup"))
        .header("origin", base)
        .form(&[
            ("email", email),
            ("password", "bench password that is long"),
            ("display_name", "Bench"),
            ("time_zone", "UTC"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "sign-up: {}", response.status());
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("cadence_session="))
        .expect("a session cookie");
    cookie.split(';').next().unwrap().to_owned()
}

/// Consents as `creator` on the sandbox's screen; returns the connected account's id.
pub async fn connect(http: &reqwest::Client, base: &str, session: &str, sandbox: &Sandbox, sandbox_url: &str, creator: &str) -> String {
    authorize(http, base, session, sandbox, sandbox_url, creator).await;
    let accounts: serde_json::Value =
        http.post(format!("{base}/api/accounts/list")).header("origin", base).header("cookie", session).send().await.unwrap().json().await.unwrap();
    accounts[0]["id"].as_str().unwrap().to_owned()
}

/// Connects `creator` to the team through TikTok's OAuth, as a person would.
pub async fn authorize(http: &reqwest::Client, base: &str, session: &str, sandbox: &Sandbox, sandbox_url: &str, creator: &str) {
    let authorize_url: String = http
        .post(format!("{base}/api/accounts/connect"))
        .header("origin", base)
        .header("cookie", session)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let callback = consent(http, &authorize_url, sandbox_url, sandbox, creator).await;
    let landed = http.get(callback).header("cookie", session).send().await.unwrap();
    assert!(landed.status().is_redirection(), "callback: {}", landed.status());
}

/// Clicks through the sandbox's consent screen; returns TikTok's redirect back.
pub async fn consent(http: &reqwest::Client, authorize_url: &str, sandbox_url: &str, sandbox: &Sandbox, creator: &str) -> String {
    let page = http.get(authorize_url).send().await.unwrap().text().await.unwrap();
    let Some(request_id) = page.split("name=\"request_id\" value=\"").nth(1).and_then(|rest| rest.split('"').next()) else {
        panic!("no consent form at {authorize_url}:\n{page}");
    };
    let request_id = request_id.to_owned();
    let open_id = sandbox.creators().into_iter().find(|c| c.display_name == creator).unwrap().open_id;
    let mut form = vec![("request_id", request_id), ("open_id", open_id)];
    for scope in ["user.info.basic", "user.info.profile", "video.publish", "video.upload"] {
        form.push(("scope", scope.to_owned()));
    }
    let decided = http.post(format!("{sandbox_url}/v2/auth/authorize/")).form(&form).send().await.unwrap();
    decided.headers()["location"].to_str().unwrap().to_owned()
}

/// What `wrk` measured for one URL.
#[derive(Clone)]
#[allow(dead_code)] // not every benchmark reads every figure
pub struct WrkResult {
    pub requests_per_second: f64,
    pub p50: String,
    pub p99: String,
}

/// Ten seconds of `wrk` on `url` with `connections` open, as a signed-in browser asking for
/// HTML; fails the benchmark if any answer was not 2xx.
#[allow(dead_code)] // not every benchmark serves pages
pub fn wrk(url: &str, cookie: &str, connections: u32) -> WrkResult {
    let output = Command::new("wrk")
        .args(["-t2", &format!("-c{connections}"), "-d10s", "--latency", "-H", &format!("Cookie: {cookie}"), "-H", "Accept: text/html", url])
        .output()
        .expect("wrk is installed (scripts/bench installs Debian's)");
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!text.contains("Non-2xx"), "{url} answered errors:\n{text}");
    assert!(text.contains("Requests/sec:") && !text.contains("Requests/sec:      0.00"), "{url}: wrk says\n{text}\n{}", String::from_utf8_lossy(&output.stderr));
    let field = |prefix: &str| {
        text.lines().find(|line| line.trim_start().starts_with(prefix)).and_then(|line| line.split_whitespace().nth(1)).unwrap_or("?").to_owned()
    };
    WrkResult { requests_per_second: field("Requests/sec:").parse().unwrap_or(0.0), p50: field("50%"), p99: field("99%") }
}
