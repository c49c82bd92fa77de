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
    assert_eq!(init.headers["authorization"], format!("Bearer {}", tokens.access));
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
