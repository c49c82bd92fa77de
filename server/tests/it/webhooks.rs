//! TikTok's webhook deliveries as TikTok may really send them: retries hours later still
//! carrying the first attempt's signature, replays of the same body, the header in any case,
//! and the post that stops being public.

use crate::{
    following::app_with_moderation,
    util::{
        TestApp, TestClient,
        sandbox::{TestSandbox, connected_account},
        upload::Upload,
    },
};
use app::{
    db::schema::{post_events, tiktok_webhook_events},
    posts::{
        outcome::NO_LONGER_PUBLIC,
        ssr::Post,
        types::{PostDetail, PostState, UploadOutcome},
    },
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;

/// A signed delivery as TikTok builds it, created and signed at `signed_at`.
fn delivery(sandbox: &TestSandbox, creator: &str, event: &str, content: serde_json::Value, signed_at: i64) -> (String, String) {
    let body = serde_json::json!({
        "client_key": sandbox.sandbox.config().client_key,
        "event": event,
        "create_time": signed_at,
        "user_openid": sandbox.open_id_of(creator),
        "content": content.to_string(),
    })
    .to_string();
    let signature = app::tiktok::webhook::sign(body.as_bytes(), sandbox.sandbox.config().client_secret.as_bytes(), signed_at);
    (body, signature)
}

/// POSTs a delivery with the signature under `header_name`; the status and the answer's text.
async fn deliver(app: &TestApp, header_name: &str, (body, signature): &(String, String)) -> (u16, String) {
    let request = http::Request::post("/webhooks/tiktok")
        .header("content-type", "application/json")
        .header(header_name, signature)
        .body(axum::body::Body::from(body.clone()))
        .unwrap();
    let response = app.client().send(request).await;
    (response.status.as_u16(), response.text())
}

async fn detail(client: &mut TestClient, outcome: &UploadOutcome) -> PostDetail {
    client.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap()
}

async fn counts(app: &TestApp) -> (i64, i64) {
    let mut conn = app.conn().await;
    let events: i64 = post_events::table.count().get_result(&mut conn).await.unwrap();
    let deliveries: i64 = tiktok_webhook_events::table.count().get_result(&mut conn).await.unwrap();
    (events, deliveries)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_delivery_signed_two_hours_ago_is_accepted_and_its_replay_changes_nothing() {
    let (sandbox, app, mut owner) = app_with_moderation(std::time::Duration::from_secs(5)).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let outcome = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
    let publish_id = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().publish_id.unwrap();
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let post_id = serde_json::Number::from(7261463769757501445u64);

    // Published and public, by webhooks alone.
    let complete = delivery(&sandbox, "Maya Public", "post.publish.complete", serde_json::json!({"publish_id": publish_id}), now);
    assert_eq!(deliver(&app, "TikTok-Signature", &complete).await.0, 200);
    let public = serde_json::json!({"publish_id": publish_id, "post_id": post_id});
    let available = delivery(&sandbox, "Maya Public", "post.publish.publicly_available", public.clone(), now);
    assert_eq!(deliver(&app, "Tiktok-Signature", &available).await.0, 200, "the header name in the docs' own spelling");
    assert_eq!(detail(&mut owner, &outcome).await.post.status_label(), "Live on TikTok");

    // A retry of a delivery that first failed two hours ago, still carrying that signature.
    let two_hours_ago = now - 2 * 3600;
    let withdrawn = delivery(&sandbox, "Maya Public", "post.publish.no_longer_publicaly_available", public.clone(), two_hours_ago);
    assert_eq!(deliver(&app, "tiktok-signature", &withdrawn).await, (200, "ok".to_owned()));
    let gone = detail(&mut owner, &outcome).await;
    assert_eq!(gone.post.state, PostState::Published);
    assert!(gone.post.no_longer_public);
    assert_eq!(gone.post.status_label(), "No longer public on TikTok");
    assert_eq!(gone.post.fail_message.as_deref(), Some(NO_LONGER_PUBLIC));
    let page = owner.get(&format!("/posts/{}", outcome.post_id)).await.text();
    assert!(page.contains("No longer public on TikTok") && page.contains("no longer public: the creator may have made it private"), "{page}");

    // Public again (the creator made it public), then the old retry once more.
    let again = delivery(&sandbox, "Maya Public", "post.publish.publicly_available", public, now + 1);
    assert_eq!(deliver(&app, "TikTok-Signature", &again).await.0, 200);
    let live = detail(&mut owner, &outcome).await;
    assert_eq!(live.post.status_label(), "Live on TikTok");
    assert_eq!(live.post.fail_message, None);
    let before = counts(&app).await;
    assert_eq!(deliver(&app, "TikTok-Signature", &withdrawn).await, (200, "duplicate".to_owned()));
    assert_eq!(counts(&app).await, before, "no timeline line, no stored delivery");
    assert_eq!(detail(&mut owner, &outcome).await.post, live.post, "the replay changed nothing");
}

#[tokio::test(flavor = "multi_thread")]
async fn both_spellings_of_no_longer_public_are_understood_and_old_or_future_signatures_refused() {
    let (sandbox, app, mut owner) = app_with_moderation(std::time::Duration::from_secs(5)).await;
    let account = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    for event in ["post.publish.no_longer_publicaly_available", "post.publish.no_longer_publicly_available"] {
        let outcome = Upload::post_now(&account, "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(20, 1_000_000)).send(&mut owner).await.unwrap();
        let publish_id = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().publish_id.unwrap();
        let content = serde_json::json!({"publish_id": publish_id, "post_id": "7261463769757501445"});

        let too_old = delivery(&sandbox, "Maya Public", event, content.clone(), now - app::tiktok::webhook::MAX_AGE_SECS - 60);
        assert_eq!(deliver(&app, "TikTok-Signature", &too_old).await.0, 401, "older than TikTok's retries");
        let ahead = delivery(&sandbox, "Maya Public", event, content.clone(), now + 3600);
        assert_eq!(deliver(&app, "TikTok-Signature", &ahead).await.0, 401, "from the future");
        assert_eq!(detail(&mut owner, &outcome).await.post.state, PostState::Processing, "refused deliveries change nothing");

        // Out of order: it arrives before anything said "published", and still says it all.
        assert_eq!(deliver(&app, "TikTok-Signature", &delivery(&sandbox, "Maya Public", event, content, now)).await.0, 200);
        let gone = detail(&mut owner, &outcome).await;
        assert_eq!((gone.post.state, gone.post.no_longer_public), (PostState::Published, true), "{event}");
        let row = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
        assert_eq!((row.next_check_at, row.follow_until), (None, None), "not followed any more");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_delivery_is_refused_while_read_and_old_deliveries_are_pruned() {
    let app = TestApp::new().await;
    // Past 64 KiB and still sending: refused by the route's own body limit as soon as the
    // limit is crossed, not after buffering up to the global 2 MiB (the stream never ends, so
    // without the limit the request would hang).
    use futures_util::StreamExt as _;
    let first = futures_util::stream::iter([Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b' '; 100 * 1024]))]);
    let endless = first.chain(futures_util::stream::pending());
    let request = http::Request::post("/webhooks/tiktok")
        .header("content-type", "application/json")
        .header("TikTok-Signature", "t=1,s=00")
        .body(axum::body::Body::from_stream(endless))
        .unwrap();
    let answer = tokio::time::timeout(std::time::Duration::from_secs(30), app.client().send(request))
        .await
        .expect("an oversized delivery is refused while it is still being sent");
    assert_eq!(answer.status.as_u16(), 413);

    let now = OffsetDateTime::now_utc();
    let mut conn = app.conn().await;
    for (hash, age) in [("old", time::Duration::days(8)), ("recent", time::Duration::days(3))] {
        diesel::insert_into(tiktok_webhook_events::table)
            .values((
                tiktok_webhook_events::body_sha256.eq(hash),
                tiktok_webhook_events::event.eq("post.publish.complete"),
                tiktok_webhook_events::user_openid.eq("someone"),
                tiktok_webhook_events::content.eq(serde_json::json!({})),
                tiktok_webhook_events::created_time.eq((now - age).unix_timestamp()),
                tiktok_webhook_events::received_at.eq(now - age),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    assert_eq!(app::accounts::ssr::prune_webhook_events(&mut conn, now).await.unwrap(), 1);
    let left: Vec<String> = tiktok_webhook_events::table.select(tiktok_webhook_events::body_sha256).load(&mut conn).await.unwrap();
    assert_eq!(left, vec!["recent".to_owned()], "a delivery younger than a week still spots its replays");
}
