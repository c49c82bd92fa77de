//! Login Kit: the consent page, the token endpoint (codes, refresh, rotation) and revoke.

use crate::harness::*;

#[tokio::test]
async fn consent_page_lists_requested_scopes_and_every_creator() {
    let h = Harness::new(config());
    let page = h.authorize_page("user.info.basic,video.publish,video.upload", "s").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.header("content-type").unwrap().starts_with("text/html"));
    let html = page.text();
    for creator in h.sandbox.creators() {
        assert!(html.contains(&creator.display_name), "{} missing", creator.display_name);
        assert!(html.contains(&format!("value=\"{}\"", creator.open_id)));
    }
    assert!(html.contains("name=\"scope\" value=\"video.publish\" checked"));
    assert!(html.contains("name=\"scope\" value=\"video.upload\" checked"));
    assert!(!html.contains("value=\"video.list\""), "only requested scopes are offered");
    assert!(html.contains("user.info.basic"));
    assert!(html.contains(">Authorize</button>") && html.contains(">Cancel</a>"));
    assert!(!html.contains("<script") && !html.contains("style="), "the host CSP forbids inline scripts and styles");
}

#[tokio::test]
async fn full_code_flow_with_a_partial_grant() {
    let h = Harness::new(config());
    let params = h.consent(MAYA, "user.info.basic,video.publish,video.list", &["video.publish"]).await;
    assert_eq!(param(&params, "state"), "csrf-state-1");
    assert_eq!(param(&params, "scopes"), "user.info.basic,video.publish", "video.list was unticked");
    let code = param(&params, "code");
    assert!(code.contains('*') && code.contains('!'), "codes need URL-decoding: {code}");

    let reply = h.exchange(code, REDIRECT).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert!(body.get("data").is_none() && body.get("error").is_none(), "flat JSON: {body}");
    let mut keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["access_token", "expires_in", "open_id", "refresh_expires_in", "refresh_token", "scope", "token_type"]
    );
    assert!(body["access_token"].as_str().unwrap().starts_with("act."));
    assert!(body["refresh_token"].as_str().unwrap().starts_with("rft."));
    assert_eq!(body["expires_in"], 7200);
    assert_eq!(body["refresh_expires_in"], 15_552_000);
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["open_id"], h.open_id(MAYA));
    assert_eq!(body["scope"], "user.info.basic,video.publish");

    // The token works, and the code cannot be spent twice.
    let tokens = tokens(&body);
    let info = h.api_get("/v2/user/info/?fields=open_id,display_name", &tokens.access).await;
    assert_eq!(info.json()["data"]["user"]["display_name"], MAYA);
    assert_oauth_error(&h.exchange(code, REDIRECT).await, StatusCode::OK, "invalid_grant");
}

#[tokio::test]
async fn redirect_uri_must_match_the_authorize_request() {
    let h = Harness::new(config());
    let params = h.consent(LEO, "user.info.basic", &[]).await;
    let code = param(&params, "code");
    let reply = h.exchange(code, "https://cadence.test/other/callback").await;
    assert_oauth_error(&reply, StatusCode::OK, "invalid_request");
    assert_eq!(reply.json()["error_description"], "Redirect_uri is not matched with the uri when requesting code.");
    // The mismatch did not spend the code.
    assert_eq!(h.exchange(code, REDIRECT).await.status, StatusCode::OK);
    assert_oauth_error(&h.exchange("made-up*code!0000", REDIRECT).await, StatusCode::OK, "invalid_grant");
}

/// The authorize URL with `overrides` replacing (or, with an empty value, removing) the
/// parameters of a valid request.
fn authorize_uri(overrides: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("client_key", "sbx_client_key"),
        ("response_type", "code"),
        ("scope", "user.info.basic"),
        ("redirect_uri", REDIRECT),
        ("state", "s"),
    ];
    for (key, value) in overrides {
        pairs.retain(|(name, _)| name != key);
        if !value.is_empty() {
            pairs.push((key, value));
        }
    }
    format!("/v2/auth/authorize/?{}", form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish())
}

/// Asserts TikTok's error page (HTTP 400, no redirect) naming `error`.
fn assert_error_page(reply: &Reply, error: &str, case: &str) {
    assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{case}: {}", reply.text());
    assert!(reply.header("location").is_none(), "no redirect for {case}");
    assert!(reply.text().contains(error), "{case}: {}", reply.text());
}

#[tokio::test]
async fn authorize_request_errors_show_an_error_page() {
    let h = Harness::new(config());
    let cases = [
        (vec![("client_key", "nope")], "invalid_client"),
        (vec![("client_key", "")], "invalid_request"),
        (vec![("response_type", "token")], "unsupported_response_type"),
        (vec![("redirect_uri", "/cb")], "invalid_request"),
        (vec![("state", "")], "invalid_request"),
    ];
    for (overrides, error) in cases {
        assert_error_page(&h.get(&authorize_uri(&overrides)).await, error, &format!("{overrides:?}"));
    }
}

#[tokio::test]
async fn redirect_uris_must_be_registered_exactly() {
    let loopback = "http://localhost:8080/oauth/tiktok/callback";
    let h = Harness::new(SandboxConfig {
        registered_redirect_uris: vec![REDIRECT.to_owned(), loopback.to_owned(), "http://cadence.test/cb".to_owned()],
        ..config()
    });
    let refused = [
        "https://elsewhere.test/auth/tiktok/callback".to_owned(),
        format!("{REDIRECT}/"),
        format!("{REDIRECT}?next=%2Fhome"),
        format!("{REDIRECT}#top"),
        REDIRECT.replace("https://", "http://"),
        // Registered, but TikTok only takes plain http for loopback hosts with a port.
        "http://cadence.test/cb".to_owned(),
        "http://localhost/oauth/tiktok/callback".to_owned(),
    ];
    for uri in &refused {
        let reply = h.get(&authorize_uri(&[("redirect_uri", uri)])).await;
        assert_error_page(&reply, "invalid_request", uri);
        assert!(reply.text().contains("not registered"), "{uri}: {}", reply.text());
    }
    for uri in [REDIRECT, loopback] {
        let reply = h.get(&authorize_uri(&[("redirect_uri", uri)])).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}: {}", reply.text());
    }
}

#[tokio::test]
async fn the_default_registration_is_cadences_local_callback() {
    let h = Harness::new(SandboxConfig { public_base_url: BASE.to_owned(), ..SandboxConfig::default() });
    let local = "http://127.0.0.1:3000/oauth/tiktok/callback";
    assert_eq!(h.get(&authorize_uri(&[("redirect_uri", local)])).await.status, StatusCode::OK);
    assert_error_page(&h.get(&authorize_uri(&[])).await, "invalid_request", "an unregistered https URI");
}

/// The query of a redirect to `expected_base`.
fn redirect_params(reply: &Reply, expected_base: &str) -> Vec<(String, String)> {
    assert_eq!(reply.status, StatusCode::FOUND, "{}", reply.text());
    let location = reply.header("location").expect("a redirect");
    let (base, query) = location.split_once('?').expect("query in callback");
    assert_eq!(base, expected_base);
    form_urlencoded::parse(query.as_bytes()).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

#[tokio::test]
async fn a_scope_the_app_is_not_approved_for_refuses_the_whole_request() {
    let local = "http://127.0.0.1:3000/oauth/tiktok/callback";
    let h = Harness::new(SandboxConfig { public_base_url: BASE.to_owned(), ..SandboxConfig::default() });
    // Cadence's scope list before the review: two of its scopes are not approved by default.
    for (scope, named) in [
        ("user.info.basic,user.info.profile,video.publish,video.upload", "user.info.profile"),
        ("user.info.basic,video.publish,video.list", "video.list"),
    ] {
        let reply = h.get(&authorize_uri(&[("redirect_uri", local), ("scope", scope), ("state", "keep-me")])).await;
        let params = redirect_params(&reply, local);
        assert_eq!(param(&params, "error"), "invalid_scope", "{scope}");
        assert!(param(&params, "error_description").contains(named), "{params:?}");
        assert_eq!(param(&params, "state"), "keep-me");
        assert!(params.iter().all(|(key, _)| key != "code"), "no code at all: {params:?}");
    }
    let approved = "user.info.basic,video.publish,video.upload";
    assert_eq!(h.get(&authorize_uri(&[("redirect_uri", local), ("scope", approved)])).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_or_missing_scopes_go_back_as_invalid_scope() {
    let h = Harness::new(config());
    for scope in ["user.info.basic video.publish", "video.everything", ""] {
        let reply = h.get(&authorize_uri(&[("scope", scope)])).await;
        let params = redirect_params(&reply, REDIRECT);
        assert_eq!(param(&params, "error"), "invalid_scope", "{scope:?}");
        assert!(!param(&params, "error_description").is_empty());
        assert_eq!(param(&params, "state"), "s");
    }
}

#[tokio::test]
async fn a_subset_grant_limits_the_token_to_the_ticked_scopes() {
    let h = Harness::new(config());
    let requested = "user.info.basic,video.publish,video.upload";
    let params = h.consent(MAYA, requested, &["video.upload"]).await;
    assert_eq!(param(&params, "scopes"), "user.info.basic,video.upload");
    let inbox_only = tokens_from(&h.exchange(param(&params, "code"), REDIRECT).await);
    assert_eq!(inbox_only.scope, "user.info.basic,video.upload");
    // Direct Post needs video.publish, creator_info included; drafts need only video.upload.
    assert_api_error(&h.creator_info(&inbox_only.access).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");
    assert_api_error(
        &h.direct_init(&inbox_only.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    let draft = h.inbox_init(&inbox_only.access, 1000, 1000).await;
    assert_eq!(draft.status, StatusCode::OK, "{}", draft.text());
    let publish_id = draft.json()["data"]["publish_id"].as_str().unwrap().to_owned();
    assert_eq!(h.status(&inbox_only.access, &publish_id).await.status, StatusCode::OK);

    let params = h.consent(LEO, requested, &["video.publish"]).await;
    let direct_only = tokens_from(&h.exchange(param(&params, "code"), REDIRECT).await);
    assert_eq!(direct_only.scope, "user.info.basic,video.publish");
    assert_eq!(h.creator_info(&direct_only.access).await.status, StatusCode::OK);
    assert_api_error(
        &h.inbox_init(&direct_only.access, 1000, 1000).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn cancel_redirects_with_access_denied() {
    let h = Harness::new(config());
    let page = h.authorize_page("user.info.basic", "keep-me").await;
    let html = page.text();
    let request_id = hidden_request_id(&html);
    assert!(html.contains(&format!("href=\"./?cancel={request_id}\"")));
    let reply = h.get(&format!("/v2/auth/authorize/?cancel={request_id}")).await;
    assert_eq!(reply.status, StatusCode::FOUND);
    let params = callback_params(reply.header("location").unwrap());
    assert_eq!(param(&params, "error"), "access_denied");
    assert!(!param(&params, "error_description").is_empty());
    assert_eq!(param(&params, "state"), "keep-me");
    // The request is answered; authorizing it afterwards fails.
    let late = h.form("/v2/auth/authorize/", &[("request_id", &request_id), ("open_id", &h.open_id(MAYA))]).await;
    assert_eq!(late.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn token_endpoint_refuses_bad_clients_and_grants() {
    let h = Harness::new(config());
    let wrong_key = h
        .form(
            "/v2/oauth/token/",
            &[
                ("client_key", "x"),
                ("client_secret", "sbx_client_secret"),
                ("grant_type", "refresh_token"),
                ("refresh_token", "rft.x"),
            ],
        )
        .await;
    assert_oauth_error(&wrong_key, StatusCode::OK, "invalid_client");
    let no_secret =
        h.form("/v2/oauth/token/", &[("client_key", "sbx_client_key"), ("grant_type", "refresh_token")]).await;
    assert_oauth_error(&no_secret, StatusCode::OK, "invalid_request");
    assert_eq!(no_secret.json()["error_description"], "Client secret is missed in request.");
    let wrong_secret = h
        .form(
            "/v2/oauth/token/",
            &[("client_key", "sbx_client_key"), ("client_secret", "nope"), ("grant_type", "refresh_token")],
        )
        .await;
    assert_oauth_error(&wrong_secret, StatusCode::OK, "invalid_client");
    let grant = h
        .form(
            "/v2/oauth/token/",
            &[("client_key", "sbx_client_key"), ("client_secret", "sbx_client_secret"), ("grant_type", "password")],
        )
        .await;
    assert_oauth_error(&grant, StatusCode::OK, "unsupported_grant_type");
    let json_body = Request::post("/v2/oauth/token/")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"client_key":"sbx_client_key"}"#))
        .unwrap();
    assert_oauth_error(&h.send(json_body).await, StatusCode::OK, "invalid_request");
    let unknown_refresh = h.refresh("rft.unknown").await;
    assert_oauth_error(&unknown_refresh, StatusCode::OK, "invalid_grant");
    let client = h
        .form(
            "/v2/oauth/token/",
            &[
                ("client_key", "sbx_client_key"),
                ("client_secret", "sbx_client_secret"),
                ("grant_type", "client_credentials"),
            ],
        )
        .await;
    assert!(client.json()["access_token"].as_str().unwrap().starts_with("clt."));

    // The OAuth error status is a switch.
    let strict = Harness::new(SandboxConfig { oauth_error_status: 400, ..config() });
    assert_oauth_error(&strict.refresh("rft.unknown").await, StatusCode::BAD_REQUEST, "invalid_grant");
}

#[tokio::test]
async fn refresh_rotates_and_the_old_refresh_token_dies() {
    let h = Harness::new(config());
    let first = h.connect(MAYA, "user.info.basic,video.publish").await;
    let reply = h.refresh(&first.refresh).await;
    assert_eq!(reply.status, StatusCode::OK);
    let second = tokens(&reply.json());
    assert_ne!(second.access, first.access);
    assert_ne!(second.refresh, first.refresh);
    assert_eq!(second.open_id, first.open_id);
    assert_eq!(second.scope, first.scope);
    assert_eq!(h.creator_info(&second.access).await.status, StatusCode::OK);
    // A new access token does not end the older one; only its own TTL does.
    assert_eq!(h.creator_info(&first.access).await.status, StatusCode::OK);
    assert_oauth_error(&h.refresh(&first.refresh).await, StatusCode::OK, "invalid_grant");
    assert_eq!(h.refresh(&second.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn revoke_kills_every_token_of_the_grant() {
    let h = Harness::new(config());
    let tokens = h.connect(LEO, "user.info.basic,video.publish").await;
    let reply = h.revoke(&tokens.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), json!({}));
    assert_api_error(&h.creator_info(&tokens.access).await, StatusCode::UNAUTHORIZED, "access_token_invalid");
    assert_oauth_error(&h.refresh(&tokens.refresh).await, StatusCode::OK, "invalid_grant");
    // TikTok's only documented revoke error, for every dead token.
    assert_oauth_error(&h.revoke(&tokens.access).await, StatusCode::OK, "invalid_request");
}

#[tokio::test]
async fn revoking_an_unknown_or_expired_token_is_invalid_request() {
    let h = Harness::new(SandboxConfig { access_token_ttl: Duration::from_millis(100), ..config() });
    let unknown = h.revoke("act.never-issued").await;
    assert_oauth_error(&unknown, StatusCode::OK, "invalid_request");
    assert!(unknown.json()["error_description"].as_str().unwrap().contains("expired or already revoked"));
    let tokens = h.connect(MAYA, "user.info.basic").await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_oauth_error(&h.revoke(&tokens.access).await, StatusCode::OK, "invalid_request");
    // The expired token's grant was not revoked: its refresh token still works.
    assert_eq!(h.refresh(&tokens.refresh).await.status, StatusCode::OK);
}

#[tokio::test]
async fn expired_access_tokens_are_refused() {
    let h = Harness::new(SandboxConfig { access_token_ttl: Duration::from_millis(200), ..config() });
    // Started before the token exists, so "elapsed < TTL" proves the token is still alive.
    let started = Instant::now();
    let tokens = h.connect(MAYA, "user.info.basic").await;
    assert_eq!(tokens.scope, "user.info.basic");
    let reply = h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await;
    if started.elapsed() < Duration::from_millis(200) {
        assert_eq!(reply.status, StatusCode::OK);
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    // Refreshing still works: the refresh token has its own, longer life.
    let fresh = tokens_from(&h.refresh(&tokens.refresh).await);
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &fresh.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_set_latency_delays_api_replies_and_can_be_taken_back() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic").await;
    h.sandbox.set_latency(Duration::from_millis(150));
    let started = Instant::now();
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.status, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(150), "answered after {:?}", started.elapsed());
    h.sandbox.set_latency(Duration::ZERO);
    let started = Instant::now();
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.status, StatusCode::OK);
    assert!(started.elapsed() < Duration::from_millis(150), "still delayed: {:?}", started.elapsed());
}

fn tokens_from(reply: &Reply) -> Tokens {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    tokens(&reply.json())
}
