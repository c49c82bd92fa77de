//! The posts list pages through a team's history: 50 a page, newest first, its filters kept,
//! no post repeated or skipped however many share a time, and a broken link explained.

use crate::util::{sandbox::owner_with_account, upload::Upload};
use app::posts::types::PostListPage;
use diesel_async::RunQueryDsl as _;
use sandbox::synthetic::SyntheticVideo;

#[tokio::test(flavor = "multi_thread")]
async fn the_list_pages_through_every_post_once_newest_first() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let first = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000), time::OffsetDateTime::now_utc() + time::Duration::days(2))
        .send(&mut owner)
        .await
        .expect("scheduled");
    // 119 copies, two at each minute: the list must order posts that share a time too.
    diesel::sql_query(
        "INSERT INTO posts (team_id, account_id, created_by, destination, state, caption, privacy_level, video_bytes, content_type, media_id, scheduled_at) \
         SELECT team_id, account_id, created_by, destination, CASE WHEN n % 10 = 0 THEN 'cancelled' ELSE state END, caption || ' #' || n, \
                privacy_level, video_bytes, content_type, media_id, scheduled_at + (n / 2) * interval '1 minute' \
         FROM posts, generate_series(1, 119) AS n WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(first.post_id)
    .execute(&mut *app.conn().await)
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    let mut before = String::new();
    loop {
        let page: PostListPage = owner.call("posts/list", &[("before", &before)]).await.unwrap();
        sizes.push(page.posts.len());
        seen.extend(page.posts);
        match page.older {
            Some(cursor) => before = cursor,
            None => break,
        }
    }
    assert_eq!(sizes, [50, 50, 20]);
    let ids: std::collections::BTreeSet<_> = seen.iter().map(|post| post.id).collect();
    assert_eq!(ids.len(), 120, "every post once");
    let ordered: Vec<uuid::Uuid> = {
        use app::db::schema::posts;
        use diesel::{ExpressionMethods as _, QueryDsl as _};
        posts::table.order((posts::listed_at.desc(), posts::id.desc())).select(posts::id).load(&mut *app.conn().await).await.unwrap()
    };
    assert_eq!(seen.iter().map(|post| post.id).collect::<Vec<_>>(), ordered, "newest first, ties by id");

    // A filter holds on every page.
    let cancelled: PostListPage = owner.call("posts/list", &[("state", "cancelled")]).await.unwrap();
    assert_eq!(cancelled.posts.len(), 11);
    assert!(cancelled.older.is_none());
    let scheduled: PostListPage = owner.call("posts/list", &[("state", "scheduled")]).await.unwrap();
    let rest: PostListPage = owner.call("posts/list", &[("state", "scheduled"), ("before", scheduled.older.as_deref().unwrap())]).await.unwrap();
    let last: PostListPage = owner.call("posts/list", &[("state", "scheduled"), ("before", rest.older.as_deref().unwrap())]).await.unwrap();
    assert_eq!([scheduled.posts.len(), rest.posts.len(), last.posts.len()], [50, 50, 9]);
    assert!(last.older.is_none());
    assert!(rest.posts.iter().chain(&last.posts).all(|post| post.state == app::posts::types::PostState::Scheduled));

    // The page's links: older posts with the filter kept, and back to the newest.
    let html = owner.get("/posts?state=scheduled").await.text();
    let older = format!("/posts?state=scheduled&amp;before={}", scheduled.older.as_deref().unwrap());
    assert!(html.contains(&older), "a link to the older posts keeps the filter:\n{html}");
    let second = owner.get(&format!("/posts?state=scheduled&before={}", scheduled.older.as_deref().unwrap())).await.text();
    assert!(second.contains("Newest posts"), "{second}");

    let broken = owner.call::<PostListPage>("posts/list", &[("before", "yesterday")]).await.unwrap_err();
    assert_eq!(
        broken.field_message("before").as_deref(),
        Some("This link to older posts is broken. Start again from the newest posts.")
    );
}
