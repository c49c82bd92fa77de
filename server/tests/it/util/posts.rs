//! Reading a post back and waiting for it to settle, as the publishing tests do.

use super::TestApp;
use app::{
    posts::{ssr::Post, types::PostState},
    publishing::status::check_due_statuses,
};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// The post as stored now.
pub async fn post(app: &TestApp, id: Uuid) -> Post {
    Post::find(&mut *app.conn().await, id).await.unwrap()
}

/// Checks statuses (ten minutes ahead, so no wait between checks is honoured) until the post
/// settles, within `within`, looking again every `every`.
pub async fn settle(app: &TestApp, id: Uuid, within: Duration, every: Duration) -> PostState {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        check_due_statuses(&app.state, OffsetDateTime::now_utc() + time::Duration::minutes(10)).await.unwrap();
        let state = post(app, id).await.state();
        if state.is_settled() {
            return state;
        }
        tokio::time::sleep(every).await;
    }
    panic!("post {id} never settled");
}
