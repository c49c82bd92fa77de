//! Scheduled videos that TikTok pulls from Cadence (PULL_FROM_URL): the sandbox really downloads
//! them from Cadence's media route over HTTP, pull URLs serve only their own file (in ranges)
//! while it is needed, TikTok's refusals become sentences, and a server killed mid-pull is
//! reconciled through status without a second post.

use crate::util::{
    posts::{post, settle},
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account},
    upload::Upload,
};
use app::{
    db::schema::{media_pulls, posts},
    media::public_url::{self, Lookup},
    posts::types::PostState,
    publishing::{
        due::publish_due,
        recovery::{Recovered, recover_expired},
    },
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::{SandboxConfig, synthetic::SyntheticVideo};
use std::{net::SocketAddr, time::Duration};
use time::OffsetDateTime;
use uuid::Uuid;

/// How often `settle` looks again: Cadence asks TikTok at most 30 times a minute per account,
/// and a faster loop would spend that on a long pull.
pub(crate) const SETTLE_POLL: Duration = Duration::from_millis(500);

const INIT: &str = "/v2/post/publish/video/init/";

/// Cadence listening on a real port (TikTok pulls over HTTP) with `CADENCE_MEDIA_PUBLIC_URL`
/// pointing at it, and a sandbox on which that prefix is verified unless `verified` is false.
pub(crate) async fn setup(verified: bool, config: SandboxConfig) -> (TestSandbox, TestApp, TestClient) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let media_url = format!("http://{}/media/pull", listener.local_addr().unwrap());
    let sandbox = TestSandbox::start_with(SandboxConfig {
        verified_url_prefixes: if verified { vec![format!("{media_url}/")] } else { Vec::new() },
        // The test server has no certificate; TikTok itself only pulls https.
        allow_loopback_http_pulls: true,
        pull_range_bytes: 1_000_000,
        ..config
    })
    .await;
    let mut settings = sandbox.app_settings();
    settings.push(("CADENCE_MEDIA_PUBLIC_URL", media_url));
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let router = app.router.clone();
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await });
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

pub(crate) fn fast() -> SandboxConfig {
    SandboxConfig { processing_delay: Duration::from_millis(50), ..Default::default() }
}


/// A scheduled post of `video`, due in five minutes; returns its id and due time.
async fn scheduled(sandbox: &TestSandbox, owner: &mut TestClient, video: SyntheticVideo) -> (Uuid, OffsetDateTime) {
    let maya = connected_account(sandbox, owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&maya, "SELF_ONLY", video, due).send(owner).await.expect("scheduled");
    (outcome.post_id, due)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_video_is_pulled_by_tiktok_from_cadence_not_uploaded() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let (post_id, due) = scheduled(&sandbox, &mut owner, SyntheticVideo::mp4(20, 2_500_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, post_id, Duration::from_secs(30), SETTLE_POLL).await, PostState::Published);

    assert_eq!(sandbox.count(INIT, "PULL_FROM_URL"), 1, "one init, by PULL_FROM_URL");
    assert_eq!(sandbox.count(INIT, "FILE_UPLOAD"), 0);
    assert!(sandbox.sandbox.requests().iter().all(|r| r.method != "PUT"), "no byte was uploaded");
    let publishes = sandbox.sandbox.publishes();
    assert_eq!(publishes.len(), 1);
    assert!(publishes[0].upload_complete && publishes[0].publish_id.starts_with("v_pub_url~"), "{publishes:?}");
    // TikTok read the whole file from Cadence, in three ranges of at most 1 MB.
    let (requests, served): (i32, i64) = media_pulls::table
        .filter(media_pulls::post_id.eq(post_id))
        .select((media_pulls::requests, media_pulls::bytes_served))
        .first(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!((requests, served), (3, 2_500_000));
    let detail = post(&app, post_id).await;
    assert_eq!(detail.publish_id.as_deref(), Some(publishes[0].publish_id.as_str()));
}

/// A pull URL for a post made to look mid-pull, with publish id `p1`.
async fn live_pull(app: &TestApp, post_id: Uuid) -> String {
    let mut conn = app.conn().await;
    let media_id = post(app, post_id).await.media_id.unwrap();
    diesel::update(posts::table.find(post_id))
        .set((posts::state.eq("processing"), posts::publish_id.eq(Some("p1"))))
        .execute(&mut conn)
        .await
        .unwrap();
    let token = public_url::grant(&mut conn, post_id, media_id).await.unwrap();
    assert_eq!(public_url::lookup(&mut conn, &token, OffsetDateTime::now_utc()).await.unwrap(), Lookup::NotYetActive);
    assert!(public_url::activate(&mut conn, &token, "p1").await.unwrap());
    token
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_urls_serve_their_own_file_in_ranges_and_nothing_else() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let video = SyntheticVideo::mp4(20, 300_000);
    let whole: Vec<u8> = video.pieces(0, 299_999, 64 * 1024).flat_map(|piece| piece.to_vec()).collect();
    let (post_id, _) = scheduled(&sandbox, &mut owner, video).await;
    let token = live_pull(&app, post_id).await;
    let mut client = app.client();
    let path = format!("/media/pull/{token}");

    let full = client.get(&path).await;
    assert_eq!(full.status, 200);
    assert_eq!(full.header("content-type"), Some("video/mp4"));
    assert_eq!(full.header("content-length"), Some("300000"));
    assert_eq!(full.header("accept-ranges"), Some("bytes"));
    assert_eq!(full.body, whole);

    let part = client.send(http::Request::get(&path).header("range", "bytes=1000-1999").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/300000"));
    assert_eq!(part.header("content-length"), Some("1000"));
    assert_eq!(part.body, whole[1000..2000]);

    let tail = client.send(http::Request::get(&path).header("range", "bytes=-10").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!((tail.status.as_u16(), tail.body.as_slice()), (206, &whole[299_990..]));
    let outside = client.send(http::Request::get(&path).header("range", "bytes=300000-").body(axum::body::Body::empty()).unwrap()).await;
    assert_eq!(outside.status, 416);
    assert_eq!(outside.header("content-range"), Some("bytes */300000"));

    // Nothing else answers: another token, junk, a path outside, and no redirect anywhere.
    for other in ["/media/pull/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/media/pull/..%2F..%2Fetc%2Fpasswd", "/media/pull/"] {
        let reply = client.get(other).await;
        assert!(reply.status == 404, "{other}: {}", reply.status);
        assert!(reply.header("location").is_none());
    }

    // Once the post is no longer on its way to TikTok, its URL is dead.
    diesel::update(posts::table.find(post_id)).set(posts::state.eq("published")).execute(&mut app.conn().await).await.unwrap();
    assert_eq!(client.get(&path).await.status, 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pull_url_expires_and_another_publish_cannot_use_it() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let (post_id, _) = scheduled(&sandbox, &mut owner, SyntheticVideo::mp4(20, 100_000)).await;
    let token = live_pull(&app, post_id).await;
    let mut client = app.client();
    let path = format!("/media/pull/{token}");
    assert_eq!(client.get(&path).await.status, 200);

    // A new attempt (another publish id) does not reopen the old URL.
    diesel::update(posts::table.find(post_id)).set(posts::publish_id.eq(Some("p2"))).execute(&mut app.conn().await).await.unwrap();
    assert_eq!(client.get(&path).await.status, 404);
    diesel::update(posts::table.find(post_id)).set(posts::publish_id.eq(Some("p1"))).execute(&mut app.conn().await).await.unwrap();
    assert_eq!(client.get(&path).await.status, 200);

    diesel::update(media_pulls::table.filter(media_pulls::post_id.eq(post_id)))
        .set(media_pulls::expires_at.eq(OffsetDateTime::now_utc() - time::Duration::seconds(1)))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(client.get(&path).await.status, 404, "expired");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unverified_prefix_is_explained_and_nothing_is_posted() {
    let (sandbox, app, mut owner) = setup(false, fast()).await;
    let (post_id, due) = scheduled(&sandbox, &mut owner, SyntheticVideo::mp4(20, 100_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    let failed = post(&app, post_id).await;
    assert_eq!(failed.state(), PostState::Failed);
    let message = failed.fail_message.unwrap_or_default();
    assert!(message.contains("CADENCE_MEDIA_PUBLIC_URL is not verified") && message.contains("developer portal"), "{message}");
    assert!(sandbox.sandbox.publishes().is_empty());
    // The refused init's URL never opens.
    let open: i64 = media_pulls::table
        .filter(media_pulls::post_id.eq(post_id))
        .filter(media_pulls::revoked_at.is_null())
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(open, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_pull_is_explained_with_what_to_do() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    let (post_id, due) = scheduled(&sandbox, &mut owner, SyntheticVideo::mp4(20, 2_500_000)).await;
    sandbox.sandbox.fail_next_pulls(1);
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, post_id, Duration::from_secs(30), SETTLE_POLL).await, PostState::Failed);
    let failed = post(&app, post_id).await;
    assert_eq!(failed.fail_code.as_deref(), Some("video_pull_failed"));
    let message = failed.fail_message.unwrap_or_default();
    assert!(message.contains("could not download") && message.contains("without redirects"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_pull_is_reconciled_through_status_and_posts_once() {
    let (sandbox, app, mut owner) = setup(true, fast()).await;
    // 200 kB/s: the 1.5 MB download takes about 8 s, so it usually still runs when the "crash"
    // is recovered (on a slow machine it may have finished; either way TikTok decides).
    sandbox.sandbox.set_pull_rate(Some(200_000));
    let (post_id, due) = scheduled(&sandbox, &mut owner, SyntheticVideo::mp4(20, 1_500_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    // As if the server died after recording the publish id, before writing "processing" down.
    diesel::update(posts::table.find(post_id))
        .set((
            posts::state.eq("uploading"),
            posts::lease_owner.eq(Some(Uuid::new_v4())),
            posts::lease_expires_at.eq(OffsetDateTime::now_utc() - time::Duration::seconds(1)),
        ))
        .execute(&mut app.conn().await)
        .await
        .unwrap();

    assert_eq!(recover_expired(&app.state).await.unwrap(), [(post_id, Recovered::Reconciled)]);
    let recovered = post(&app, post_id).await.state();
    assert!(matches!(recovered, PostState::Processing | PostState::Published), "{recovered:?}");
    assert_eq!(sandbox.count("/v2/post/publish/cancel/", ""), 0, "a pull in progress is left to finish");
    assert_eq!(settle(&app, post_id, Duration::from_secs(60), SETTLE_POLL).await, PostState::Published);
    assert_eq!(sandbox.count(INIT, ""), 1, "never sent twice");
    assert_eq!(sandbox.sandbox.publishes().iter().filter(|p| p.upload_complete).count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_person_can_cancel_a_pull_in_progress_but_not_an_uploaded_video() {
    // Processing takes 30 s here, so the uploaded "Post now" video below is still processing.
    let (sandbox, app, mut owner) =
        setup(true, SandboxConfig { processing_delay: Duration::from_secs(30), ..Default::default() }).await;
    // 20 kB/s: the download of 1.5 MB would take over a minute.
    sandbox.sandbox.set_pull_rate(Some(20_000));
    let (post_id, due) = scheduled(&sandbox, &mut owner, SyntheticVideo::mp4(20, 1_500_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(post(&app, post_id).await.state(), PostState::Processing);
    let token_hashes: i64 =
        media_pulls::table.filter(media_pulls::post_id.eq(post_id)).count().get_result(&mut app.conn().await).await.unwrap();
    assert_eq!(token_hashes, 1);
    // A status check while TikTok downloads: the post page says how far it got.
    let started = post(&app, post_id).await;
    let mut seen = None;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        app::publishing::status::check_one(&app.state, &started).await.unwrap();
        seen = post(&app, post_id).await.downloaded_bytes.filter(|bytes| *bytes > 0);
        if seen.is_some() {
            break;
        }
    }
    let seen = seen.expect("TikTok's downloaded_bytes is kept");
    assert!(seen < 1_500_000, "still downloading: {seen}");
    let shown: app::posts::types::PostDetail = owner.call("posts/detail", &[("post_id", &post_id.to_string())]).await.unwrap();
    assert_eq!(shown.post.downloaded_bytes, Some(seen));

    owner.call::<()>("posts/cancel", &[("post_id", &post_id.to_string())]).await.expect("cancelled at TikTok");
    assert_eq!(post(&app, post_id).await.state(), PostState::Cancelled);
    assert_eq!(sandbox.count("/v2/post/publish/cancel/", ""), 1);
    let record = sandbox.sandbox.publishes().into_iter().next().unwrap();
    assert_eq!((record.status.as_str(), record.fail_reason.as_deref()), ("FAILED", Some("publish_cancelled")));
    let revoked: i64 = media_pulls::table
        .filter(media_pulls::post_id.eq(post_id))
        .filter(media_pulls::revoked_at.is_not_null())
        .count()
        .get_result(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(revoked, 1, "its URL is closed");

    // "Post now" streams the browser's bytes (FILE_UPLOAD): TikTok has them all, too late.
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let now = Upload::post_now(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 500_000)).send(&mut owner).await.unwrap();
    assert_eq!(now.state, PostState::Processing);
    let refused = owner.call::<()>("posts/cancel", &[("post_id", &now.post_id.to_string())]).await.unwrap_err();
    assert!(refused.to_string().contains("can no longer be cancelled"), "{refused}");
    assert_eq!(post(&app, now.post_id).await.state(), PostState::Processing);
}
