//! Exactly once against TikTok's own record: chunks resubmitted after a 5xx or a stall, a
//! recovery that does not trust a lagging `uploaded_bytes`, a sender cut off from the database
//! that stops by itself while another server takes over, and database errors that retry.

use crate::util::{
    posts::{post, settle},
    TestApp, TestClient,
    db_proxy::DbProxy,
    sandbox::{TestSandbox, connected_account},
    upload::Upload,
};
use app::{
    db::schema::posts,
    posts::types::{PostDetail, PostState},
    publishing::{
        due::publish_due,
        recovery::{Recovered, recover_expired},
    },
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::{Endpoint, Fault, FaultKind, SandboxConfig, synthetic::SyntheticVideo};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How often `settle` looks again.
const SETTLE_POLL: Duration = Duration::from_millis(100);

const INIT: &str = "/v2/post/publish/video/init/";

/// A sandbox with `config` and an app on it with `settings`, one owner signed up.
async fn setup(config: SandboxConfig, settings: &[(&'static str, &str)]) -> (TestSandbox, TestApp, TestClient) {
    let sandbox = TestSandbox::start_with(config).await;
    let mut all: Vec<(&str, String)> = settings.iter().map(|(k, v)| (*k, (*v).to_owned())).collect();
    all.extend(sandbox.app_settings());
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

fn puts(sandbox: &TestSandbox) -> Vec<Option<u16>> {
    sandbox.sandbox.requests().iter().filter(|r| r.method == "PUT").map(|r| r.status).collect()
}

/// Publishes TikTok holds every byte of: each is a post TikTok publishes.
fn complete_publishes(sandbox: &TestSandbox) -> usize {
    sandbox.sandbox.publishes().iter().filter(|p| p.upload_complete).count()
}


/// As if the post's server died: its lease ran out by the database's clock.
async fn expire_lease(app: &TestApp, id: Uuid) {
    diesel::sql_query("UPDATE posts SET lease_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(id)
        .execute(&mut app.conn().await)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_chunk_answered_500_is_resubmitted_from_the_spool_and_posted_once() {
    let (sandbox, _app, mut owner) = setup(SandboxConfig { processing_delay: Duration::from_millis(50), ..Default::default() }, &[]).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Status500, count: 1, skip: 0 });
    // "Post now": the bytes come from the browser once; the resubmission must come from the spool.
    let outcome = Upload::post_now(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 3_000_000)).send(&mut owner).await.expect("posted");
    assert_eq!(outcome.state, PostState::Processing);
    assert_eq!(puts(&sandbox), [Some(500), Some(201)], "the same chunk went again after the 500");
    assert_eq!(sandbox.count(INIT, ""), 1, "one init");
    assert_eq!(complete_publishes(&sandbox), 1);
    assert_eq!(sandbox.sandbox.publishes().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_chunk_times_out_by_its_size_and_is_resubmitted() {
    let config = SandboxConfig { processing_delay: Duration::from_millis(50), fault_hang: Duration::from_secs(30), ..Default::default() };
    // A 2 s floor and a fast minimum rate: a 3 MB chunk gets about 2 s, far below the 30 s hang.
    let (sandbox, app, mut owner) =
        setup(config, &[("CADENCE_UPLOAD_CHUNK_TIMEOUT_FLOOR_SECS", "2"), ("CADENCE_UPLOAD_MIN_BYTES_PER_SEC", "100000000")]).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 3_000_000), due).send(&mut owner).await.unwrap();
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Stall, count: 1, skip: 0 });
    let started = std::time::Instant::now();
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    assert!(started.elapsed() < Duration::from_secs(25), "the stall was cut by the chunk's own timeout, not waited out");
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(20), SETTLE_POLL).await, PostState::Published);
    let puts = puts(&sandbox);
    assert_eq!(puts.len(), 2, "{puts:?}");
    assert_eq!(puts[1], Some(201));
    assert_eq!(sandbox.count(INIT, ""), 1);
    assert_eq!(complete_publishes(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_upload_holds_back_no_other_posts_init_and_each_goes_out_once() {
    // One place to start posts and one upload turn; the first upload's chunk stalls until its
    // own timeout (about 2 s) cuts it and it is resubmitted.
    let config = SandboxConfig { processing_delay: Duration::from_millis(50), fault_hang: Duration::from_secs(30), ..Default::default() };
    let settings = [
        ("CADENCE_UPLOAD_CHUNK_TIMEOUT_FLOOR_SECS", "2"),
        ("CADENCE_UPLOAD_MIN_BYTES_PER_SEC", "100000000"),
        ("CADENCE_PUBLISH_CONCURRENCY", "1"),
        ("CADENCE_PUBLISH_UPLOADS", "1"),
    ];
    let (sandbox, app, mut owner) = setup(config, &settings).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(Upload::scheduled(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000), due).send(&mut owner).await.unwrap().post_id);
    }
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Stall, count: 1, skip: 0 });
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 3);

    // A started post gives its place up at once: the other two reached TikTok's init while the
    // first upload was stalled, before any chunk was taken.
    let requests = sandbox.sandbox.requests();
    let inits: Vec<u64> = requests.iter().filter(|r| r.path == INIT).map(|r| r.seq).collect();
    let first_taken_chunk = requests.iter().filter(|r| r.method == "PUT" && r.status == Some(201)).map(|r| r.seq).min().unwrap();
    assert_eq!(inits.len(), 3, "one init per post");
    assert!(inits[2] < first_taken_chunk, "every post started while the first upload stalled: inits {inits:?}, first chunk taken {first_taken_chunk}");
    for id in ids {
        assert_eq!(settle(&app, id, Duration::from_secs(20), SETTLE_POLL).await, PostState::Published);
    }
    assert_eq!(complete_publishes(&sandbox), 3, "each once");
    assert_eq!(sandbox.sandbox.publishes().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_killed_after_its_last_chunk_is_never_sent_again_on_a_lagging_uploaded_bytes() {
    // TikTok processes for a while and reports uploaded_bytes 2 s late (its default lag);
    // upload URLs live 3 s here, and Cadence waits 4 s after an init before trusting that an
    // upload can no longer complete.
    let config = SandboxConfig {
        processing_delay: Duration::from_secs(3),
        upload_url_ttl: Duration::from_secs(3),
        ..Default::default()
    };
    let (sandbox, app, mut owner) = setup(config, &[("CADENCE_UPLOAD_URL_LIFETIME_SECS", "4")]).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 2_000_000), due).send(&mut owner).await.unwrap();
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(complete_publishes(&sandbox), 1, "TikTok has every byte");
    // As if TikTok's 201 was lost and the server died before writing "processing" down.
    diesel::update(posts::table.find(outcome.post_id))
        .set((posts::state.eq("uploading"), posts::lease_owner.eq(Some(Uuid::new_v4()))))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    expire_lease(&app, outcome.post_id).await;

    assert_eq!(recover_expired(&app.state).await.unwrap(), [(outcome.post_id, Recovered::Waiting)]);
    assert_eq!(sandbox.count("/v2/post/publish/cancel/", ""), 1, "TikTok was asked to cancel first");
    assert_eq!(publish_due(&app.state, OffsetDateTime::now_utc() + time::Duration::hours(1), Uuid::new_v4()).await.unwrap(), 0);

    // Once the upload link expired, TikTok is asked again, and it has the post.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let recovered = recover_expired(&app.state).await.unwrap();
        if recovered.contains(&(outcome.post_id, Recovered::Reconciled)) {
            break;
        }
        assert!(!recovered.iter().any(|(_, r)| *r == Recovered::Requeued), "{recovered:?}");
        assert!(tokio::time::Instant::now() < deadline, "never reconciled");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(20), SETTLE_POLL).await, PostState::Published);
    assert_eq!(sandbox.count(INIT, ""), 1, "no second init");
    assert_eq!(sandbox.sandbox.publishes().len(), 1);
    assert_eq!(complete_publishes(&sandbox), 1);
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert!(detail.events.iter().any(|e| e.kind == "waiting" && e.message.contains("upload link expires")), "{:?}", detail.events);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_error_inside_a_send_is_retried_and_gives_the_days_slot_back() {
    let (sandbox, app, mut owner) = setup(SandboxConfig { processing_delay: Duration::from_millis(50), ..Default::default() }, &[]).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&maya, "SELF_ONLY", SyntheticVideo::mp4(20, 1_000_000), due).send(&mut owner).await.unwrap();
    // Storing the publish id fails (until the trigger goes), as a dropped connection would.
    let mut conn = app.conn().await;
    for statement in [
        "CREATE FUNCTION fail_publish_id() RETURNS trigger AS $$ BEGIN \
           IF NEW.publish_id IS NOT NULL AND OLD.publish_id IS NULL THEN RAISE EXCEPTION 'connection lost'; END IF; \
           RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER fail_publish_id BEFORE UPDATE ON posts FOR EACH ROW EXECUTE FUNCTION fail_publish_id()",
    ] {
        diesel::sql_query(statement).execute(&mut conn).await.unwrap();
    }
    drop(conn);
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    let waiting = post(&app, outcome.post_id).await;
    assert_eq!(waiting.state(), PostState::Scheduled, "back in the queue, not failed: {:?}", waiting.fail_message);
    assert!(waiting.next_check_at.is_some());
    let daily: i64 = {
        use app::db::schema::tiktok_calls;
        tiktok_calls::table
            .filter(tiktok_calls::endpoint.eq(app::tiktok::rate_limit::LimitedEndpoint::DirectPostsPerDay.name()))
            .count()
            .get_result(&mut app.conn().await)
            .await
            .unwrap()
    };
    assert_eq!(daily, 0, "nothing was published, so the day's slot was given back");

    // The database is back: the retry goes out once.
    diesel::sql_query("DROP TRIGGER fail_publish_id ON posts").execute(&mut app.conn().await).await.unwrap();
    let later = waiting.next_check_at.unwrap().max(due) + time::Duration::seconds(1);
    assert_eq!(publish_due(&app.state, later, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(20), SETTLE_POLL).await, PostState::Published);
    assert_eq!(complete_publishes(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sender_cut_off_from_the_database_stops_by_itself_and_the_post_goes_out_once() {
    // Chunks take a while (latency on every TikTok call), leases are 3 s, and upload URLs live
    // 20 s (Cadence waits 21 s), so the whole takeover fits in a test.
    let config = SandboxConfig {
        processing_delay: Duration::from_millis(50),
        upload_url_ttl: Duration::from_secs(20),
        ..Default::default()
    };
    let (sandbox, app, mut owner) = setup(config, &[("CADENCE_UPLOAD_URL_LIFETIME_SECS", "21")]).await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(&maya, "SELF_ONLY", SyntheticVideo::mp4(30, 64_000_000), due).send(&mut owner).await.unwrap();

    // Server A reaches PostgreSQL (wherever the test database lives) only through the proxy.
    let proxy = DbProxy::start(&DbProxy::upstream_of(&app.db.url)).await;
    let mut settings = sandbox.app_settings();
    settings.insert(0, ("DATABASE_URL", proxy.url_for(&app.db.url)));
    settings.insert(0, ("CADENCE_PUBLISH_LEASE_SECS", "3".to_owned()));
    settings.insert(0, ("CADENCE_UPLOAD_URL_LIFETIME_SECS", "21".to_owned()));
    let server_a = app.another_state(&settings);
    sandbox.sandbox.set_latency(Duration::from_millis(400));
    let worker_a = Uuid::new_v4();
    let sending = {
        let state = server_a.clone();
        tokio::spawn(async move { publish_due(&state, due, worker_a).await })
    };
    // Once A has stored its publish id and TikTok has a chunk, A's database goes silent.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let first_publish = loop {
        let seen = post(&app, outcome.post_id).await;
        if let Some(id) = seen.publish_id.clone()
            && puts(&sandbox).contains(&Some(206))
        {
            break id;
        }
        assert!(tokio::time::Instant::now() < deadline, "A never started uploading");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    proxy.pause();
    let paused_at = tokio::time::Instant::now();
    // A stops uploading on its own timer before its 3 s lease could lapse, though it hears
    // nothing from the database: from then on TikTok sees no more of its chunks.
    tokio::time::sleep_until(paused_at + Duration::from_secs(3)).await;
    let puts_at_lapse = puts(&sandbox).len();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(puts(&sandbox).len(), puts_at_lapse, "A kept uploading after its lease could lapse");
    assert_eq!(complete_publishes(&sandbox), 0, "A's upload was cut before its last chunk");
    // A's claim loop waits on its silent database; kill it so it cannot claim again later.
    sending.abort();
    sandbox.sandbox.set_latency(Duration::ZERO);

    // Server B takes the post over once the lease ran out by the database's clock, waits out
    // A's upload URL, and sends it again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let recovered = recover_expired(&app.state).await.unwrap();
        if recovered.contains(&(outcome.post_id, Recovered::Requeued)) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "B never took the post over");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    let second = post(&app, outcome.post_id).await;
    assert_ne!(second.publish_id.as_deref(), Some(first_publish.as_str()));

    // A's connection comes back; whatever it still had queued, and its late writes, change nothing.
    proxy.resume();
    let late = app::posts::ssr::mark_uploaded(&mut *app.conn().await, outcome.post_id, Some(worker_a), &first_publish, "late")
        .await
        .unwrap();
    assert!(!late, "a stale sender's mark_uploaded is fenced out");
    assert_eq!(settle(&app, outcome.post_id, Duration::from_secs(60), SETTLE_POLL).await, PostState::Published);
    let published = post(&app, outcome.post_id).await;
    assert_eq!(published.publish_id, second.publish_id, "the post tracks B's publish");
    assert_eq!(complete_publishes(&sandbox), 1, "TikTok's record: exactly one complete publish");
    assert_eq!(sandbox.sandbox.publishes().iter().filter(|p| p.status == "PUBLISH_COMPLETE").count(), 1);
}
