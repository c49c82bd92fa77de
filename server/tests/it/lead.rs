//! Posts taken ahead of their time (`CADENCE_PUBLISH_LEAD_MS`): the creator look-up and the
//! limits happen within the lead, and the init reaches TikTok at the post's moment, never
//! before it; a post that falls due while a run is still busy is taken by that run on time.

use crate::util::{
    TestApp, TestClient,
    posts::{post, settle},
    sandbox::{TestSandbox, connected_account},
    upload::Upload,
};
use app::{posts::types::PostState, publishing::due::publish_due};
use diesel_async::RunQueryDsl;
use sandbox::{RecordedRequest, synthetic::SyntheticVideo};
use std::time::Duration;
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use uuid::Uuid;

const INIT: &str = "/v2/post/publish/video/init/";
const CREATOR_INFO: &str = "/v2/post/publish/creator_info/query/";

/// A sandbox and an app on it that takes posts `lead_ms` ahead of their time.
async fn setup(lead_ms: &str) -> (TestSandbox, TestApp, TestClient) {
    let sandbox = TestSandbox::start().await;
    let mut all: Vec<(&str, String)> = vec![("CADENCE_PUBLISH_LEAD_MS", lead_ms.to_owned())];
    all.extend(sandbox.app_settings());
    let refs: Vec<(&str, &str)> = all.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

/// Schedules a small video on `account`, then moves it to `seconds` from now (the composer asks
/// for a time further ahead than a test wants to wait).
async fn due_in(app: &TestApp, owner: &mut TestClient, account: &str, seconds: f64) -> (Uuid, OffsetDateTime) {
    let later = OffsetDateTime::now_utc() + time::Duration::minutes(5);
    let outcome = Upload::scheduled(account, "SELF_ONLY", SyntheticVideo::mp4(3, 200_000), later).send(owner).await.expect("scheduled");
    diesel::sql_query("UPDATE posts SET scheduled_at = now() + make_interval(secs => $2) WHERE id = $1")
        .bind::<diesel::sql_types::Uuid, _>(outcome.post_id)
        .bind::<diesel::sql_types::Double, _>(seconds)
        .execute(&mut app.conn().await)
        .await
        .unwrap();
    let due = post(app, outcome.post_id).await.scheduled_at.unwrap();
    (outcome.post_id, due)
}

fn at(request: &RecordedRequest) -> OffsetDateTime {
    OffsetDateTime::parse(&request.at, &Rfc3339).unwrap()
}

/// The sandbox's answered requests to `path`, in the order they arrived.
fn answered(sandbox: &TestSandbox, path: &str) -> Vec<RecordedRequest> {
    sandbox.sandbox.requests().into_iter().filter(|r| r.path == path && r.status == Some(200)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_are_prepared_within_the_lead_and_reach_tiktok_at_their_moment_never_before() {
    let (sandbox, app, mut owner) = setup("3000").await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let leo = connected_account(&sandbox, &mut owner, "Leo Private").await;
    // The first is within the lead when the run starts; the second only comes within it while
    // the run is busy with the first.
    let (first, first_due) = due_in(&app, &mut owner, &maya, 2.0).await;
    let (second, second_due) = due_in(&app, &mut owner, &leo, 4.5).await;
    let looked_up_before = answered(&sandbox, CREATOR_INFO).len();

    let run = tokio::time::timeout(Duration::from_secs(60), publish_due(&app.state, OffsetDateTime::now_utc(), Uuid::new_v4()));
    assert_eq!(run.await.expect("the run ends").unwrap(), 2, "one run takes both posts");

    let inits = answered(&sandbox, INIT);
    assert_eq!(inits.len(), 2, "each post was initiated once");
    let (first_init, second_init) = (at(&inits[0]), at(&inits[1]));
    assert!(first_init >= first_due, "the first init came {} early", first_due - first_init);
    assert!(second_init >= second_due, "the second init came {} early", second_due - second_init);
    // On time: prepared ahead, only the request is left for the moment (generous for a busy machine).
    assert!(first_init - first_due < time::Duration::seconds(2), "the first init came {} late", first_init - first_due);
    assert!(second_init - second_due < time::Duration::seconds(2), "the second init came {} late", second_init - second_due);
    // The creator's rules were asked fresh for each post, before its moment.
    let look_ups: Vec<OffsetDateTime> = answered(&sandbox, CREATOR_INFO)[looked_up_before..].iter().map(at).collect();
    assert_eq!(look_ups.len(), 2, "one look-up per post");
    assert!(look_ups[0] < first_due && look_ups[1] < second_due, "looked up ahead: {look_ups:?}");
    assert!(look_ups[1] > second_due - time::Duration::seconds(4), "not taken before its lead: {look_ups:?}");

    for id in [first, second] {
        assert_eq!(settle(&app, id, Duration::from_secs(30), Duration::from_millis(100)).await, PostState::Published);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_due_after_the_lead_is_left_scheduled() {
    let (sandbox, app, mut owner) = setup("2000").await;
    let maya = connected_account(&sandbox, &mut owner, "Maya Public").await;
    let (id, _) = due_in(&app, &mut owner, &maya, 30.0).await;

    assert_eq!(publish_due(&app.state, OffsetDateTime::now_utc(), Uuid::new_v4()).await.unwrap(), 0);
    assert_eq!(post(&app, id).await.state(), PostState::Scheduled);
    assert!(answered(&sandbox, INIT).is_empty(), "TikTok heard nothing of it");
}
