//! The chunked PUT, processing, status fetch and cancel.

use crate::harness::*;

#[tokio::test]
async fn multi_chunk_upload_then_publish_complete() {
    let delay = Duration::from_millis(300);
    let h = Harness::new(SandboxConfig { processing_delay: delay, ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish,video.list").await;
    let video = Video::mp4(30, 10_000_123);
    let init = h.direct_init(&tokens.access, "PUBLIC_TO_EVERYONE", video.0.size, 5_000_000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap().to_owned();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();

    let fetched = h.status(&tokens.access, &publish_id).await.json();
    assert_eq!(fetched["data"]["status"], "PROCESSING_UPLOAD");
    assert_eq!(fetched["data"]["uploaded_bytes"], 0);

    // Out of order first: the last chunk before the first.
    let early = h.put(&url, &video, 5_000_000, 10_000_122).await;
    assert_eq!(early.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(early.header("content-range"), Some("bytes */10000123"));

    let first = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(first.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(first.header("content-range"), Some("bytes 0-4999999/10000123"));
    assert_eq!(h.status(&tokens.access, &publish_id).await.json()["data"]["uploaded_bytes"], 5_000_000);

    // A repeat of the first chunk, or a last chunk cut short, does not match the progress.
    let repeat = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(repeat.status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(repeat.header("content-range"), Some("bytes 0-4999999/10000123"));
    let short = h.put(&url, &video, 5_000_000, 9_999_999).await;
    assert_eq!(short.status, StatusCode::RANGE_NOT_SATISFIABLE);

    // Taken before the last byte is sent, so "elapsed < delay" proves processing is not over.
    let sent = Instant::now();
    let last = h.put(&url, &video, 5_000_000, 10_000_122).await;
    assert_eq!(last.status, StatusCode::CREATED);
    assert_eq!(last.header("content-range"), Some("bytes 0-10000122/10000123"));
    let processing = h.status(&tokens.access, &publish_id).await.json();
    if sent.elapsed() < delay {
        assert_eq!(processing["data"]["status"], "PROCESSING_UPLOAD");
        assert_eq!(processing["data"]["publicaly_available_post_id"], json!([]));
    }
    assert_eq!(processing["data"]["uploaded_bytes"], 10_000_123);
    let after = h.put(&url, &video, 5_000_000, 10_000_122).await;
    assert_eq!(after.status, StatusCode::RANGE_NOT_SATISFIABLE, "a complete upload takes no more bytes");

    let done = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert!(done["data"].get("fail_reason").is_none());
    let ids = done["data"]["publicaly_available_post_id"].as_array().unwrap();
    assert_eq!(ids.len(), 1);
    assert!(ids[0].is_u64(), "post ids are JSON numbers: {done}");
    let post_id = ids[0].as_u64().unwrap();
    assert_eq!(post_id.to_string().len(), 19);
    assert!(i64::try_from(post_id).is_ok());

    let list = h
        .api_post(
            "/v2/video/list/?fields=id,title,duration,create_time,share_url",
            &tokens.access,
            &json!({ "max_count": 20 }),
        )
        .await
        .json();
    let videos = list["data"]["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0]["id"], post_id.to_string());
    assert_eq!(videos[0]["duration"], 30);
    assert_eq!(videos[0]["title"], "sandbox #test");
    assert_eq!(list["data"]["has_more"], false);
}

#[tokio::test]
async fn a_small_file_goes_in_one_chunk() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(10, 4_999_999);
    let publish_id = h.post_video(&tokens.access, "MUTUAL_FOLLOW_FRIENDS", &video).await;
    let done = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_eq!(done["data"]["publicaly_available_post_id"], json!([]), "only public posts get an id");
    assert_eq!(done["data"]["uploaded_bytes"], 4_999_999);
}

#[tokio::test]
async fn upload_rejects_bad_headers_and_unknown_urls() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 2000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", 2000, 2000).await.json();
    let url = relative(init["data"]["upload_url"].as_str().unwrap()).to_owned();
    let put = |content_type: &str, length: &str, range: &str, body: Body| {
        let mut request = Request::put(&url).header(header::CONTENT_TYPE, content_type);
        if !length.is_empty() {
            request = request.header(header::CONTENT_LENGTH, length);
        }
        if !range.is_empty() {
            request = request.header(header::CONTENT_RANGE, range);
        }
        request.body(body).unwrap()
    };
    let wrong_type = h.send(put("application/octet-stream", "2000", "bytes 0-1999/2000", video.body(0, 1999))).await;
    assert_eq!(wrong_type.status, StatusCode::BAD_REQUEST);
    assert_eq!(wrong_type.header("content-range"), Some("bytes */2000"));
    let no_range = h.send(put("video/mp4", "2000", "", video.body(0, 1999))).await;
    assert_eq!(no_range.status, StatusCode::BAD_REQUEST);
    let lying_length = h.send(put("video/mp4", "2000", "bytes 0-1999/2000", video.body(0, 1998))).await;
    assert_eq!(lying_length.status, StatusCode::BAD_REQUEST, "body shorter than Content-Length");
    let long_body = h.send(put("video/mp4", "2000", "bytes 0-1999/2000", Body::from(vec![0u8; 2001]))).await;
    assert_eq!(long_body.status, StatusCode::BAD_REQUEST, "body longer than Content-Length");
    let length_vs_range = h.send(put("video/mp4", "1999", "bytes 0-1999/2000", video.body(0, 1998))).await;
    assert_eq!(length_vs_range.status, StatusCode::BAD_REQUEST);
    let wrong_total = h.send(put("video/mp4", "2000", "bytes 0-1999/2001", video.body(0, 1999))).await;
    assert_eq!(wrong_total.status, StatusCode::RANGE_NOT_SATISFIABLE);
    // None of that moved the upload forward; a correct chunk still completes it.
    let quicktime = h.send(put("video/quicktime", "2000", "bytes 0-1999/2000", video.body(0, 1999))).await;
    assert_eq!(quicktime.status, StatusCode::CREATED);

    let (path, _) = url.split_once('?').unwrap();
    for query in ["upload_id=1&upload_token=x", "", "upload_token=x"] {
        let reply = h
            .send(
                put("video/mp4", "2000", "bytes 0-1999/2000", video.body(0, 1999)).map_uri(&format!("{path}?{query}")),
            )
            .await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{query}");
    }
    let wrong_token = url.replace("upload_token=", "upload_token=x");
    let reply = h.send(put("video/mp4", "2000", "bytes 0-1999/2000", video.body(0, 1999)).map_uri(&wrong_token)).await;
    assert_eq!(reply.status, StatusCode::NOT_FOUND);
}

trait MapUri {
    fn map_uri(self, uri: &str) -> Self;
}

impl MapUri for Request<Body> {
    fn map_uri(mut self, uri: &str) -> Self {
        *self.uri_mut() = uri.parse().unwrap();
        self
    }
}

#[tokio::test]
async fn a_second_put_while_a_chunk_streams_is_out_of_order() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 2000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", 2000, 2000).await.json();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    let mut data = mp4_header(5000, Some((720, 1280)), 2000);
    data.resize(2000, 0);

    // The first PUT's body arrives piece by piece through a channel of capacity one.
    let (sender, receiver) = tokio::sync::mpsc::channel::<Bytes>(1);
    let pieces = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|piece| (Ok::<_, std::io::Error>(piece), receiver))
    });
    let first = Request::put(relative(&url))
        .header(header::CONTENT_TYPE, "video/mp4")
        .header(header::CONTENT_LENGTH, "2000")
        .header(header::CONTENT_RANGE, "bytes 0-1999/2000")
        .body(Body::from_stream(pieces))
        .unwrap();
    let router = h.router.clone();
    let streaming = tokio::spawn(async move { router.oneshot(first).await.unwrap() });
    sender.send(Bytes::copy_from_slice(&data[..500])).await.unwrap();
    // Once this second piece is accepted, the first has been read: the chunk is mid-stream.
    sender.send(Bytes::copy_from_slice(&data[500..1000])).await.unwrap();

    let second = h.put(&url, &video, 0, 1999).await;
    assert_eq!(second.status, StatusCode::RANGE_NOT_SATISFIABLE, "{}", second.text());
    assert_eq!(second.header("content-range"), Some("bytes */2000"));

    sender.send(Bytes::copy_from_slice(&data[1000..])).await.unwrap();
    drop(sender);
    let first = streaming.await.unwrap();
    assert_eq!(first.status(), StatusCode::CREATED);
    let status =
        h.wait_for_status(&tokens.access, init["data"]["publish_id"].as_str().unwrap(), "PUBLISH_COMPLETE").await;
    assert_eq!(status["data"]["uploaded_bytes"], 2000, "counted once");
}

#[tokio::test]
async fn works_nested_under_a_prefix() {
    let sandbox = Sandbox::new(config());
    let app = Router::new().nest("/sandbox/tiktok", sandbox.router());
    let get = |uri: &str| {
        let app = app.clone();
        let request = Request::get(uri).body(Body::empty()).unwrap();
        async move { app.oneshot(request).await.unwrap() }
    };
    sandbox.inject(Fault { endpoint: Endpoint::UserInfo, kind: FaultKind::Status503, count: 1, skip: 0 });
    assert_eq!(get("/sandbox/tiktok/v2/user/info/?fields=open_id").await.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(get("/sandbox/tiktok/v2/user/info/?fields=open_id").await.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(get("/sandbox/tiktok/v2/nothing/").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(get("/sandbox/tiktok/_sandbox/").await.status(), StatusCode::OK);
    let svg = get(&format!("/sandbox/tiktok/_sandbox/avatars/{}.svg", sandbox.creators()[0].open_id)).await;
    assert_eq!(svg.status(), StatusCode::OK);
    let paths: Vec<String> = sandbox.requests().into_iter().map(|request| request.path).collect();
    assert_eq!(paths, ["/v2/user/info/", "/v2/user/info/", "/v2/nothing/"], "paths are relative to the sandbox");
}

#[tokio::test]
async fn upload_urls_expire() {
    let h = Harness::new(SandboxConfig { upload_url_ttl: Duration::from_millis(100), ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 2000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", 2000, 2000).await.json();
    tokio::time::sleep(Duration::from_millis(150)).await;
    let reply = h.put(init["data"]["upload_url"].as_str().unwrap(), &video, 0, 1999).await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert_eq!(reply.header("content-range"), Some("bytes */2000"));
}

#[tokio::test]
async fn processing_fails_for_non_video_bytes_and_overlong_videos() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let not_video = Video::raw(b"GIF89a this is a picture, not a video", 3000);
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &not_video).await;
    let failed = h.wait_for_status(&maya.access, &publish_id, "FAILED").await;
    assert_eq!(failed["data"]["fail_reason"], "file_format_check_failed");
    assert_eq!(failed["data"]["publicaly_available_post_id"], json!([]));

    let sam = h.connect(SAM, "user.info.basic,video.publish").await;
    let publish_id = h.post_video(&sam.access, "PUBLIC_TO_EVERYONE", &Video::mp4(61, 3000)).await;
    let failed = h.wait_for_status(&sam.access, &publish_id, "FAILED").await;
    assert_eq!(failed["data"]["fail_reason"], "duration_check_failed");
    let publish_id = h.post_video(&sam.access, "PUBLIC_TO_EVERYONE", &Video::mp4(60, 3000)).await;
    h.wait_for_status(&sam.access, &publish_id, "PUBLISH_COMPLETE").await;

    let webm = Video::raw(&[0x1A, 0x45, 0xDF, 0xA3, 0x42, 0x86, 0x81, 0x01], 3000);
    let publish_id = h.post_video(&sam.access, "SELF_ONLY", &webm).await;
    h.wait_for_status(&sam.access, &publish_id, "PUBLISH_COMPLETE").await;
}

#[tokio::test]
async fn inbox_uploads_land_in_the_inbox() {
    let h = Harness::new(config());
    let tokens = h.connect(LEO, "user.info.basic,video.upload").await;
    let video = Video::mp4(20, 6000);
    let init = h.inbox_init(&tokens.access, video.0.size, video.0.size).await;
    assert_eq!(init.status, StatusCode::OK, "{}", init.text());
    let data = init.json()["data"].clone();
    let publish_id = data["publish_id"].as_str().unwrap();
    assert!(publish_id.starts_with("v_inbox_file~v2."), "{publish_id}");
    h.upload(data["upload_url"].as_str().unwrap(), &video, video.0.size).await;
    let status = h.wait_for_status(&tokens.access, publish_id, "SEND_TO_USER_INBOX").await;
    assert_eq!(status["data"]["publicaly_available_post_id"], json!([]));
    // video.upload alone may not direct-post.
    assert_api_error(
        &h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
}

#[tokio::test]
async fn status_fetch_refuses_unknown_and_foreign_publish_ids() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let init = h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap();
    assert_api_error(
        &h.status(&maya.access, "v_pub_file~v2-1.0000000000000000000").await,
        StatusCode::BAD_REQUEST,
        "invalid_publish_id",
    );
    assert_api_error(
        &h.status(&leo.access, publish_id).await,
        StatusCode::BAD_REQUEST,
        "token_not_authorized_for_specified_publish_id",
    );
    assert_api_error(
        &h.api_post("/v2/post/publish/status/fetch/", &maya.access, &json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
}

#[tokio::test]
async fn cancel_refuses_file_uploads_at_every_stage() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let cancel = |publish_id: String| {
        let token = tokens.access.clone();
        let h = &h;
        async move { h.api_post("/v2/post/publish/cancel/", &token, &json!({ "publish_id": publish_id })).await }
    };
    let video = Video::mp4(5, 10_000_000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", video.0.size, 5_000_000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap().to_owned();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();

    // TikTok cancels only PULL_FROM_URL downloads: not before, during or after a FILE_UPLOAD.
    let before = cancel(publish_id.clone()).await;
    assert_api_error(&before, StatusCode::BAD_REQUEST, "publish_not_cancellable");
    assert!(before.json().get("data").is_none(), "cancel answers with error only: {}", before.text());
    assert_eq!(h.put(&url, &video, 0, 4_999_999).await.status, StatusCode::PARTIAL_CONTENT);
    assert_api_error(&cancel(publish_id.clone()).await, StatusCode::BAD_REQUEST, "publish_not_cancellable");
    // The refused cancel changed nothing: the upload goes on and the post is published.
    assert_eq!(h.put(&url, &video, 5_000_000, 9_999_999).await.status, StatusCode::CREATED);
    h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_api_error(&cancel(publish_id).await, StatusCode::BAD_REQUEST, "publish_not_cancellable");

    let unknown = cancel("v_pub_file~v2-1.1".to_owned()).await;
    assert_api_error(&unknown, StatusCode::BAD_REQUEST, "invalid_publish_id");
    assert!(unknown.json().get("data").is_none());
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let foreign = h.direct_init(&leo.access, "SELF_ONLY", 1000, 1000).await.json();
    let foreign = cancel(foreign["data"]["publish_id"].as_str().unwrap().to_owned()).await;
    assert_api_error(&foreign, StatusCode::BAD_REQUEST, "token_not_authorized_for_specified_publish_id");
}

#[tokio::test]
async fn a_public_post_id_comes_only_after_moderation() {
    let moderation = Duration::from_millis(400);
    let h = Harness::new(SandboxConfig { moderation_delay: moderation, ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish,video.list").await;
    // Taken before the upload ends, so "elapsed < moderation" proves moderation is not over.
    let started = Instant::now();
    let publish_id = h.post_video(&tokens.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 2000)).await;
    let complete = h.status(&tokens.access, &publish_id).await.json();
    let listed = h.api_post("/v2/video/list/?fields=id", &tokens.access, &json!({})).await.json();
    if started.elapsed() < moderation {
        assert_eq!(complete["data"]["status"], "PUBLISH_COMPLETE", "{complete}");
        assert_eq!(complete["data"]["publicaly_available_post_id"], json!([]), "still in moderation");
        assert_eq!(listed["data"]["videos"], json!([]), "not public before moderation");
    }
    tokio::time::sleep(moderation).await;
    let moderated = h.status(&tokens.access, &publish_id).await.json();
    assert_eq!(moderated["data"]["status"], "PUBLISH_COMPLETE");
    let post_id = moderated["data"]["publicaly_available_post_id"][0].as_u64().expect("a post id after moderation");
    let listed = h.api_post("/v2/video/list/?fields=id", &tokens.access, &json!({})).await.json();
    assert_eq!(listed["data"]["videos"][0]["id"], post_id.to_string());
}

#[tokio::test]
async fn moderation_takes_five_seconds_by_default() {
    assert_eq!(SandboxConfig::default().moderation_delay, Duration::from_secs(5));
    let h = Harness::new(SandboxConfig { moderation_delay: SandboxConfig::default().moderation_delay, ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let publish_id = h.post_video(&tokens.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 2000)).await;
    let complete = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_eq!(complete["data"]["publicaly_available_post_id"], json!([]));
}

#[tokio::test]
async fn uploaded_bytes_counts_only_chunks_acknowledged_a_while_ago() {
    assert_eq!(SandboxConfig::default().uploaded_bytes_lag, Duration::from_secs(2));
    let lag = Duration::from_millis(400);
    let h = Harness::new(SandboxConfig { uploaded_bytes_lag: lag, ..config() });
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 10_000_000);
    let init = h.direct_init(&tokens.access, "SELF_ONLY", video.0.size, 5_000_000).await.json();
    let publish_id = init["data"]["publish_id"].as_str().unwrap().to_owned();
    let url = init["data"]["upload_url"].as_str().unwrap().to_owned();
    let uploaded = |body: Value| body["data"]["uploaded_bytes"].as_u64().unwrap();

    let acknowledged = Instant::now();
    let first = h.put(&url, &video, 0, 4_999_999).await;
    assert_eq!(first.header("content-range"), Some("bytes 0-4999999/10000000"), "the 206 itself is exact");
    let early = uploaded(h.status(&tokens.access, &publish_id).await.json());
    if acknowledged.elapsed() < lag {
        assert_eq!(early, 0, "a lower bound: the chunk is not reported yet");
    }
    tokio::time::sleep(lag).await;
    assert_eq!(uploaded(h.status(&tokens.access, &publish_id).await.json()), 5_000_000);
    // The next chunk is accepted whatever the status said: the sandbox has the bytes.
    assert_eq!(h.put(&url, &video, 5_000_000, 9_999_999).await.status, StatusCode::CREATED);
    tokio::time::sleep(lag).await;
    assert_eq!(uploaded(h.status(&tokens.access, &publish_id).await.json()), 10_000_000);
}
