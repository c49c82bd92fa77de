//! Content Posting: creator_info, direct and inbox init, chunk plans, caps and the unaudited rules.

use crate::harness::*;

#[tokio::test]
async fn creator_info_reflects_each_fixture() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    let data = h.creator_info(&maya.access).await.json()["data"].clone();
    assert_eq!(data["creator_nickname"], MAYA);
    assert_eq!(data["creator_username"], "maya.public");
    assert_eq!(data["privacy_level_options"], json!(["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]));
    assert_eq!(data["max_video_post_duration_sec"], 600);
    assert_eq!((data["comment_disabled"].clone(), data["duet_disabled"].clone()), (json!(false), json!(false)));
    let avatar = data["creator_avatar_url"].as_str().unwrap();
    let svg = h.get(relative(avatar)).await;
    assert_eq!(svg.header("content-type"), Some("image/svg+xml"));
    assert!(svg.text().starts_with("<svg"));

    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let data = h.creator_info(&leo.access).await.json()["data"].clone();
    assert_eq!(data["privacy_level_options"], json!(["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"]));
    assert_eq!((data["duet_disabled"].clone(), data["stitch_disabled"].clone()), (json!(true), json!(true)));
    assert_eq!(data["max_video_post_duration_sec"], 300);

    // Posting conditions come back with HTTP 200 and must be read from error.code.
    for (name, code) in [
        ("Capped Carla", "spam_risk_too_many_posts"),
        ("Banned Ben", "spam_risk_user_banned_from_posting"),
        ("Quota Quinn", "reached_active_user_cap"),
    ] {
        let tokens = h.connect(name, "user.info.basic,video.publish").await;
        assert_api_error(&h.creator_info(&tokens.access).await, StatusCode::OK, code);
        assert_api_error(&h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await, StatusCode::FORBIDDEN, code);
    }
}

#[tokio::test]
async fn rate_limit_allows_six_inits_a_minute() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    for attempt in 0..6 {
        let reply = h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await;
        assert_eq!(reply.status, StatusCode::OK, "init {attempt}: {}", reply.text());
    }
    assert_api_error(
        &h.direct_init(&tokens.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    // The limit comes before validation.
    assert_api_error(
        &h.api_post("/v2/post/publish/video/init/", &tokens.access, &json!({})).await,
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limit_exceeded",
    );
    // Other endpoints have their own window.
    assert_eq!(h.creator_info(&tokens.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn direct_post_init_validates_privacy_title_and_source() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let init = |body: Value| {
        let token = tokens.access.clone();
        let h = &h;
        async move { h.api_post("/v2/post/publish/video/init/", &token, &body).await }
    };
    let source = file_upload(1000, 1000);
    assert_api_error(
        &init(json!({ "source_info": source })).await,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
    assert_api_error(
        &init(json!({ "post_info": { "title": "x" }, "source_info": source })).await,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
    assert_api_error(
        &init(json!({ "post_info": { "privacy_level": "FOLLOWER_OF_CREATOR" }, "source_info": source })).await,
        StatusCode::FORBIDDEN,
        "privacy_level_option_mismatch",
    );
    let long_title = "😀".repeat(1101); // 2202 UTF-16 units
    assert_api_error(
        &init(json!({ "post_info": { "privacy_level": "SELF_ONLY", "title": long_title }, "source_info": source }))
            .await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(
        &init(
            json!({ "post_info": { "privacy_level": "SELF_ONLY", "disable_comment": "yes" }, "source_info": source }),
        )
        .await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(
        &init(json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": { "source": "PULL_FROM_URL", "video_url": "https://cdn.example/v.mp4" } })).await,
        StatusCode::FORBIDDEN,
        "url_ownership_unverified",
    );

    // A fresh creator, because the six calls above used up Maya's minute.
    let sam = h.connect(SAM, "user.info.basic,video.publish").await;
    let exact_title = "😀".repeat(1100); // 2200 UTF-16 units: allowed
    let body = json!({ "post_info": { "privacy_level": "SELF_ONLY", "title": exact_title }, "source_info": source });
    let reply = h.api_post("/v2/post/publish/video/init/", &sam.access, &body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let data = &reply.json()["data"];
    let publish_id = data["publish_id"].as_str().unwrap();
    let digits = publish_id.strip_prefix("v_pub_file~v2-1.").unwrap();
    assert!(digits.len() == 19 && digits.bytes().all(|byte| byte.is_ascii_digit()), "{publish_id}");
    let upload_url = data["upload_url"].as_str().unwrap();
    assert!(
        upload_url.starts_with(&format!("{BASE}/upload/video/?upload_id=")) && upload_url.contains("&upload_token=")
    );
    let not_json = Request::post("/v2/post/publish/video/init/")
        .header(header::AUTHORIZATION, format!("Bearer {}", sam.access))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{not json"))
        .unwrap();
    assert_api_error(&h.send(not_json).await, StatusCode::BAD_REQUEST, "invalid_params");
    let form = Request::post("/v2/post/publish/video/init/")
        .header(header::AUTHORIZATION, format!("Bearer {}", sam.access))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from("post_info=1"))
        .unwrap();
    assert_api_error(&h.send(form).await, StatusCode::BAD_REQUEST, "invalid_params");
}

/// Init in a sandbox of its own, so no case is cut short by the six-a-minute limit.
async fn init_once(source_info: Value) -> Reply {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish").await;
    let body = json!({ "post_info": { "privacy_level": "SELF_ONLY" }, "source_info": source_info });
    h.api_post("/v2/post/publish/video/init/", &tokens.access, &body).await
}

#[tokio::test]
async fn chunk_arithmetic_at_the_boundaries() {
    let source = |video: u64, chunk: u64, count: u64| json!({ "source": "FILE_UPLOAD", "video_size": video, "chunk_size": chunk, "total_chunk_count": count });
    let accepted = [
        (4_999_999, 4_999_999, 1), // under 5 MB: one whole chunk
        (5_000_000, 5_000_000, 1),
        (10_000_000, 5_000_000, 2),      // exact multiple
        (64_000_000, 64_000_000, 1),     // largest single chunk
        (50_000_123, 10_000_000, 5),     // TikTok's example
        (127_999_999, 64_000_000, 1),    // last chunk absorbs the remainder, < 128 MB
        (191_999_999, 64_000_000, 2),    // 64 MB + 127,999,999 last
        (4_000_000_000, 5_000_000, 800), // the size ceiling
    ];
    for (video, chunk, count) in accepted {
        let reply = init_once(source(video, chunk, count)).await;
        assert_eq!(reply.status, StatusCode::OK, "{video}/{chunk}/{count}: {}", reply.text());
    }
    let refused = [
        (9_999_998, 4_999_999, 2, "The chunk size is invalid"), // small chunks only for a sole chunk
        (64_000_001, 64_000_001, 1, "The chunk size is invalid"), // over 64 MB must be split
        (128_000_002, 64_000_001, 2, "The chunk size is invalid"),
        (15_000_000, 5_000_000, 4, "The total chunk count is invalid"), // must be floor(size / chunk)
        (14_999_999, 5_000_000, 3, "The total chunk count is invalid"), // ceil is wrong
        (1000, 2000, 0, "The chunk size is invalid"),
        (4_000_000_001, 5_000_000, 800, "The video size is invalid"),
        (5_005_000_000, 5_000_000, 1001, "The video size is invalid"), // 1001 chunks cannot fit 4 GB
    ];
    for (video, chunk, count, message) in refused {
        let reply = init_once(source(video, chunk, count)).await;
        assert_api_error(&reply, StatusCode::BAD_REQUEST, "invalid_params");
        assert_eq!(reply.json()["error"]["message"], message, "{video}/{chunk}/{count}");
    }
    let missing = init_once(json!({ "source": "FILE_UPLOAD", "video_size": 1000 })).await;
    assert_api_error(&missing, StatusCode::BAD_REQUEST, "invalid_params");
}

#[tokio::test]
async fn unaudited_clients_post_privately_to_private_accounts_only() {
    let h = Harness::new(SandboxConfig { unaudited: true, ..config() });
    let maya = h.connect(MAYA, "user.info.basic,video.publish").await;
    // It is the account that must be private; choosing SELF_ONLY does not help.
    assert_api_error(
        &h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "unaudited_client_can_only_post_to_private_accounts",
    );
    // creator_info still answers normally: the refusal belongs to init.
    assert_eq!(h.creator_info(&maya.access).await.json()["error"]["code"], "ok");
    let leo = h.connect(LEO, "user.info.basic,video.publish").await;
    let video = Video::mp4(5, 4000);
    let publish_id = h.post_video(&leo.access, "FOLLOWER_OF_CREATOR", &video).await;
    let status = h.wait_for_status(&leo.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_eq!(status["data"]["publicaly_available_post_id"], json!([]), "forced to SELF_ONLY");
}

#[tokio::test]
async fn daily_cap_and_pending_inbox_cap() {
    let h = Harness::new(SandboxConfig { daily_post_cap: 2, pending_inbox_cap: 1, ..config() });
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.upload").await;
    for _ in 0..2 {
        assert_eq!(h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await.status, StatusCode::OK);
    }
    assert_api_error(
        &h.direct_init(&maya.access, "SELF_ONLY", 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_posts",
    );
    assert_api_error(&h.creator_info(&maya.access).await, StatusCode::OK, "spam_risk_too_many_posts");

    assert_eq!(h.inbox_init(&maya.access, 1000, 1000).await.status, StatusCode::OK);
    assert_api_error(
        &h.inbox_init(&maya.access, 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "spam_risk_too_many_pending_share",
    );

    let ben = h.connect("Banned Ben", "user.info.basic,video.upload").await;
    assert_api_error(
        &h.inbox_init(&ben.access, 1000, 1000).await,
        StatusCode::FORBIDDEN,
        "spam_risk_user_banned_from_posting",
    );
    // A capped creator may still share drafts to the inbox.
    let carla = h.connect("Capped Carla", "user.info.basic,video.upload").await;
    assert_eq!(h.inbox_init(&carla.access, 1000, 1000).await.status, StatusCode::OK);
}

#[tokio::test]
async fn only_pending_drafts_count_toward_the_inbox_cap() {
    let h = Harness::new(SandboxConfig { pending_inbox_cap: 2, ..config() });
    let maya = h.connect(MAYA, "user.info.basic,video.upload").await;
    let draft = |video: Video| {
        let (h, token) = (&h, maya.access.clone());
        async move {
            let init = h.inbox_init(&token, video.0.size, video.0.size).await.json();
            let upload_url = init["data"]["upload_url"].as_str().unwrap().to_owned();
            h.upload(&upload_url, &video, video.0.size).await;
            init["data"]["publish_id"].as_str().unwrap().to_owned()
        }
    };
    let posted = draft(Video::mp4(5, 1000)).await;
    h.wait_for_status(&maya.access, &posted, "SEND_TO_USER_INBOX").await;
    // A draft that fails processing is not pending.
    let broken = draft(Video::raw(b"not a video at all", 1000)).await;
    h.wait_for_status(&maya.access, &broken, "FAILED").await;
    let waiting = draft(Video::mp4(6, 1000)).await;
    h.wait_for_status(&maya.access, &waiting, "SEND_TO_USER_INBOX").await;
    assert_api_error(&h.inbox_init(&maya.access, 1000, 1000).await, StatusCode::FORBIDDEN, "spam_risk_too_many_pending_share");

    // The creator posts one from the app: it is complete and frees a share.
    assert!(h.sandbox.post_draft(&posted));
    assert!(!h.sandbox.post_draft(&posted), "posted once");
    assert!(!h.sandbox.post_draft(&broken), "a failed draft cannot be posted");
    h.wait_for_status(&maya.access, &posted, "PUBLISH_COMPLETE").await;
    assert_eq!(h.inbox_init(&maya.access, 1000, 1000).await.status, StatusCode::OK);
    assert_api_error(&h.inbox_init(&maya.access, 1000, 1000).await, StatusCode::FORBIDDEN, "spam_risk_too_many_pending_share");
}
