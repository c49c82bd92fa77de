//! The resource-API envelope, the bearer/scope/validation order, user info, the video list and query.

use crate::harness::*;

#[tokio::test]
async fn envelope_shape_and_fresh_log_ids() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, ALL_SCOPES).await;
    let reply = h.api_get("/v2/user/info/?fields=open_id,union_id,avatar_url,display_name", &tokens.access).await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["error"]["code"], "ok");
    assert_eq!(body["error"]["message"], "");
    let log_id = body["error"]["log_id"].as_str().unwrap();
    assert_log_id(log_id);
    assert_eq!(reply.header("x-tt-logid"), Some(log_id));
    let user = body["data"]["user"].as_object().unwrap();
    assert_eq!(user.len(), 4, "only the requested fields: {body}");
    assert_eq!(user["open_id"], tokens.open_id);
    assert!(user["avatar_url"].as_str().unwrap().starts_with(&format!("{BASE}/_sandbox/avatars/")));

    let again = h.api_get("/v2/user/info/?fields=open_id", &tokens.access).await.json();
    assert_ne!(again["error"]["log_id"], body["error"]["log_id"]);

    let error = h.api_get("/v2/user/info/?fields=open_id", "act.nope").await;
    assert_api_error(&error, StatusCode::UNAUTHORIZED, "access_token_invalid");
    assert_eq!(error.json()["data"], json!({}), "errors keep an empty data object");
}

#[tokio::test]
async fn bearer_then_scope_then_validation() {
    let h = Harness::new(config());
    let basic = h.connect(MAYA, "user.info.basic").await;
    let no_header = h.send(Request::get("/v2/user/info/?fields=open_id").body(Body::empty()).unwrap()).await;
    assert_api_error(&no_header, StatusCode::UNAUTHORIZED, "access_token_invalid");
    let basic_scheme = h
        .send(
            Request::get("/v2/user/info/?fields=open_id")
                .header(header::AUTHORIZATION, format!("Basic {}", basic.access))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_api_error(&basic_scheme, StatusCode::UNAUTHORIZED, "access_token_invalid");
    // A bad token wins over a missing scope, and a missing scope over a bad body.
    assert_api_error(
        &h.api_post("/v2/post/publish/video/init/", "act.bad", &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "access_token_invalid",
    );
    assert_api_error(
        &h.api_post("/v2/post/publish/video/init/", &basic.access, &json!("garbage")).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_api_error(&h.creator_info(&basic.access).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");
    assert_api_error(&h.inbox_init(&basic.access, 1000, 1000).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");
    assert_api_error(
        &h.api_post("/v2/video/list/?fields=id", &basic.access, &json!({})).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    // Profile and stats fields need their own scopes (the 2024 scope migration).
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=open_id,username", &basic.access).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=follower_count", &basic.access).await,
        StatusCode::UNAUTHORIZED,
        "scope_not_authorized",
    );
    assert_api_error(
        &h.api_get("/v2/user/info/?fields=shoe_size", &basic.access).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    assert_api_error(&h.api_get("/v2/user/info/", &basic.access).await, StatusCode::BAD_REQUEST, "invalid_params");

    let full = h.connect(MAYA, ALL_SCOPES).await;
    let reply = h
        .api_get(
            "/v2/user/info/?fields=username,is_verified,bio_description,profile_deep_link,follower_count,video_count",
            &full.access,
        )
        .await;
    let user = &reply.json()["data"]["user"];
    assert_eq!(user["username"], "maya.public");
    assert_eq!(user["is_verified"], true);
    assert!(user["follower_count"].as_u64().unwrap() > 0);
    assert_eq!(user["video_count"], 0);
}

#[tokio::test]
async fn video_list_pages_newest_first_with_a_millisecond_cursor() {
    let h = Harness::new(config());
    let tokens = h.connect(MAYA, "user.info.basic,video.publish,video.list,user.info.stats").await;
    let mut post_ids = Vec::new();
    for seconds in [11, 12, 13] {
        let publish_id = h.post_video(&tokens.access, "PUBLIC_TO_EVERYONE", &Video::mp4(seconds, 1000)).await;
        let done = h.wait_for_status(&tokens.access, &publish_id, "PUBLISH_COMPLETE").await;
        post_ids.push(done["data"]["publicaly_available_post_id"][0].as_u64().unwrap().to_string());
    }
    // A private post is not listed.
    h.post_video(&tokens.access, "SELF_ONLY", &Video::mp4(5, 1000)).await;

    let list = |body: Value| {
        let token = tokens.access.clone();
        let h = &h;
        async move { h.api_post("/v2/video/list/?fields=id,create_time,duration", &token, &body).await }
    };
    let page = list(json!({ "max_count": 2 })).await.json();
    let videos = page["data"]["videos"].as_array().unwrap();
    assert_eq!(
        videos.iter().map(|video| video["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [&post_ids[2], &post_ids[1]]
    );
    assert_eq!(videos[0]["duration"], 13);
    assert_eq!(page["data"]["has_more"], true);
    let cursor = page["data"]["cursor"].as_i64().unwrap();
    assert!(cursor > 1_600_000_000_000, "cursor is Unix milliseconds: {cursor}");
    assert_eq!(videos[1]["create_time"].as_i64().unwrap(), cursor / 1000, "create_time is seconds");

    let next = list(json!({ "cursor": cursor, "max_count": 2 })).await.json();
    let videos = next["data"]["videos"].as_array().unwrap();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0]["id"], post_ids[0].as_str());
    assert_eq!(next["data"]["has_more"], false);

    assert_api_error(&list(json!({ "max_count": 21 })).await, StatusCode::BAD_REQUEST, "invalid_params");
    assert_api_error(
        &h.api_post("/v2/video/list/?fields=id,colour", &tokens.access, &json!({})).await,
        StatusCode::BAD_REQUEST,
        "invalid_params",
    );
    let count = h.api_get("/v2/user/info/?fields=video_count", &tokens.access).await.json();
    assert_eq!(count["data"]["user"]["video_count"], 4);
}

#[tokio::test]
async fn video_query_returns_only_the_callers_own_public_videos() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.list").await;
    let mut public = Vec::new();
    for seconds in [6, 7] {
        let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &Video::mp4(seconds, 1000)).await;
        let done = h.wait_for_status(&maya.access, &publish_id, "PUBLISH_COMPLETE").await;
        public.push(done["data"]["publicaly_available_post_id"][0].as_u64().unwrap().to_string());
    }
    // Another creator's public video is someone else's: absent, like an unknown id.
    let sam = h.connect(SAM, "user.info.basic,video.publish,video.list").await;
    let sams = h.post_video(&sam.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 1000)).await;
    let sams = h.wait_for_status(&sam.access, &sams, "PUBLISH_COMPLETE").await["data"]["publicaly_available_post_id"][0]
        .as_u64()
        .unwrap()
        .to_string();

    let ids = json!([public[1], "7000000000000000000", sams, public[0], public[1]]);
    let reply = h
        .api_post("/v2/video/query/?fields=id,create_time,duration", &maya.access, &json!({ "filters": { "video_ids": ids } }))
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["error"]["code"], "ok");
    let videos = body["data"]["videos"].as_array().unwrap();
    assert_eq!(
        videos.iter().map(|video| video["id"].as_str().unwrap()).collect::<Vec<_>>(),
        [&public[1], &public[0]],
        "own public videos only, once each: {body}"
    );
    assert_eq!(videos[0]["duration"], 7);
    assert_eq!(videos[0].as_object().unwrap().len(), 3, "only the requested fields");
    assert!(videos[0]["create_time"].as_i64().unwrap() > 1_600_000_000, "create_time is seconds");
    assert_eq!(body["data"]["has_more"], false);

    // Sam can see his own video with the same request.
    let his = h
        .api_post("/v2/video/query/?fields=id", &sam.access, &json!({ "filters": { "video_ids": [sams] } }))
        .await
        .json();
    assert_eq!(his["data"]["videos"][0]["id"], sams.as_str());
}

#[tokio::test]
async fn video_query_refuses_what_tiktok_refuses() {
    let h = Harness::new(config());
    let without = h.connect(MAYA, "user.info.basic,video.publish").await;
    let query = |token: &str, fields: &str, body: Value| {
        let (h, uri, token) = (&h, format!("/v2/video/query/?{fields}"), token.to_owned());
        async move { h.api_post(&uri, &token, &body).await }
    };
    let one = json!({ "filters": { "video_ids": ["7000000000000000000"] } });
    assert_api_error(&query("act.nope", "fields=id", one.clone()).await, StatusCode::UNAUTHORIZED, "access_token_invalid");
    assert_api_error(&query(&without.access, "fields=id", one.clone()).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");

    let with = h.connect(MAYA, "user.info.basic,video.list").await;
    assert_api_error(&query(&with.access, "fields=id,colour", one.clone()).await, StatusCode::BAD_REQUEST, "invalid_params");
    assert_api_error(&query(&with.access, "", one.clone()).await, StatusCode::BAD_REQUEST, "invalid_params");
    let twenty_one: Vec<String> = (0..21).map(|n| format!("70000000000000000{n:02}")).collect();
    let too_many = query(&with.access, "fields=id", json!({ "filters": { "video_ids": twenty_one[..] } })).await;
    assert_api_error(&too_many, StatusCode::BAD_REQUEST, "invalid_params");
    assert_eq!(too_many.json()["data"], json!({}), "TikTok's error envelope");
    let twenty = query(&with.access, "fields=id", json!({ "filters": { "video_ids": twenty_one[..20] } })).await;
    assert_eq!(twenty.status, StatusCode::OK, "twenty ids are allowed");
    assert_eq!(twenty.json()["data"]["videos"], json!([]), "ids not found are simply absent");
    for body in [json!({}), json!({ "filters": {} }), json!({ "filters": { "video_ids": [] } }), json!({ "filters": { "video_ids": [7] } })] {
        assert_api_error(&query(&with.access, "fields=id", body).await, StatusCode::BAD_REQUEST, "invalid_params");
    }
}

#[tokio::test]
async fn video_query_is_limited_to_600_a_minute_apart_from_the_list() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.list").await;
    let body = json!({ "filters": { "video_ids": ["7000000000000000000"] } });
    // A sliding minute of 600 calls (§5): the 601st within the minute is throttled.
    for call in 0..600 {
        let reply = h.api_post("/v2/video/query/?fields=id", &maya.access, &body).await;
        assert_eq!(reply.status, StatusCode::OK, "call {call}");
    }
    let throttled = h.api_post("/v2/video/query/?fields=id", &maya.access, &body).await;
    assert_api_error(&throttled, StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded");
    let list = h.api_post("/v2/video/list/?fields=id", &maya.access, &json!({})).await;
    assert_eq!(list.status, StatusCode::OK, "the video list has a window of its own");
}

#[tokio::test]
async fn withheld_post_ids_leave_only_the_display_api() {
    let h = Harness::new(SandboxConfig { withhold_post_ids: true, ..config() });
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.list").await;
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &Video::mp4(5, 1000)).await;
    let done = h.wait_for_status(&maya.access, &publish_id, "PUBLISH_COMPLETE").await;
    assert_eq!(done["data"]["publicaly_available_post_id"], json!([]), "the status never carries the id");
    let listed = h.api_post("/v2/video/list/?fields=id", &maya.access, &json!({})).await.json();
    let id = listed["data"]["videos"][0]["id"].as_str().expect("the video is still listed").to_owned();
    let queried = h
        .api_post("/v2/video/query/?fields=id", &maya.access, &json!({ "filters": { "video_ids": [id] } }))
        .await
        .json();
    assert_eq!(queried["data"]["videos"][0]["id"], id.as_str());
}
