//! The TikTok sandbox on a real port (the app's TikTok client speaks HTTP), and a scripted
//! "person" clicking through its consent screen.

use super::{TestApp, TestClient};
use sandbox::{Sandbox, SandboxConfig};

pub struct TestSandbox {
    pub sandbox: Sandbox,
    pub url: String,
}

impl TestSandbox {
    pub async fn start() -> Self {
        Self::start_with(SandboxConfig::default()).await
    }

    pub async fn start_with(config: SandboxConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let sandbox = Sandbox::new(SandboxConfig { public_base_url: url.clone(), webhook_url: None, ..config });
        tokio::spawn(sandbox::serve(listener, sandbox.clone()));
        Self { sandbox, url }
    }

    /// Settings that make the app use this sandbox as TikTok.
    pub fn app_settings(&self) -> Vec<(&'static str, String)> {
        let config = self.sandbox.config();
        vec![
            ("CADENCE_TIKTOK_CLIENT_KEY", config.client_key.clone()),
            ("CADENCE_TIKTOK_CLIENT_SECRET", config.client_secret.clone()),
            ("CADENCE_TIKTOK_API_URL", self.url.clone()),
            ("CADENCE_TIKTOK_AUTH_URL", self.url.clone()),
        ]
    }

    pub fn open_id_of(&self, name: &str) -> String {
        self.sandbox.creators().into_iter().find(|c| c.display_name == name).unwrap().open_id
    }

    /// How many requests the sandbox saw on `path` with a body containing `needle`.
    pub fn count(&self, path: &str, needle: &str) -> usize {
        self.sandbox
            .requests()
            .iter()
            .filter(|r| r.path == path && r.body.as_deref().unwrap_or_default().contains(needle))
            .count()
    }
}

/// Starts a connection as `client`, consents on the sandbox as `creator` with every requested
/// scope ticked, and returns the path and query of TikTok's redirect back to Cadence (not yet
/// followed).
pub async fn consent(sandbox: &TestSandbox, client: &mut TestClient, creator: &str) -> String {
    let every = ["user.info.basic", "user.info.profile", "video.publish", "video.upload", "video.list"];
    consent_with(sandbox, client, creator, &every).await
}

/// The same, ticking only `scopes` on the consent screen (a person may grant a subset).
pub async fn consent_with(sandbox: &TestSandbox, client: &mut TestClient, creator: &str, scopes: &[&str]) -> String {
    let authorize_url: String = client.call("accounts/connect", &[]).await.expect("connect starts");
    assert!(authorize_url.starts_with(&format!("{}/v2/auth/authorize/?", sandbox.url)), "{authorize_url}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = http.get(&authorize_url).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(creator), "the consent screen lists the creators");
    let request_id = page
        .split("name=\"request_id\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a request id on the consent screen")
        .to_owned();
    let open_id = sandbox.open_id_of(creator);
    let mut form: Vec<(&str, &str)> = vec![("request_id", &request_id), ("open_id", &open_id)];
    form.extend(scopes.iter().map(|scope| ("scope", *scope)));
    let decided = http.post(format!("{}/v2/auth/authorize/", sandbox.url)).form(&form).send().await.unwrap();
    assert_eq!(decided.status(), 302);
    let location = decided.headers()["location"].to_str().unwrap().to_owned();
    let callback = location.strip_prefix("http://127.0.0.1:3000").expect("redirects to Cadence's callback").to_owned();
    assert!(callback.starts_with("/oauth/tiktok/callback?"), "{callback}");
    callback
}

/// A sandbox, an app using it, its owner Olga (in Berlin) and the id of the TikTok account
/// "Maya Public" she connected.
pub async fn owner_with_account() -> (TestSandbox, TestApp, TestClient, String) {
    let sandbox = TestSandbox::start().await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let mut owner = app.signed_up("Olga").await;
    connect(&sandbox, &mut owner, "Maya Public").await;
    let accounts: Vec<app::accounts::types::AccountView> = owner.call("accounts/list", &[]).await.unwrap();
    let account = accounts[0].id.to_string();
    (sandbox, app, owner, account)
}

/// Connects `creator` for `client`'s team end to end; returns where Cadence sent the browser.
pub async fn connect(sandbox: &TestSandbox, client: &mut TestClient, creator: &str) -> String {
    let callback = consent(sandbox, client, creator).await;
    let landed = client.get(&callback).await;
    landed.header("location").expect("the callback redirects").to_owned()
}

/// An app wired to a fresh sandbox, with one editor-owner signed up.
pub async fn app_with_sandbox() -> (TestSandbox, TestApp, TestClient) {
    let sandbox = TestSandbox::start_with(SandboxConfig::default()).await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

/// An app over a sandbox that finishes processing in 50 ms, with one owner signed up.
pub async fn fast_app_with_sandbox() -> (TestSandbox, TestApp, TestClient) {
    let sandbox = TestSandbox::start_with(SandboxConfig {
        processing_delay: std::time::Duration::from_millis(50),
        ..Default::default()
    })
    .await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

/// Connects `creator` for `client`'s team and returns the account's id.
pub async fn connected_account(sandbox: &TestSandbox, client: &mut TestClient, creator: &str) -> String {
    connect(sandbox, client, creator).await;
    let accounts: Vec<app::accounts::types::AccountView> = client.call("accounts/list", &[]).await.unwrap();
    accounts.into_iter().find(|a| a.display_name == creator).unwrap().id.to_string()
}

