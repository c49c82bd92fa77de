//! What analytics reads: counters that grow with a video's age from the seed, videos posted in
//! the TikTok app, creator stats behind `user.info.stats`, and the Display API's 600 a minute
//! shared by the whole app (the stricter reading of §5).

use crate::harness::*;

const STATS: &str = "id,create_time,view_count,like_count,comment_count,share_count,title";

#[tokio::test]
async fn videos_posted_in_the_app_are_listed_with_counts_that_grow_with_their_age() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.publish,video.list").await;
    let week_old = h.sandbox.post_in_app(&maya.open_id, "From the app, a week ago", Duration::from_secs(7 * 86_400)).unwrap();
    let hour_old = h.sandbox.post_in_app(&maya.open_id, "From the app, an hour ago", Duration::from_secs(3600)).unwrap();
    let publish_id = h.post_video(&maya.access, "PUBLIC_TO_EVERYONE", &Video::mp4(9, 1000)).await;
    let through_api = h.wait_for_status(&maya.access, &publish_id, "PUBLISH_COMPLETE").await["data"]
        ["publicaly_available_post_id"][0]
        .as_u64()
        .unwrap()
        .to_string();

    let page = h.api_post(&format!("/v2/video/list/?fields={STATS}"), &maya.access, &json!({})).await.json();
    let videos = page["data"]["videos"].as_array().unwrap();
    let ids: Vec<&str> = videos.iter().map(|video| video["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [through_api.as_str(), hour_old.as_str(), week_old.as_str()], "newest first, both kinds: {page}");
    assert_eq!(videos[2]["title"], "From the app, a week ago");
    let views = |video: &Value| video["view_count"].as_i64().unwrap();
    // Growth is per video: each has its own reach, so a lucky hour-old video may well have more
    // views than a quiet week-old one (comparing the two made this test fail now and then).
    let seed = h.sandbox.config().audience_seed;
    let week_id: i64 = week_old.parse().unwrap();
    assert!(
        sandbox::video_counts(seed, week_id, 7 * 86_400).view_count > sandbox::video_counts(seed, week_id, 3600).view_count,
        "a video has more views at a week than at an hour"
    );
    let hour_expected = sandbox::video_counts(seed, hour_old.parse().unwrap(), 3600);
    assert!((views(&videos[1]) - hour_expected.view_count).abs() <= hour_expected.view_count / 50 + 1, "{hour_expected:?}: {page}");
    for video in videos {
        assert!(video["like_count"].as_i64().unwrap() <= views(video));
        for counter in ["view_count", "like_count", "comment_count", "share_count"] {
            assert!(video[counter].is_i64(), "{counter} is a number: {video}");
        }
    }
    // The counts are the seeded curve itself, so any client can predict them.
    let expected = sandbox::video_counts(h.sandbox.config().audience_seed, week_old.parse().unwrap(), 7 * 86_400);
    assert!((views(&videos[2]) - expected.view_count).abs() <= expected.view_count / 100 + 1, "{expected:?}");

    // The app's videos exist only at TikTok: no publish task knows them.
    assert!(h.sandbox.publishes().iter().all(|publish| publish.post_id.as_deref() != Some(week_old.as_str())));
    let queried = h
        .api_post("/v2/video/query/?fields=id,view_count", &maya.access, &json!({ "filters": { "video_ids": [week_old] } }))
        .await
        .json();
    assert_eq!(queried["data"]["videos"][0]["id"], week_old.as_str(), "video/query finds them too");
    let count = h.api_get("/v2/user/info/?fields=video_count", &maya.access).await;
    assert_api_error(&count, StatusCode::UNAUTHORIZED, "scope_not_authorized");
}

#[tokio::test]
async fn the_cursor_pages_through_app_videos_without_skipping_one() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.list").await;
    // Many videos posted "at the same moment" still each get a millisecond of their own.
    let mut posted: Vec<String> =
        (0..45).map(|n| h.sandbox.post_in_app(&maya.open_id, &format!("v{n}"), Duration::from_secs(60)).unwrap()).collect();
    let mut seen = Vec::new();
    let mut cursor: Option<i64> = None;
    loop {
        let mut body = json!({ "max_count": 20 });
        if let Some(cursor) = cursor {
            body["cursor"] = json!(cursor);
        }
        let page = h.api_post("/v2/video/list/?fields=id", &maya.access, &body).await.json();
        let videos = page["data"]["videos"].as_array().unwrap();
        assert!(videos.len() <= 20);
        seen.extend(videos.iter().map(|video| video["id"].as_str().unwrap().to_owned()));
        if page["data"]["has_more"] != true {
            break;
        }
        cursor = page["data"]["cursor"].as_i64();
    }
    assert_eq!(seen.len(), 45, "every video once");
    seen.sort();
    posted.sort();
    assert_eq!(seen, posted);
}

#[tokio::test]
async fn creator_stats_need_their_scope_and_grow_with_the_videos_likes() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,user.info.stats,video.list").await;
    let fields = "/v2/user/info/?fields=follower_count,following_count,likes_count,video_count";
    let before = h.api_get(fields, &maya.access).await.json();
    let user = &before["data"]["user"];
    assert_eq!(user.as_object().unwrap().len(), 4, "exactly the requested fields: {before}");
    let seeded = h.sandbox.creators().into_iter().find(|c| c.display_name == MAYA).unwrap();
    assert!(user["follower_count"].as_u64().unwrap() >= seeded.follower_count, "the seeded base and growth since");
    assert_eq!(user["video_count"], 0);
    h.sandbox.post_in_app(&maya.open_id, "liked", Duration::from_secs(30 * 86_400)).unwrap();
    let after = h.api_get(fields, &maya.access).await.json();
    assert_eq!(after["data"]["user"]["video_count"], 1);
    assert!(
        after["data"]["user"]["likes_count"].as_u64().unwrap() > user["likes_count"].as_u64().unwrap(),
        "a month-old video's likes count for its creator: {after}"
    );
    let basic = h.connect(MAYA, "user.info.basic").await;
    assert_api_error(&h.api_get("/v2/user/info/?fields=likes_count", &basic.access).await, StatusCode::UNAUTHORIZED, "scope_not_authorized");
}

#[tokio::test]
async fn the_display_apis_600_a_minute_are_shared_by_every_creator_of_the_app() {
    let h = Harness::new(config());
    let maya = h.connect(MAYA, "user.info.basic,video.list").await;
    let sam = h.connect(SAM, "user.info.basic,video.list").await;
    for call in 0..600 {
        let token = if call % 2 == 0 { &maya.access } else { &sam.access };
        let reply = h.api_post("/v2/video/list/?fields=id", token, &json!({})).await;
        assert_eq!(reply.status, StatusCode::OK, "call {call}");
    }
    // Neither creator has made 600 calls, yet the app has.
    let throttled = h.api_post("/v2/video/list/?fields=id", &maya.access, &json!({})).await;
    assert_api_error(&throttled, StatusCode::TOO_MANY_REQUESTS, "rate_limit_exceeded");
    let info = h.api_get("/v2/user/info/?fields=open_id", &sam.access).await;
    assert_eq!(info.status, StatusCode::OK, "user info has a window of its own");
}
