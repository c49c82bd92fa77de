//! The edge: health, pages, security headers, the origin check, body limits, migrations.

use crate::util::{TestApp, test_db::TestDb};
use axum::http::StatusCode;

#[tokio::test(flavor = "multi_thread")]
async fn healthz_reports_the_database() {
    let app = TestApp::new().await;
    let response = app.client().get("/healthz").await;
    assert_eq!(response.status, StatusCode::OK);
    let health: serde_json::Value = serde_json::from_slice(&response.body).unwrap();
    assert_eq!(health["status"], "ok", "{health}");
    assert!(health["jobs"].is_object() && health["breakers"].is_object(), "{health}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_render_and_signed_in_pages_send_visitors_to_log_in() {
    let app = TestApp::new().await;
    let mut visitor = app.client();

    let login = visitor.get("/login").await;
    assert_eq!(login.status, StatusCode::OK);
    let html = login.text();
    assert!(html.contains("<h1 id=\"auth-title\">Log in</h1>"), "{html}");
    assert!(html.contains("Sandbox mode"), "the sandbox banner shows without TikTok credentials");

    let team = visitor.get("/team").await;
    assert_eq!(team.status, StatusCode::FOUND, "{}", team.text());
    assert_eq!(team.header("location"), Some("/login?next=/team"));

    let missing = visitor.get("/no/such/page").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert!(missing.text().contains("Page not found"));

    let mut ana = app.signed_up("Ana").await;
    let dashboard = ana.get("/").await;
    assert_eq!(dashboard.status, StatusCode::OK);
    assert!(dashboard.text().contains("Welcome, Ana"), "{}", dashboard.text());
}

#[tokio::test(flavor = "multi_thread")]
async fn responses_carry_security_headers_and_a_csp_nonce_on_the_hydration_script() {
    let app = TestApp::new().await;
    let response = app.client().get("/login").await;
    let csp = response.header("content-security-policy").expect("CSP header").to_owned();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("'wasm-unsafe-eval'"), "{csp}");
    let nonce = csp.split("'nonce-").nth(1).and_then(|rest| rest.split('\'').next()).expect("a nonce");
    assert!(response.text().contains(&format!("nonce=\"{nonce}\"")), "the inline scripts carry the nonce");
    assert_eq!(response.header("x-frame-options"), Some("DENY"));
    assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(response.header("referrer-policy"), Some("strict-origin-when-cross-origin"));

    let other = app.client().get("/login").await;
    assert_ne!(other.header("content-security-policy"), Some(csp.as_str()), "a fresh nonce per response");
}

#[tokio::test(flavor = "multi_thread")]
async fn session_cookies_are_http_only_and_same_site_lax() {
    let app = TestApp::new().await;
    let mut client = app.client();
    let response = client
        .post_form(
            "/api/auth/signup",
            &[("email", "ana@example.com"), ("password", "correct horse battery staple"), ("display_name", "Ana"), ("time_zone", "UTC")],
        )
        .await;
    let cookie = response.set_cookie("cadence_session").expect("a session cookie");
    assert!(cookie.starts_with("cadence_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain-http local runs cannot use Secure cookies");

    let https = TestApp::with_settings(&[("CADENCE_PUBLIC_URL", "https://cadence.example.com")]).await;
    let mut client = https.client();
    client.origin = Some("https://cadence.example.com".into());
    let response = client
        .post_form(
            "/api/auth/signup",
            &[("email", "ana@example.com"), ("password", "correct horse battery staple"), ("display_name", "Ana"), ("time_zone", "UTC")],
        )
        .await;
    assert!(response.set_cookie("__Host-cadence_session").unwrap().contains("Secure"));
}

#[tokio::test(flavor = "multi_thread")]
async fn cross_origin_state_changes_are_refused() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    ana.origin = Some("https://evil.example".into());
    let response = ana.post_form("/api/teams/create", &[("name", "Evil")]).await;
    assert_eq!(response.status, StatusCode::FORBIDDEN);
    ana.origin = Some("http://127.0.0.1:3000".into());
    assert_eq!(ana.session_info().await.unwrap().teams.len(), 1, "nothing was created");
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_request_bodies_are_refused() {
    let app = TestApp::with_settings(&[("CADENCE_BODY_LIMIT_BYTES", "4096")]).await;
    let big = "x".repeat(8192);
    let response = app.client().post_form("/api/auth/login", &[("email", &big), ("password", "x")]).await;
    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_apply_revert_and_reapply_cleanly() {
    let db = TestDb::empty().await;
    let count = server::migrations::embedded_count();
    assert!(count >= 1);
    assert_eq!(server::migrations::run_pending(&db.url).await.unwrap(), count);
    assert_eq!(server::migrations::run_pending(&db.url).await.unwrap(), 0, "idempotent");
    assert_eq!(server::migrations::revert_all(&db.url).await.unwrap(), count, "every down.sql runs");
    assert_eq!(server::migrations::run_pending(&db.url).await.unwrap(), count);
}

#[tokio::test(flavor = "multi_thread")]
async fn migrations_match_the_schema() {
    use diesel::QueryDsl as _;
    use diesel_async::RunQueryDsl as _;
    use app::db::schema::*;

    // Selecting every column diesel knows fails if a name or a type disagrees with the table.
    let app = TestApp::new().await;
    let mut conn = app.conn().await;
    users::table.select(users::all_columns).load::<(uuid::Uuid, String, String, String, String, time::OffsetDateTime, time::OffsetDateTime, i32)>(&mut conn).await.unwrap();
    teams::table.select(teams::all_columns).load::<(uuid::Uuid, String, time::OffsetDateTime, bool)>(&mut conn).await.unwrap();
    memberships::table.select(memberships::all_columns).load::<(uuid::Uuid, uuid::Uuid, String, time::OffsetDateTime, Option<bool>)>(&mut conn).await.unwrap();
    invites::table
        .select(invites::all_columns)
        .load::<(uuid::Uuid, uuid::Uuid, String, String, uuid::Uuid, time::OffsetDateTime, time::OffsetDateTime, Option<time::OffsetDateTime>, Option<uuid::Uuid>, Option<time::OffsetDateTime>)>(&mut conn)
        .await
        .unwrap();
    login_failures::table.select(login_failures::all_columns).load::<(i64, String, time::OffsetDateTime)>(&mut conn).await.unwrap();
    sessions::table.select(sessions::all_columns).load::<(String, serde_json::Value, time::OffsetDateTime)>(&mut conn).await.unwrap();
    tiktok_accounts::table
        .select(<app::accounts::ssr::TikTokAccount as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load::<app::accounts::ssr::TikTokAccount>(&mut conn)
        .await
        .unwrap();
    oauth_states::table.select(oauth_states::all_columns).load::<(String, uuid::Uuid, uuid::Uuid, time::OffsetDateTime, time::OffsetDateTime)>(&mut conn).await.unwrap();
    tiktok_webhook_events::table
        .select(tiktok_webhook_events::all_columns)
        .load::<(i64, String, String, String, serde_json::Value, i64, time::OffsetDateTime, Option<time::OffsetDateTime>)>(&mut conn)
        .await
        .unwrap();

    posts::table
        .select(<app::posts::ssr::Post as diesel::SelectableHelper<diesel::pg::Pg>>::as_select())
        .load::<app::posts::ssr::Post>(&mut conn)
        .await
        .unwrap();
    posts::table.select(posts::listed_at).load::<time::OffsetDateTime>(&mut conn).await.unwrap();
    posts::table.select((posts::approved_by, posts::approved_at)).load::<(Option<uuid::Uuid>, Option<time::OffsetDateTime>)>(&mut conn).await.unwrap();
    posts::table.select(posts::thumbnail_jpeg).load::<Option<Vec<u8>>>(&mut conn).await.unwrap();
    posts::table.select(posts::downloaded_bytes).load::<Option<i64>>(&mut conn).await.unwrap();
    media::table.select(media::all_columns).load::<(uuid::Uuid, uuid::Uuid, String, i64, String, Option<i32>, Option<i32>, Option<i32>, Option<String>, Option<uuid::Uuid>, time::OffsetDateTime, Option<time::OffsetDateTime>)>(&mut conn).await.unwrap();
    post_events::table.select(post_events::all_columns).load::<(i64, uuid::Uuid, time::OffsetDateTime, String, String)>(&mut conn).await.unwrap();
    audit_events::table
        .select(audit_events::all_columns)
        .load::<(i64, uuid::Uuid, Option<uuid::Uuid>, String, time::OffsetDateTime, String, Option<String>, String, String, Option<serde_json::Value>, Option<serde_json::Value>)>(&mut conn)
        .await
        .unwrap();
    post_comments::table
        .select(post_comments::all_columns)
        .load::<(uuid::Uuid, uuid::Uuid, Option<uuid::Uuid>, String, time::OffsetDateTime, Option<String>, Option<uuid::Uuid>)>(&mut conn)
        .await
        .unwrap();
    preview_links::table
        .select(preview_links::all_columns)
        .load::<(uuid::Uuid, uuid::Uuid, String, String, Option<uuid::Uuid>, time::OffsetDateTime, time::OffsetDateTime, Option<time::OffsetDateTime>, Option<uuid::Uuid>)>(&mut conn)
        .await
        .unwrap();
    drafts::table
        .select(drafts::all_columns)
        .load::<(uuid::Uuid, uuid::Uuid, Option<uuid::Uuid>, Option<uuid::Uuid>, serde_json::Value, Option<uuid::Uuid>, time::OffsetDateTime, time::OffsetDateTime, Option<Vec<u8>>, Option<Vec<uuid::Uuid>>, Option<serde_json::Value>)>(&mut conn)
        .await
        .unwrap();
    preview_link_posts::table.select(preview_link_posts::all_columns).load::<(uuid::Uuid, uuid::Uuid)>(&mut conn).await.unwrap();
    email_preferences::table
        .select(email_preferences::all_columns)
        .load::<(uuid::Uuid, uuid::Uuid, bool, bool, bool, bool, bool, time::OffsetDateTime, bool, bool)>(&mut conn)
        .await
        .unwrap();
    notifications::table.select(notifications::all_columns).load::<(i64, uuid::Uuid, String, Option<uuid::Uuid>, Option<uuid::Uuid>, String, time::OffsetDateTime, Option<time::OffsetDateTime>, Option<uuid::Uuid>)>(&mut conn).await.unwrap();
    tiktok_calls::table.select(tiktok_calls::all_columns).load::<(i64, uuid::Uuid, String, time::OffsetDateTime)>(&mut conn).await.unwrap();
    tiktok_videos::table
        .select(tiktok_videos::all_columns)
        .load::<(uuid::Uuid, String, uuid::Uuid, Option<uuid::Uuid>, String, Option<String>, time::OffsetDateTime, time::OffsetDateTime, time::OffsetDateTime, i64, i64, i64, i64, Option<i64>)>(&mut conn)
        .await
        .unwrap();
    video_snapshots::table.select(video_snapshots::all_columns).load::<(uuid::Uuid, String, time::OffsetDateTime, i64, i64, i64, i64)>(&mut conn).await.unwrap();
    account_snapshots::table
        .select(account_snapshots::all_columns)
        .load::<(uuid::Uuid, time::OffsetDateTime, Option<i64>, Option<i64>, Option<i64>, Option<i64>, i64, i64, i64, i64)>(&mut conn)
        .await
        .unwrap();

    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let columns: Count = diesel::sql_query(
        "SELECT count(*) AS n FROM information_schema.columns WHERE table_schema = 'public' \
         AND table_name IN ('users','teams','memberships','invites','login_failures','sessions', \
         'tiktok_accounts','oauth_states','tiktok_webhook_events','media','posts','post_events','tiktok_calls','notifications', \
         'tiktok_videos','video_snapshots','account_snapshots','post_comments','audit_events','preview_links','preview_link_posts', \
         'email_preferences','drafts')",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert_eq!(columns.n, 8 + 4 + 5 + 10 + 3 + 3 + 23 + 5 + 8 + 12 + 44 + 5 + 4 + 9 + 14 + 7 + 10 + 7 + 11 + 9 + 2 + 10 + 11, "a column exists in SQL that schema.rs does not know");
}

#[tokio::test(flavor = "multi_thread")]
async fn server_function_errors_carry_a_matching_http_status() {
    let app = TestApp::with_settings(&[("CADENCE_LOGIN_MAX_FAILURES_PER_ACCOUNT", "1")]).await;
    let mut client = app.client();
    let anonymous = client.post_form("/api/teams/members", &[]).await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);

    app.signed_up("Ana").await;
    client.peer = "203.0.113.77:1000".parse().unwrap();
    let wrong = client.post_form("/api/auth/login", &[("email", "ana@example.com"), ("password", "wrong wrong wrong")]).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    let limited = client.post_form("/api/auth/login", &[("email", "ana@example.com"), ("password", "wrong wrong wrong")]).await;
    assert_eq!(limited.status, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=900).contains(&retry_after));

    let mut bo = app.signed_up("Bo").await;
    let missing = bo.post_form("/api/teams/switch", &[("team_id", &uuid::Uuid::new_v4().to_string())]).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn many_concurrent_pages_never_deadlock_a_small_pool() {
    // A request that held one pooled connection while the session store waited for another
    // once froze the server under load: with more requests than connections, none finished.
    let app = TestApp::with_settings(&[("DATABASE_POOL_SIZE", "2")]).await;
    let client = app.signed_up("Ana").await;
    let pages = (0..16).map(|i| {
        let mut client = client.on(app.router.clone());
        tokio::spawn(async move { client.get(if i % 2 == 0 { "/" } else { "/calendar" }).await.status })
    });
    let statuses = tokio::time::timeout(std::time::Duration::from_secs(30), futures_util::future::join_all(pages))
        .await
        .expect("every page finished");
    assert!(statuses.into_iter().all(|s| s.unwrap() == http::StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_render_while_other_routers_are_being_built() {
    // Building a router used to find its routes by rendering the app with resource loading
    // switched off process-wide; a page rendered meanwhile (another test's, in the same
    // process) got resources that never loaded and hung. This is what made the test above
    // time out in full-suite runs.
    let app = TestApp::new().await;
    let client = app.signed_up("Ana").await;
    let building = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let builder = {
        let (building, state) = (building.clone(), app.state.clone());
        tokio::task::spawn_blocking(move || {
            let mut built = 0;
            while building.load(std::sync::atomic::Ordering::Relaxed) {
                drop(server::build_router(state.clone()));
                built += 1;
            }
            built
        })
    };
    let pages = (0..24).map(|i| {
        let mut client = client.on(app.router.clone());
        tokio::spawn(async move { client.get(if i % 2 == 0 { "/" } else { "/calendar" }).await.status })
    });
    let statuses = tokio::time::timeout(std::time::Duration::from_secs(30), futures_util::future::join_all(pages)).await;
    building.store(false, std::sync::atomic::Ordering::Relaxed);
    let built = builder.await.unwrap();
    let statuses = statuses.expect("every page finished while routers were being built");
    assert!(built > 0, "routers were built while the pages rendered");
    assert!(statuses.into_iter().all(|s| s.unwrap() == http::StatusCode::OK));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_cannot_get_a_connection_answers_503_instead_of_waiting_forever() {
    let app = TestApp::with_settings(&[("DATABASE_POOL_SIZE", "1"), ("CADENCE_DATABASE_WAIT_SECS", "1")]).await;
    let mut client = app.signed_up("Ana").await;
    // The pool's only connection is taken (as by a request stuck behind a slow dependency).
    let held = app.conn().await;
    let deadline = std::time::Duration::from_secs(20);

    let page = tokio::time::timeout(deadline, client.get("/")).await.expect("the page answered instead of waiting");
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text().contains("Cadence is briefly unavailable. Please try again in a moment."), "{}", page.text());

    let api = tokio::time::timeout(deadline, client.post_form("/api/accounts/list", &[]))
        .await
        .expect("the API call answered instead of waiting");
    assert_eq!(api.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(serde_json::from_slice::<app::error::AppError>(&api.body).unwrap(), app::error::AppError::Unavailable);

    drop(held);
    assert_eq!(client.get("/").await.status, StatusCode::OK, "the same session works once a connection is free");
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_in_answers_are_not_stored_and_https_gets_hsts_and_a_host_only_cookie() {
    let app = TestApp::new().await;
    let mut ana = app.signed_up("Ana").await;
    let page = ana.get("/").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header("cache-control"), Some("no-store"), "signed-in pages are not kept in caches");
    let api = ana.post_form("/api/auth/session", &[]).await;
    assert_eq!(api.header("cache-control"), Some("no-store"), "API answers are not kept in caches");
    assert_eq!(page.header("strict-transport-security"), None, "no HSTS over plain http");

    let secure = TestApp::with_settings(&[("CADENCE_PUBLIC_URL", "https://cadence.example.com")]).await;
    let mut client = secure.client();
    client.origin = Some("https://cadence.example.com".into());
    let signed_up = client
        .post_form(
            "/api/auth/signup",
            &[("email", "bo@example.com"), ("password", crate::util::test_app::PASSWORD), ("display_name", "Bo"), ("time_zone", "UTC")],
        )
        .await;
    assert!(signed_up.status.is_success() || signed_up.status.is_redirection(), "{}", signed_up.text());
    let cookie = signed_up.set_cookie("__Host-cadence_session").expect("a session cookie");
    assert!(cookie.starts_with("__Host-cadence_session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/"), "{cookie}");
    let device = signed_up.set_cookie("__Host-cadence_device").expect("a device cookie, host-only too");
    assert!(device.contains("Secure") && device.contains("HttpOnly") && device.contains("Path=/"), "{device}");
    assert!(signed_up.header("strict-transport-security").is_some_and(|v| v.starts_with("max-age=")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sandbox_mode_server_answers_only_loopback_hosts() {
    use tower::ServiceExt as _;
    let app = TestApp::new().await;
    let request = |host: &str| {
        axum::http::Request::get("/healthz")
            .header(axum::http::header::HOST, host)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let rebound = app.router.clone().oneshot(request("attacker.example:3000")).await.unwrap();
    assert_eq!(rebound.status(), axum::http::StatusCode::MISDIRECTED_REQUEST, "a DNS-rebound page gets nothing");
    let local = app.router.clone().oneshot(request("localhost:3000")).await.unwrap();
    assert_eq!(local.status(), axum::http::StatusCode::OK);

    // A configured public URL is a real deployment: its proxy decides the hosts.
    let public = TestApp::with_settings(&[("CADENCE_PUBLIC_URL", "https://cadence.example.com")]).await;
    let proxied = public.router.clone().oneshot(request("cadence.example.com")).await.unwrap();
    assert_eq!(proxied.status(), axum::http::StatusCode::OK);
}

#[test]
fn a_browser_that_leaves_mid_render_is_no_error_and_its_loads_stop() {
    let logs = crate::util::logs::logs_of(|| async {
        let app = TestApp::with_settings(&[("DATABASE_POOL_SIZE", "1"), ("CADENCE_DATABASE_WAIT_SECS", "20")]).await;
        let client = app.signed_up("Ana").await;
        // The only connection is taken, so the dashboard's loads wait for it mid-render.
        let held = app.conn().await;
        let mut leaving = client.on(app.router.clone());
        let page = tokio::spawn(async move { leaving.get("/").await });
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        page.abort();
        match page.await {
            Err(left) => assert!(left.is_cancelled()),
            Ok(page) => panic!("the page was rendered ({}) before the browser left", page.status),
        }
        tracing::info!("the browser has gone");
        drop(held);
        // Whatever the render had started would now run; give it the time to.
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        let mut staying = client.on(app.router.clone());
        assert_eq!(staying.get("/").await.status, StatusCode::OK, "the next visitor is served");
    });
    let after = logs.split_once("the browser has gone").expect("the journey ran").1;
    for level in [" ERROR ", " WARN "] {
        assert!(!after.contains(level), "a page left mid-render logged at{level}level:\n{after}");
    }
    assert_eq!(logs.matches("the browser went away before its page was rendered").count(), 1, "logged once, at debug:\n{logs}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_bundle_goes_out_by_its_hashed_names_precompressed_and_kept_for_a_year() {
    use axum::{body::Body, http::Request};
    // A site as build_site leaves it: hashed names listed in hash.txt, and (as packaged) a
    // brotli copy beside the wasm.
    let site = std::env::temp_dir().join(format!("cadence-site-{}", uuid::Uuid::new_v4()));
    let pkg = site.join("pkg");
    std::fs::create_dir_all(pkg.join("snippets/leptos")).unwrap();
    std::fs::write(site.join("hash.txt"), "js: 11aa\nwasm: 22bb\ncss: 33cc\n").unwrap();
    std::fs::write(pkg.join("cadence.11aa.js"), "export default function init() {}").unwrap();
    std::fs::write(pkg.join("cadence.22bb.wasm"), b"\0asm plain").unwrap();
    std::fs::write(pkg.join("cadence.22bb.wasm.br"), b"brotli bytes").unwrap();
    std::fs::write(pkg.join("cadence.33cc.css"), "body {}").unwrap();
    std::fs::write(pkg.join("snippets/leptos/inline0.js"), "export {}").unwrap();
    let root = site.display().to_string();
    let app = TestApp::with_settings(&[("LEPTOS_SITE_ROOT", &root)]).await;
    let mut client = app.client();

    let page = client.get("/login").await.text();
    for name in ["/pkg/cadence.11aa.js", "/pkg/cadence.22bb.wasm", "/pkg/cadence.33cc.css"] {
        assert!(page.contains(name), "the page asks for {name}: {page}");
    }
    assert!(!page.contains("/pkg/cadence.css") && !page.contains("/pkg/cadence.wasm"), "{page}");

    let wasm = client.get("/pkg/cadence.22bb.wasm").await;
    assert_eq!(wasm.status, StatusCode::OK);
    assert_eq!(wasm.header("cache-control"), Some(app::assets::IMMUTABLE));
    assert_eq!(wasm.header("content-type"), Some("application/wasm"));
    assert_eq!(wasm.body, b"\0asm plain");

    let request = Request::get("/pkg/cadence.22bb.wasm").header("accept-encoding", "gzip, br").body(Body::empty()).unwrap();
    let compressed = client.send(request).await;
    assert_eq!(compressed.header("content-encoding"), Some("br"));
    assert_eq!(compressed.body, b"brotli bytes", "the precompressed copy, not a compression per request");
    assert_eq!(compressed.header("cache-control"), Some(app::assets::IMMUTABLE));

    let css = client.get("/pkg/cadence.33cc.css").await;
    assert_eq!((css.status, css.header("cache-control")), (StatusCode::OK, Some(app::assets::IMMUTABLE)));
    let snippet = client.get("/pkg/snippets/leptos/inline0.js").await;
    assert_eq!(snippet.status, StatusCode::OK);
    assert_eq!(snippet.header("cache-control"), Some("no-cache"), "a name without a hash is revalidated");
    assert_eq!(client.get("/pkg/cadence.wasm").await.status, StatusCode::NOT_FOUND);
    std::fs::remove_dir_all(&site).unwrap();
}
