//! Cadence's record of a set of posts and TikTok's (the sandbox's publishes and request log),
//! and the checks that they agree: each post published once, no whole video unaccounted for.

use super::{TestApp, sandbox::TestSandbox};
use app::{
    db::schema::posts,
    posts::{ssr::Post, types::PostState},
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// Longer than any retry or status wait (2 h plus jitter); a later wait is the daily cap's.
pub const RETRY_HORIZON: time::Duration = time::Duration::hours(3);

pub async fn load_posts(app: &TestApp, ids: &[Uuid]) -> Vec<Post> {
    posts::table.filter(posts::id.eq_any(ids)).select(Post::as_select()).load(&mut app.conn().await).await.unwrap()
}

/// Posts that something will still happen to soon by itself.
pub async fn unsettled(app: &TestApp, ids: &[Uuid]) -> usize {
    load_posts(app, ids).await.iter().filter(|post| !post.state().is_settled() && !waits_for_tomorrow(post)).count()
}

/// A scheduled post deferred past any retry wait: the creator's daily cap is reached.
pub fn waits_for_tomorrow(post: &Post) -> bool {
    post.state() == PostState::Scheduled && post.next_check_at.is_some_and(|at| at > OffsetDateTime::now_utc() + RETRY_HORIZON)
}

/// Moves every wait between retries and status checks (up to about two hours) to now: they
/// are tested on their own, and here a test wants many rounds. A wait for the creator's daily
/// room (a day) is left alone: it is an outcome.
pub async fn skip_retry_waits(app: &TestApp) {
    let now = OffsetDateTime::now_utc();
    diesel::update(posts::table.filter(posts::next_check_at.gt(now)).filter(posts::next_check_at.lt(now + RETRY_HORIZON)))
        .set(posts::next_check_at.eq(Some(now)))
        .execute(&mut app.conn().await)
        .await
        .unwrap();
}

/// Schedules the posts `ids` evenly over `spread` from now (the first one due now).
pub async fn spread_due_times(app: &TestApp, ids: &[Uuid], spread: std::time::Duration) {
    let now = OffsetDateTime::now_utc();
    for (index, id) in ids.iter().enumerate() {
        let due = now + time::Duration::milliseconds((index as u128 * spread.as_millis() / ids.len() as u128) as i64);
        diesel::update(posts::table.find(id)).set(posts::scheduled_at.eq(Some(due))).execute(&mut app.conn().await).await.unwrap();
    }
}

/// TikTok's record against Cadence's `finals`: no two posts share a publish, every video that
/// reached TikTok whole belongs to a post (a second complete upload for a post would be a
/// publish Cadence lost track of), each published post's publish is finished there, and the
/// request log shows one finished upload per complete publish that was uploaded (not pulled),
/// none repeated. Returns the
/// number of complete publishes.
pub fn assert_tiktok_agrees(sandbox: &TestSandbox, finals: &[Post]) -> usize {
    let mut final_publish: BTreeMap<&str, Uuid> = BTreeMap::new();
    for post in finals {
        if let Some(publish_id) = post.publish_id.as_deref() {
            assert!(final_publish.insert(publish_id, post.id).is_none(), "two posts share a publish id");
        }
    }
    let publishes = sandbox.sandbox.publishes();
    let completed: Vec<&sandbox::PublishRecord> = publishes.iter().filter(|p| p.upload_complete).collect();
    for publish in &completed {
        assert!(final_publish.contains_key(publish.publish_id.as_str()), "TikTok got a whole video no post accounts for: {publish:?}");
    }
    for post in finals.iter().filter(|post| post.state() == PostState::Published) {
        let publish_id = post.publish_id.as_deref().expect("a published post has its publish id");
        let record = publishes.iter().find(|p| p.publish_id == publish_id).expect("TikTok knows every published post");
        assert_eq!(record.status, "PUBLISH_COMPLETE", "{record:?}");
    }
    // A pulled video has no upload of its own: TikTok downloaded it.
    let uploaded = completed.iter().filter(|p| !p.pulled).count();
    let finished_uploads = sandbox.sandbox.requests().iter().filter(|r| r.method == "PUT" && r.status == Some(201)).count();
    assert_eq!(finished_uploads, uploaded, "the request log shows one finished upload per complete uploaded publish, none repeated");
    completed.len()
}

/// A token request TikTok granted (OAuth errors also come with HTTP 200, but carry a code).
pub fn renewed(request: &sandbox::RecordedRequest) -> bool {
    request.path == "/v2/oauth/token/"
        && request.status == Some(200)
        && request.error_code.is_none()
        && request.fault.is_none()
        && request.body.as_deref().unwrap_or_default().contains("grant_type=refresh_token")
}

/// The post's timeline, oldest first: (kind, message).
pub async fn timeline(app: &TestApp, post_id: Uuid) -> Vec<(String, String)> {
    use app::db::schema::post_events;
    post_events::table
        .filter(post_events::post_id.eq(post_id))
        .order(post_events::at.asc())
        .select((post_events::kind, post_events::message))
        .load(&mut app.conn().await)
        .await
        .unwrap()
}
