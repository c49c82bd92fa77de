//! Scripted faults: consumed exactly, dropped connections, hangs, routing under a prefix.

use crate::harness::*;

#[tokio::test]
async fn faults_are_consumed_exactly_count_times() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let info = || h.api_get("/v2/user/info/?fields=open_id", &tokens.access);
    for (kind, status, code) in [
        (FaultKind::Status429, StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded"),
        (FaultKind::Status500, StatusCode::INTERNAL_SERVER_ERROR, "internal_error"),
        (FaultKind::Status503, StatusCode::SERVICE_UNAVAILABLE, "internal_error"),
        (FaultKind::AccessTokenInvalid, StatusCode::UNAUTHORIZED, "access_token_invalid"),
    ] {
        h.sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind, count: 2, skip: 0 });
        assert_api_error(&info().await, status, code);
        assert_api_error(&info().await, status, code);
        assert_eq!(info().await.status, StatusCode::OK, "{kind:?} was used up");
    }
    // Faults are per endpoint, or for any endpoint.
    h.sandbox.inject(Fault { endpoint: Endpoint::StatusFetch, kind: FaultKind::Status500, count: 1, skip: 0 });
    assert_eq!(info().await.status, StatusCode::OK);
    h.sandbox.inject(Fault { endpoint: Endpoint::Any, kind: FaultKind::Status503, count: 1, skip: 0 });
    assert_eq!(h.creator_info(&tokens.access).await.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_api_error(&h.status(&tokens.access, "x").await, StatusCode::INTERNAL_SERVER_ERROR, "internal_error");
    // OAuth endpoints fail in their own shape.
    h.sandbox.inject(Fault { endpoint: Endpoint::OauthToken, kind: FaultKind::Status503, count: 1, skip: 0 });
    assert_oauth_error(&h.refresh(&tokens.refresh).await, StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable");
    assert_eq!(h.refresh(&tokens.refresh).await.status, StatusCode::OK, "the refresh token survived the outage");

    // The admin API queues and clears faults.
    let post = Request::post("/_sandbox/faults")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(r#"{"endpoint":"user_info","kind":"status_500","count":5}"#))
        .unwrap();
    let queued = h.send(post).await;
    assert_eq!(queued.status, StatusCode::CREATED);
    assert_eq!(queued.json()[0]["count"], 5);
    assert_eq!(h.sandbox.faults().len(), 1);
    let delete = h.send(Request::delete("/_sandbox/faults").body(Body::empty()).unwrap()).await;
    assert_eq!(delete.status, StatusCode::NO_CONTENT);
    assert!(h.sandbox.faults().is_empty());
}

#[tokio::test]
async fn a_dropped_upload_leaves_the_progress_unchanged() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 10_000_000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", video.0.size, 5_000_000).await.json();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    h.sandbox.inject(Fault { endpoint: Endpoint::Upload, kind: FaultKind::DropConnection, count: 1, skip: 0 });
    let request = Request::put(relative(&url))
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, "5000000")
        .header(header::CONTENT_RANGE, "bytes 0-4999999/10000000")
        .body(video.body(0, 4_999_999))
        .unwrap();
    let response = h.router.clone().oneshot(request).await.unwrap();
    assert!(response.into_body().collect().await.is_err(), "the reply never completes");
    let recorded = h.sandbox.requests().into_iter().last().unwrap();
    assert_eq!((recorded.fault, recorded.status), (Some(FaultKind::DropConnection), None));
    // The client resends the same chunk, as it should after a network error.
    let retry = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(retry.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(retry.header("content-range"), Some("bytes 0-4999999/10000000"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_over_tcp_a_dropped_connection_is_a_network_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let sandbox = Sandbox::new(SandboxConfig { public_base_url: format!("http://{address}"), ..config() });
    let server = tokio::spawn(sandbox::serve(listener, sandbox.clone()));
    let client = reqwest::Client::new();
    let url = format!("http://{address}/v2/user/info/?fields=open_id");
    let plain = client.get(&url).send().await.unwrap();
    assert_eq!(plain.status(), reqwest::StatusCode::UNAUTHORIZED);
    sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind: FaultKind::DropConnection, count: 1, skip: 0 });
    let dropped = async { client.get(&url).send().await?.bytes().await };
    assert!(dropped.await.is_err(), "the client sees a broken connection");
    assert_eq!(client.get(&url).send().await.unwrap().status(), reqwest::StatusCode::UNAUTHORIZED);
    server.abort();
}

#[tokio::test]
async fn a_timeout_fault_hangs_the_request() {
    let h = Harness::new(config());
    h.sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind: FaultKind::Timeout, count: 1, skip: 0 });
    let hanging = h.router.clone().oneshot(Request::get("/v2/user/info/?fields=open_id").body(Body::empty()).unwrap());
    assert!(
        tokio::time::timeout(Duration::from_millis(300), hanging).await.is_err(),
        "no reply within the client's timeout"
    );
    assert!(h.sandbox.faults().is_empty(), "the fault was consumed");
    let reply = h.get("/v2/user/info/?fields=open_id").await;
    assert_api_error(&reply, StatusCode::UNAUTHORIZED, "access_token_invalid");
    let recorded = h.sandbox.requests();
    assert_eq!(recorded[recorded.len() - 2].status, None, "the abandoned request got no reply");
}
