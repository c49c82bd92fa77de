//! Scheduled posts under failure: servers that stop mid-send (their futures dropped, as a kill
//! would) are reconciled through TikTok's status and every post goes out exactly once; several
//! servers on one database take each due post once.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connect, connected_account, fast_app_with_sandbox},
    server_process::ServerProcess,
    upload::Upload,
};
use app::{
    db::schema::posts,
    posts::{
        ssr::Post,
        types::{PostDetail, PostState, UploadOutcome},
    },
    publishing::{
        due::{DEFAULT_LEASE as LEASE, publish_due},
        recovery::{Recovered, recover_expired},
        status::check_due_statuses,
    },
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";

/// Schedules `video` on `account` five minutes ahead; returns the post and its due time.
async fn schedule(client: &mut TestClient, account: &str, video: SyntheticVideo) -> (UploadOutcome, OffsetDateTime) {
    let due = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    (Upload::scheduled(account, "SELF_ONLY", video, due).send(client).await.expect("scheduled"), due)
}

/// Connects the three seeded creators who can post and schedules `per_creator` copies of
/// `video` on each; returns the posts and the latest due time.
async fn schedule_on_three_creators(
    sandbox: &TestSandbox,
    owner: &mut TestClient,
    per_creator: usize,
    video: SyntheticVideo,
) -> (Vec<Uuid>, OffsetDateTime) {
    let mut ids = Vec::new();
    let mut due = OffsetDateTime::now_utc();
    for creator in ["Maya Public", "Leo Private", "Short Clips Sam"] {
        let id = connected_account(sandbox, owner, creator).await;
        for _ in 0..per_creator {
            let (outcome, at) = schedule(owner, &id, video.clone()).await;
            ids.push(outcome.post_id);
            due = due.max(at);
        }
    }
    (ids, due)
}

/// Uploads TikTok received completely: each is a post TikTok would publish.
fn complete_uploads(sandbox: &TestSandbox) -> usize {
    sandbox.sandbox.requests().iter().filter(|r| r.method == "PUT" && r.status == Some(201)).count()
}

/// As if the post's server died: its lease ran out by the database's clock.
async fn expire_lease(app: &TestApp, post_id: Uuid) {
    diesel::sql_query("UPDATE posts SET lease_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(post_id)
        .execute(&mut app.conn().await)
        .await
        .unwrap();
}

async fn state_of(app: &TestApp, post_id: Uuid) -> PostState {
    Post::find(&mut *app.conn().await, post_id).await.unwrap().state()
}

async fn settle(app: &TestApp, post_id: Uuid) -> PostState {
    for _ in 0..50 {
        check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(10)).await.unwrap();
        let state = state_of(app, post_id).await;
        if state.is_settled() {
            return state;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("post {post_id} never settled");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_stopped_before_anything_was_sent_leaves_the_post_to_be_sent_once() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (outcome, due) = schedule(&mut owner, &maya, SyntheticVideo::mp4(20, 2_000_000)).await;
    // As if a server claimed it and died at once.
    diesel::update(posts::table.find(outcome.post_id))
        .set((
            posts::state.eq("uploading"),
            posts::lease_owner.eq(Some(Uuid::new_v4())),
            posts::lease_expires_at.eq(Some(OffsetDateTime::now_utc() + LEASE)),
            posts::attempts.eq(1),
        ))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    assert!(recover_expired(&app.state).await.unwrap().is_empty(), "the lease has not run out yet");
    let old_worker = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().lease_owner;
    expire_lease(&app, outcome.post_id).await;
    let after_lease = due + LEASE + time::Duration::seconds(1);
    assert_eq!(recover_expired(&app.state).await.unwrap(), [(outcome.post_id, Recovered::Requeued)]);
    // The old holder, if it was only slow, can no longer start sending.
    let fenced = app::posts::ssr::record_publish_id(&mut *app.conn().await, outcome.post_id, "v_pub_file~late", old_worker, "late").await.unwrap();
    assert!(!fenced);
    assert_eq!(publish_due(&app.state, after_lease, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, outcome.post_id).await, PostState::Published);
    assert_eq!(complete_uploads(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_mid_upload_is_reconciled_and_the_post_goes_out_once() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (outcome, due) = schedule(&mut owner, &maya, SyntheticVideo::mp4(30, 150_000_000)).await;

    let sending = {
        let state = app.state.clone();
        tokio::spawn(async move { publish_due(&state, due, Uuid::new_v4()).await })
    };
    // Kill it once TikTok has some chunks but not all.
    for _ in 0..600 {
        if sandbox.sandbox.requests().iter().filter(|r| r.method == "PUT" && r.status == Some(206)).count() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sending.abort();
    let _ = sending.await;
    assert_eq!(complete_uploads(&sandbox), 0, "killed before the last chunk");
    let stuck = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert_eq!(stuck.state(), PostState::Uploading);
    let first_publish = stuck.publish_id.clone().expect("the publish id was stored before the first byte");

    let after_lease = due + LEASE + time::Duration::seconds(1);
    expire_lease(&app, outcome.post_id).await;
    // TikTok reports part of the bytes, but that is no proof: the upload could still complete
    // (TikTok will not cancel a FILE_UPLOAD), so nothing is sent until its URL expired.
    assert_eq!(recover_expired(&app.state).await.unwrap(), [(outcome.post_id, Recovered::Waiting)]);
    assert_eq!(publish_due(&app.state, after_lease, Uuid::new_v4()).await.unwrap(), 0, "not sent again yet");
    // As if the hour had passed.
    diesel::sql_query("UPDATE posts SET upload_started_at = now() - interval '2 hours', lease_expires_at = now() - interval '1 second' WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(outcome.post_id)
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    assert_eq!(recover_expired(&app.state).await.unwrap(), [(outcome.post_id, Recovered::Requeued)]);
    assert_eq!(publish_due(&app.state, after_lease, Uuid::new_v4()).await.unwrap(), 1);
    assert_eq!(settle(&app, outcome.post_id).await, PostState::Published);
    assert_eq!(complete_uploads(&sandbox), 1, "published exactly once");
    assert_eq!(sandbox.count(INIT, ""), 2, "the incomplete upload was replaced, never completed");
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert!(detail.events.iter().any(|e| e.kind == "requeued" && e.message.contains(&first_publish)), "{:?}", detail.events);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_after_the_last_byte_is_reconciled_without_sending_again() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (outcome, due) = schedule(&mut owner, &maya, SyntheticVideo::mp4(20, 2_000_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    // As if the server died after TikTok's 201 but before writing "processing" down.
    diesel::update(posts::table.find(outcome.post_id))
        .set(posts::state.eq("uploading"))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    expire_lease(&app, outcome.post_id).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let later = due + LEASE + time::Duration::seconds(1);
    assert_eq!(recover_expired(&app.state).await.unwrap(), [(outcome.post_id, Recovered::Reconciled)]);
    assert_eq!(state_of(&app, outcome.post_id).await, PostState::Published);
    assert_eq!(publish_due(&app.state, later, Uuid::new_v4()).await.unwrap(), 0);
    assert_eq!(sandbox.count(INIT, ""), 1);
    assert_eq!(complete_uploads(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn when_tiktok_cannot_be_asked_the_post_is_unconfirmed_not_resent() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (outcome, due) = schedule(&mut owner, &maya, SyntheticVideo::mp4(20, 2_000_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    diesel::update(posts::table.find(outcome.post_id))
        .set(posts::state.eq("uploading"))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    expire_lease(&app, outcome.post_id).await;
    owner.call::<()>("accounts/disconnect", &[("account_id", &maya)]).await.unwrap();
    assert_eq!(recover_expired(&app.state).await.unwrap(), [(outcome.post_id, Recovered::Unconfirmed)]);
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert_eq!(detail.post.state, PostState::Unconfirmed);
    assert!(detail.post.fail_message.unwrap().contains("Check the creator's TikTok profile"));
    assert_eq!(sandbox.count(INIT, ""), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn three_servers_on_one_database_send_each_due_post_once() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let (ids, due) = schedule_on_three_creators(&sandbox, &mut owner, 5, SyntheticVideo::mp4(20, 1_000_000)).await;
    let settings = sandbox.app_settings();
    let servers = [app.state.clone(), app.another_state(&settings), app.another_state(&settings)];
    let runs = servers.iter().cloned().map(|state| tokio::spawn(async move { publish_due(&state, due, Uuid::new_v4()).await.unwrap() }));
    let taken: usize = futures_util::future::join_all(runs).await.into_iter().map(Result::unwrap).sum();
    assert_eq!(taken, 15, "every due post taken by exactly one server");
    for id in &ids {
        assert_eq!(settle(&app, *id).await, PostState::Published);
    }
    assert_eq!(sandbox.count(INIT, ""), 15);
    assert_eq!(complete_uploads(&sandbox), 15);
}

/// Whether nothing more will happen to any of the posts by itself.
async fn all_settled(app: &TestApp, ids: &[Uuid]) -> bool {
    for id in ids {
        if !state_of(app, *id).await.is_settled() {
            return false;
        }
    }
    true
}

/// Waits (for servers running their own jobs) until every post settles; false on timeout.
async fn wait_until_settled(app: &TestApp, ids: &[Uuid], within: Duration) -> bool {
    let settled = async {
        while !all_settled(app, ids).await {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    };
    tokio::time::timeout(within, settled).await.is_ok()
}

/// Runs the scheduler's jobs with a clock moved ahead in steps until every post settles.
async fn run_jobs_until_settled(app: &TestApp, ids: &[Uuid], mut now: OffsetDateTime) -> OffsetDateTime {
    for _ in 0..40 {
        recover_expired(&app.state).await.unwrap();
        publish_due(&app.state, now, Uuid::new_v4()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        check_due_statuses(&app.state, now + time::Duration::minutes(10)).await.unwrap();
        if all_settled(app, ids).await {
            return now;
        }
        now += time::Duration::minutes(10);
    }
    panic!("posts never settled");
}

#[tokio::test(flavor = "multi_thread")]
async fn tiktok_faults_never_duplicate_or_lose_a_post() {
    use sandbox::{Endpoint, Fault, FaultKind};
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let (ids, due) = schedule_on_three_creators(&sandbox, &mut owner, 2, SyntheticVideo::mp4(20, 12_000_000)).await;
    for (endpoint, kind) in [
        (Endpoint::VideoInit, FaultKind::Status503),
        (Endpoint::VideoInit, FaultKind::Status429),
        (Endpoint::VideoInit, FaultKind::AccessTokenInvalid),
        (Endpoint::Upload, FaultKind::Status500),
        (Endpoint::Upload, FaultKind::DropConnection),
        (Endpoint::StatusFetch, FaultKind::Status503),
        (Endpoint::CreatorInfo, FaultKind::Status500),
    ] {
        sandbox.sandbox.inject(Fault { endpoint, kind, count: 1, skip: 0 });
    }
    run_jobs_until_settled(&app, &ids, due).await;
    for id in &ids {
        assert_eq!(state_of(&app, *id).await, PostState::Published, "{id}");
    }
    assert_eq!(complete_uploads(&sandbox), ids.len(), "each post reached TikTok whole exactly once");
    assert!(sandbox.sandbox.faults().is_empty(), "every fault was hit");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_creator_who_revoked_access_gets_a_failed_post_with_what_to_do() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (outcome, due) = schedule(&mut owner, &maya, SyntheticVideo::mp4(20, 1_000_000)).await;
    sandbox.sandbox.revoke_creator(&sandbox.open_id_of("Maya Public"));
    run_jobs_until_settled(&app, &[outcome.post_id], due).await;
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert_eq!(detail.post.state, PostState::Failed);
    assert!(detail.post.fail_message.as_deref().unwrap().contains("Reconnect it on the Accounts page"), "{:?}", detail.post);
    assert_eq!(sandbox.count(INIT, ""), 0);

    // The dashboard says so until someone acts.
    use app::notifications::types::{NotificationKind, NotificationView};
    let open: Vec<NotificationView> = owner.call("notifications/list", &[]).await.unwrap();
    let kinds: Vec<NotificationKind> = open.iter().map(|n| n.kind).collect();
    assert!(kinds.contains(&NotificationKind::PostFailed), "{open:?}");
    assert!(kinds.contains(&NotificationKind::AccountNeedsReconnect), "{open:?}");
    let mut stranger = app.signed_up("Mallory").await;
    let theirs: Vec<NotificationView> = stranger.call("notifications/list", &[]).await.unwrap();
    assert!(theirs.is_empty(), "another team sees none of it");
    let account_note = open.iter().find(|n| n.kind == NotificationKind::AccountNeedsReconnect).unwrap();
    let refused = stranger.call::<()>("notifications/acknowledge", &[("id", &account_note.id.to_string())]).await.unwrap_err();
    assert!(matches!(refused, app::error::AppError::NotFound(_)), "{refused:?}");
    owner.call::<()>("notifications/acknowledge", &[("id", &account_note.id.to_string())]).await.unwrap();

    // Reconnect and send it again: the failure notice closes and the post goes out.
    connect(&sandbox, &mut owner, "Maya Public").await;
    owner.call::<()>("posts/retry", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    let open: Vec<NotificationView> = owner.call("notifications/list", &[]).await.unwrap();
    assert!(open.is_empty(), "{open:?}");
    run_jobs_until_settled(&app, &[outcome.post_id], OffsetDateTime::now_utc()).await;
    assert_eq!(state_of(&app, outcome.post_id).await, PostState::Published);
    let again = owner.call::<()>("posts/retry", &[("post_id", &outcome.post_id.to_string())]).await.unwrap_err();
    assert!(matches!(again, app::error::AppError::Conflict(_)), "only failed posts go again");
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_over_a_creators_daily_cap_wait_for_the_next_day_instead_of_failing() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya: Uuid = connected_account(&sandbox, &mut owner, "Maya Public").await.parse().unwrap();
    // Fifteen direct posts already went out today for this creator.
    let now = OffsetDateTime::now_utc();
    let mut conn = app.conn().await;
    for _ in 0..15 {
        app::tiktok::rate_limit::try_acquire(&mut conn, maya, app::tiktok::rate_limit::LimitedEndpoint::DirectPostsPerDay, now)
            .await
            .unwrap()
            .unwrap();
    }
    drop(conn);
    let (outcome, due) = schedule(&mut owner, &maya.to_string(), SyntheticVideo::mp4(20, 1_000_000)).await;
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    let post = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
    assert_eq!(post.state(), PostState::Scheduled, "deferred, not failed");
    assert_eq!(post.attempts, 0, "a deferral is not an attempt");
    let next = post.next_check_at.unwrap();
    assert!(next > now + time::Duration::hours(23), "waits until the day's window has room: {next}");
    assert_eq!(sandbox.count(INIT, ""), 0);
}

/// How many requests the sandbox has seen that match.
fn seen(sandbox: &TestSandbox, matches: impl Fn(&sandbox::RecordedRequest) -> bool) -> usize {
    sandbox.sandbox.requests().iter().filter(|r| matches(r)).count()
}

#[tokio::test(flavor = "multi_thread")]
async fn servers_killed_mid_publish_and_restarted_publish_every_post_exactly_once() {
    // Upload URLs live 60 s (long enough for six chunked uploads on a busy machine), so
    // recovery's wait for a killed server's upload to expire fits in the test.
    let sandbox = TestSandbox::start_with(sandbox::SandboxConfig {
        processing_delay: Duration::from_millis(50),
        upload_url_ttl: Duration::from_secs(60),
        ..Default::default()
    })
    .await;
    let app = TestApp::with_sandbox(&sandbox).await;
    let mut owner = app.signed_up("Olga").await;
    let (ids, _) = schedule_on_three_creators(&sandbox, &mut owner, 2, SyntheticVideo::mp4(30, 70_000_000)).await;
    // Due now.
    diesel::update(posts::table).set(posts::scheduled_at.eq(Some(OffsetDateTime::now_utc()))).execute(&mut app.conn().await).await.unwrap();

    let log = app.state.config.data_dir.join("servers.log");
    let mut server = ServerProcess::start(&app, &sandbox, &log, 4).await;
    // Kill it right after an init, in the middle of a chunked upload, and right after a last
    // chunk; restart each time.
    let kill_points: [(&str, fn(&sandbox::RecordedRequest) -> bool); 3] = [
        ("after an init", |r| r.path == INIT && r.status == Some(200)),
        ("mid-upload", |r| r.method == "PUT" && r.status == Some(206)),
        ("after the last chunk", |r| r.method == "PUT" && r.status == Some(201)),
    ];
    let mut kills = Vec::new();
    for (name, matches) in kill_points {
        let before = seen(&sandbox, matches);
        let reached = async {
            while seen(&sandbox, matches) == before {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        };
        if tokio::time::timeout(Duration::from_secs(60), reached).await.is_ok() {
            server.kill_9();
            kills.push(name);
            server = ServerProcess::start(&app, &sandbox, &log, 4).await;
        }
    }
    println!("killed the server {} at: {kills:?}", kills.len());
    assert!(kills.len() >= 2, "the server was killed at several points: {kills:?}");

    assert!(
        wait_until_settled(&app, &ids, Duration::from_secs(240)).await,
        "posts did not settle after kills at {kills:?}; see {}",
        log.display()
    );
    drop(server);
    for id in &ids {
        assert_eq!(state_of(&app, *id).await, PostState::Published, "{id}");
    }
    assert_eq!(complete_uploads(&sandbox), ids.len(), "every post reached TikTok whole exactly once (kills: {kills:?})");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_init_whose_answer_was_lost_is_not_repeated_blindly() {
    use sandbox::{Endpoint, Fault, FaultKind};
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (outcome, due) = schedule(&mut owner, &maya, SyntheticVideo::mp4(20, 1_000_000)).await;
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::VideoInit, kind: FaultKind::DropConnection, count: 1, skip: 0 });
    assert_eq!(publish_due(&app.state, due, Uuid::new_v4()).await.unwrap(), 1);
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    assert_eq!(detail.post.state, PostState::Unconfirmed);
    assert!(detail.post.fail_message.unwrap().contains("No video was sent"));
    // Nothing sends it again by itself.
    run_jobs_until_settled(&app, &[outcome.post_id], due + time::Duration::hours(3)).await;
    assert_eq!(sandbox.count(INIT, ""), 1);
    let page = owner.get(&format!("/posts/{}", outcome.post_id)).await.text();
    assert!(page.contains(app::posts::components::UNCONFIRMED_RESEND_WARNING), "the page warns before a resend: {page}");
    // A person decides to send it again.
    owner.call::<()>("posts/retry", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
    run_jobs_until_settled(&app, &[outcome.post_id], OffsetDateTime::now_utc()).await;
    assert_eq!(state_of(&app, outcome.post_id).await, PostState::Published);
    assert_eq!(complete_uploads(&sandbox), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn three_server_processes_on_different_ports_publish_each_post_once() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    // Big enough that one server cannot drain the queue before the others look.
    let (ids, _) = schedule_on_three_creators(&sandbox, &mut owner, 4, SyntheticVideo::mp4(20, 40_000_000)).await;
    let log = app.state.config.data_dir.join("servers.log");
    let servers = [
        ServerProcess::start(&app, &sandbox, &log, 2).await,
        ServerProcess::start(&app, &sandbox, &log, 2).await,
        ServerProcess::start(&app, &sandbox, &log, 2).await,
    ];
    // All due at once: each server takes what it has room for at its next tick (every second).
    diesel::update(posts::table).set(posts::scheduled_at.eq(Some(OffsetDateTime::now_utc()))).execute(&mut app.conn().await).await.unwrap();
    assert!(wait_until_settled(&app, &ids, Duration::from_secs(120)).await, "all posts settled");
    drop(servers);
    for id in &ids {
        assert_eq!(state_of(&app, *id).await, PostState::Published, "{id}");
    }
    assert_eq!(sandbox.count(INIT, ""), ids.len(), "one init per post");
    assert_eq!(complete_uploads(&sandbox), ids.len());
    // The work was shared: the attempts name more than one server.
    let mut workers = std::collections::BTreeSet::new();
    for id in &ids {
        let detail: PostDetail = owner.call("posts/detail", &[("post_id", &id.to_string())]).await.unwrap();
        for event in detail.events.iter().filter(|e| e.kind == "attempt") {
            workers.insert(event.message.rsplit(' ').next().unwrap().to_owned());
        }
    }
    assert!(workers.len() >= 2, "{workers:?}");
}
