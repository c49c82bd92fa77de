//! TikTok's cap of 5 pending inbox shares: drafts the creator has not posted yet and that did
//! not fail, counted from the posts, so posting or failing one frees its place; the count holds
//! across servers.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connected_account, fast_app_with_sandbox},
    upload::Upload,
};
use app::{
    db::schema::posts,
    posts::{
        ssr::{Post, mark_failed},
        types::{PostDetail, PostState, UploadOutcome},
    },
    publishing::{inbox_cap, status::check_due_statuses},
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

fn draft(account: &str, seconds: u32) -> Upload {
    let mut upload = Upload::post_now(account, "", SyntheticVideo::mp4(seconds, 400_000));
    upload.mode = "send_to_inbox";
    upload.choices.privacy_level = None;
    upload
}

/// Runs the status job until the post is in `state`, for at most 20 s.
async fn wait_for_state(app: &TestApp, client: &mut TestClient, outcome: &UploadOutcome, state: PostState) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        check_due_statuses(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let seen: PostDetail = client.call("posts/detail", &[("post_id", &outcome.post_id.to_string())]).await.unwrap();
        if seen.post.state == state {
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "not {state:?} in time: {seen:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn publish_id(app: &TestApp, outcome: &UploadOutcome) -> String {
    Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap().publish_id.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sixth_draft_waits_until_the_creator_posts_one() {
    let (sandbox, app, mut owner): (TestSandbox, TestApp, TestClient) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let mut pending = Vec::new();
    for seconds in 10..15 {
        let outcome = draft(&account, seconds).send(&mut owner).await.unwrap();
        wait_for_state(&app, &mut owner, &outcome, PostState::InInbox).await;
        pending.push(outcome);
    }

    let refused = draft(&account, 15).send(&mut owner).await.unwrap_err().to_string();
    assert!(refused.contains("5 drafts waiting in a creator's inbox") && refused.contains("posts one of them or one fails"), "{refused}");
    assert_eq!(sandbox.count("/v2/post/publish/inbox/video/init/", ""), 5, "the sixth never reached TikTok");

    // The creator posts the first draft in the app; Cadence learns it from the status.
    assert!(sandbox.sandbox.post_draft(&publish_id(&app, &pending[0]).await));
    // Its next question is made due now: the follow backoff's pace is not what is tested here.
    diesel::update(posts::table.find(pending[0].post_id))
        .set(posts::next_check_at.eq(Some(OffsetDateTime::now_utc())))
        .execute(&mut *app.conn().await)
        .await
        .unwrap();
    wait_for_state(&app, &mut owner, &pending[0], PostState::Published).await;
    let sent = draft(&account, 15).send(&mut owner).await.expect("a place is free again");
    wait_for_state(&app, &mut owner, &sent, PostState::InInbox).await;
    let publishes = sandbox.sandbox.publishes();
    assert!(publishes.iter().all(|p| p.fail_reason.is_none()), "TikTok agreed: {publishes:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn failed_drafts_free_their_place_and_two_servers_never_take_the_last_one_twice() {
    let (sandbox, app, mut owner) = fast_app_with_sandbox().await;
    let account = connected_account(&sandbox, &mut owner, "Leo Private").await;
    let account_id: Uuid = account.parse().unwrap();
    let mut pending = Vec::new();
    for seconds in 10..14 {
        let outcome = draft(&account, seconds).send(&mut owner).await.unwrap();
        wait_for_state(&app, &mut owner, &outcome, PostState::InInbox).await;
        pending.push(outcome);
    }
    // Four pending: two servers race for the fifth place; exactly one gets it.
    let now = OffsetDateTime::now_utc();
    let (mut one, mut two) = (app.conn().await, app.conn().await);
    let (a, b) = tokio::join!(inbox_cap::try_reserve(&mut one, account_id, now), inbox_cap::try_reserve(&mut two, account_id, now));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(a.is_ok() != b.is_ok(), "one place, one winner: {a:?} {b:?}");
    let wait = a.err().or(b.err()).unwrap();
    assert!(wait <= inbox_cap::RECHECK, "asks again within {:?}: {wait:?}", inbox_cap::RECHECK);
    assert!(inbox_cap::try_reserve(&mut one, account_id, now).await.unwrap().is_err(), "full");

    // One of the pending drafts fails (as a FAILED status marks it): its place is free.
    assert!(mark_failed(&mut one, pending[1].post_id, "internal", "TikTok could not process it.").await.unwrap());
    assert!(inbox_cap::try_reserve(&mut one, account_id, now).await.unwrap().is_ok());
    assert!(inbox_cap::try_reserve(&mut one, account_id, now).await.unwrap().is_err());
    // A place taken for a send whose publish id was stored goes back: the post counts itself.
    assert_eq!(inbox_cap::release(&mut one, account_id).await.unwrap(), 1);
    assert!(inbox_cap::try_reserve(&mut one, account_id, now).await.unwrap().is_ok());
}
