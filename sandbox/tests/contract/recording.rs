//! The request log and the control room page.

use crate::harness::*;

#[tokio::test]
async fn requests_are_recorded_and_shown() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 1500);
    h.post_video(&tokens.access, "SELF_ONLY", &video).await;
    h.api_get("/v2/user/info/?fields=username", &tokens.access).await;

    let requests = h.sandbox.requests();
    let paths: Vec<&str> = requests.iter().map(|request| request.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/v2/auth/authorize/",
            "/v2/auth/authorize/",
            "/v2/oauth/token/",
            "/v2/post/publish/video/init/",
            "/upload/video/",
            "/v2/user/info/"
        ]
    );
    let token = &requests[2];
    assert_eq!(token.method, "POST");
    assert!(token.body.as_deref().unwrap().contains("grant_type=authorization_code"));
    assert_eq!(token.headers["content-type"], "application/x-www-form-urlencoded");
    assert_eq!(token.status, Some(200));
    let init = &requests[3];
    assert_eq!(init.headers["authorization"], "Bearer [redacted]", "the scheme, never the token");
    assert!(init.body.as_deref().unwrap().contains("\"privacy_level\":\"SELF_ONLY\""));
    let upload = &requests[4];
    assert_eq!(upload.method, "PUT");
    assert!(upload.query.as_deref().unwrap().starts_with("upload_id="));
    assert_eq!(upload.headers["content-range"], "bytes 0-1499/1500");
    assert!(!upload.headers.contains_key("authorization"));
    assert_eq!(upload.body, None, "video bytes are not recorded");
    assert_eq!(upload.status, Some(201));
    let info = &requests[5];
    assert_eq!((info.status, info.error_code.as_deref()), (Some(401), Some("scope_not_authorized")));
    assert_eq!(info.query.as_deref(), Some("fields=username"));

    let json = h.get("/_sandbox/requests").await.json();
    assert_eq!(json.as_array().unwrap().len(), requests.len(), "the control room does not record itself");
    assert_eq!(json[5]["error_code"], "scope_not_authorized");
    let page = h.get("/_sandbox/").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = page.text();
    for needle in [
        MAYA,
        "Banned Ben",
        "/v2/post/publish/video/init/",
        "SELF_ONLY",
        "scope_not_authorized",
        "user.info.basic, video.publish",
    ] {
        assert!(html.contains(needle), "{needle} missing from the admin page");
    }
    assert!(!html.contains(&tokens.access), "tokens are not shown");
    assert!(!html.contains("<script") && !html.contains("style="));
    assert_eq!(h.sandbox.requests().len(), requests.len());
}

#[tokio::test]
async fn unknown_paths_are_404() {
    let h = Harness::new(config());
    for path in ["/v2/user/info", "/v2/oauth/token", "/v2/nothing/", "/upload/video", "/_sandbox/avatars/nobody.svg"] {
        assert_eq!(h.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    assert_eq!(h.get("/v2/oauth/token/").await.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn the_request_log_never_keeps_secrets() {
    let h = Harness::new(config());
    let params = h.consent(MAYA, "user.info.basic,video.publish", &["video.publish"]).await;
    let code = param(&params, "code").to_owned();
    let tokens = tokens_of(&h.exchange(&code, REDIRECT).await);
    let refreshed = tokens_of(&h.refresh(&tokens.refresh).await);
    let init = h.direct_init(&refreshed.access, "SELF_ONLY", 1500, 1500).await.json();
    let upload_url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    h.put(&upload_url, &Video::mp4(5, 1500), 0, 1499).await;
    assert_eq!(h.revoke(&refreshed.access).await.status, StatusCode::OK);

    let upload_token = upload_url.split("upload_token=").nth(1).unwrap().to_owned();
    let secrets = [
        code.as_str(),
        "sbx_client_secret",
        &tokens.access,
        &tokens.refresh,
        &refreshed.access,
        &refreshed.refresh,
        &upload_token,
    ];
    let recorded = serde_json::to_string(&h.sandbox.requests()).unwrap();
    let shown = h.get("/_sandbox/requests").await.text() + &h.get("/_sandbox/").await.text();
    for secret in secrets {
        let encoded = form_urlencoded::byte_serialize(secret.as_bytes()).collect::<String>();
        for text in [&recorded, &shown] {
            assert!(!text.contains(secret) && !text.contains(&encoded), "{secret} was recorded");
        }
    }
    // What tests match on is still there.
    let requests = h.sandbox.requests();
    let exchange = requests.iter().find(|r| r.body.as_deref().unwrap_or_default().contains("authorization_code"));
    let exchange = exchange.expect("the code exchange is recorded").body.clone().unwrap();
    assert!(exchange.contains("client_key=sbx_client_key") && exchange.contains("code=%5Bredacted%5D"), "{exchange}");
    let revoke = requests.iter().find(|r| r.path == "/v2/oauth/revoke/").unwrap();
    assert!(revoke.body.as_deref().unwrap().contains("token=%5Bredacted%5D"));
    let upload = requests.iter().find(|r| r.path == "/upload/video/").unwrap();
    assert!(upload.query.as_deref().unwrap().starts_with("upload_id="));
    assert!(upload.query.as_deref().unwrap().ends_with("upload_token=%5Bredacted%5D"));
    let refresh = requests.iter().find(|r| r.body.as_deref().unwrap_or_default().contains("grant_type=refresh_token"));
    assert!(refresh.is_some(), "grant types stay readable");
    // Whether a refresh token was spent is known without recording it.
    assert!(h.sandbox.refresh_token_used_at(&tokens.refresh).is_some());
    assert!(h.sandbox.refresh_token_used_at(&refreshed.refresh).is_none());
}

fn tokens_of(reply: &Reply) -> Tokens {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    tokens(&reply.json())
}

#[tokio::test]
async fn an_admin_token_guards_the_control_room_but_not_tiktoks_images() {
    let h = Harness::new(SandboxConfig { admin_token: Some("adm-s3cret".to_owned()), ..config() });
    let with = |uri: &str, authorization: Option<&str>| {
        let mut request = Request::get(uri);
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        h.send(request.body(Body::empty()).unwrap())
    };
    for path in ["/_sandbox/", "/_sandbox/requests", "/_sandbox/webhooks", "/_sandbox/creators", "/_sandbox/faults"] {
        for refused in [None, Some("Bearer wrong"), Some("Bearer adm-s3cre"), Some("adm-s3cret")] {
            let reply = with(path, refused).await;
            assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{path} with {refused:?}");
            assert!(reply.text().contains("admin token"), "a sentence for a person: {}", reply.text());
            assert!(reply.header("www-authenticate").unwrap().starts_with("Basic"));
        }
        assert_eq!(with(path, Some("Bearer adm-s3cret")).await.status, StatusCode::OK, "{path}");
        // A browser's Basic prompt: any user name, the token as password ("cadence:adm-s3cret").
        assert_eq!(with(path, Some("Basic Y2FkZW5jZTphZG0tczNjcmV0")).await.status, StatusCode::OK, "{path}");
    }
    // Mutations too: a refused fault is not queued, a refused revoke revokes nothing.
    let fault = Request::post("/_sandbox/faults")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"endpoint":"user_info","kind":"status_500","count":1}"#))
        .unwrap();
    assert_eq!(h.send(fault).await.status, StatusCode::UNAUTHORIZED);
    assert!(h.sandbox.faults().is_empty());
    let tokens = h.connect(LEO, "user.info.basic").await;
    let revoke = Request::post(format!("/_sandbox/creators/{}/revoke", tokens.open_id)).body(Body::empty()).unwrap();
    assert_eq!(h.send(revoke).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.status, StatusCode::OK);
    // Avatars and covers are linked from the consent page and API replies: they stay public.
    let avatar = format!("/_sandbox/avatars/{}.svg", tokens.open_id);
    assert_eq!(with(&avatar, None).await.status, StatusCode::OK);
    // TikTok's own endpoints are not the control room's business.
    assert_eq!(h.authorize_page("user.info.basic", "s").await.status, StatusCode::OK);
}

#[tokio::test]
async fn without_an_admin_token_the_control_room_is_open() {
    assert_eq!(SandboxConfig::default().admin_token, None);
    let h = Harness::new(config());
    assert_eq!(h.get("/_sandbox/requests").await.status, StatusCode::OK);
}
