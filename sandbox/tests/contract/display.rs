//! The resource-API envelope, the bearer/scope/validation order, user info and the video list.

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
