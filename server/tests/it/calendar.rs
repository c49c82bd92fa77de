//! The calendar in the member's time zone: days laid out on the wall clock, DST handled,
//! moving, copying and bulk-cancelling scheduled posts, and the daily-cap warning.

use crate::util::{
    TestClient,
    sandbox::TestSandbox,
    TestApp,
    upload::Upload,
};
use app::{
    calendar::types::CalendarView,
    error::AppError,
    posts::{
        ssr::Post,
        types::{PostDetail, PostState, UploadOutcome},
    },
};
use sandbox::synthetic::SyntheticVideo;
use time::{OffsetDateTime, macros::datetime};

async fn setup() -> (TestSandbox, TestApp, TestClient, String) {
    // Signed up from a browser in Berlin.
    crate::util::sandbox::owner_with_account().await
}

async fn schedule_at(client: &mut TestClient, account: &str, at: OffsetDateTime) -> UploadOutcome {
    Upload::scheduled(account, "SELF_ONLY", SyntheticVideo::mp4(20, 500_000), at).send(client).await.expect("scheduled")
}

async fn calendar(client: &mut TestClient, span: &str, date: &str) -> CalendarView {
    client.call("calendar/view", &[("span", span), ("date", date)]).await.unwrap()
}

/// Inserts a copy of `post_id` straight into the table, `later_by_hours` after it, with
/// `caption` or the original's.
async fn copy_post(app: &TestApp, post_id: uuid::Uuid, caption: Option<&str>, later_by_hours: i32) {
    use diesel_async::RunQueryDsl;
    diesel::sql_query(
        "INSERT INTO posts (team_id, account_id, created_by, destination, state, caption, privacy_level, video_bytes, content_type, media_id, scheduled_at) \
         SELECT team_id, account_id, created_by, destination, state, COALESCE($2, caption), privacy_level, video_bytes, content_type, media_id, scheduled_at + $3 * interval '1 hour' FROM posts WHERE id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(post_id)
    .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(caption)
    .bind::<diesel::sql_types::Integer, _>(later_by_hours)
    .execute(&mut *app.conn().await)
    .await
    .unwrap();
}

fn entries_on<'a>(view: &'a CalendarView, date: &str) -> Vec<&'a app::calendar::types::CalendarEntry> {
    view.weeks.iter().flatten().filter(|d| d.date == date).flat_map(|d| d.entries.iter()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn posts_sit_on_the_members_wall_clock_and_keep_their_hour_across_dst() {
    let (_sandbox, app, mut owner, account) = setup().await;
    // Next year's spring change in Berlin (29 March 2027): 09:00 before and after it.
    let before = schedule_at(&mut owner, &account, datetime!(2027-03-26 08:00 UTC)).await;
    let post: PostDetail = owner.call("posts/detail", &[("post_id", &before.post_id.to_string())]).await.unwrap();
    assert_eq!(post.post.when_label, "Fri 26 Mar 2027, 09:00 CET");
    owner
        .call::<String>("calendar/reschedule", &[("post_id", &before.post_id.to_string()), ("when", "2027-03-30T09:00")])
        .await
        .unwrap();
    let moved = Post::find(&mut *app.conn().await, before.post_id).await.unwrap();
    assert_eq!(moved.scheduled_at, Some(datetime!(2027-03-30 07:00 UTC)), "09:00 summer time is 07:00 UTC");

    let month = calendar(&mut owner, "month", "2027-03-01").await;
    assert_eq!(month.title, "March 2027");
    assert_eq!(month.time_zone, "Europe/Berlin");
    let on_30th = entries_on(&month, "2027-03-30");
    assert_eq!(on_30th.len(), 1);
    assert_eq!(on_30th[0].time, "09:00");
    assert!(entries_on(&month, "2027-03-26").is_empty());

    // Seen from Tokyo, the same post is at 16:00.
    owner.call::<app::auth::types::UserView>("auth/profile", &[("display_name", "Olga"), ("time_zone", "Asia/Tokyo")]).await.unwrap();
    let week = calendar(&mut owner, "week", "2027-03-30").await;
    assert_eq!(entries_on(&week, "2027-03-30")[0].time, "16:00");
    let refused = owner
        .call::<app::auth::types::UserView>("auth/profile", &[("display_name", "Olga"), ("time_zone", "Mars/Olympus_Mons")])
        .await
        .unwrap_err();
    assert!(refused.field_message("time_zone").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn moving_copying_and_cancelling_scheduled_posts() {
    let (_sandbox, _app, mut owner, account) = setup().await;
    let tomorrow = OffsetDateTime::now_utc() + time::Duration::days(1);
    let first = schedule_at(&mut owner, &account, tomorrow).await;
    let second = schedule_at(&mut owner, &account, tomorrow + time::Duration::hours(1)).await;

    let past = owner.call::<String>("calendar/reschedule", &[("post_id", &first.post_id.to_string()), ("when", "2020-01-01T09:00")]).await;
    assert_eq!(past.unwrap_err().field_message("scheduled_at").as_deref(), Some("That time has passed. Choose a time at least a minute from now."));
    // Its video would wait in storage until then.
    let later = (OffsetDateTime::now_utc() + time::Duration::days(400)).date();
    let far = owner.call::<String>("calendar/reschedule", &[("post_id", &first.post_id.to_string()), ("when", &format!("{later}T09:00"))]).await;
    assert_eq!(far.unwrap_err().field_message("scheduled_at").as_deref(), Some("That is too far ahead. Choose a time within a year from now."));

    let copy: uuid::Uuid = owner.call("calendar/duplicate", &[("post_id", &first.post_id.to_string())]).await.unwrap();
    let copied: PostDetail = owner.call("posts/detail", &[("post_id", &copy.to_string())]).await.unwrap();
    assert_eq!(copied.post.state, PostState::Scheduled);
    assert!(copied.post.scheduled_at.unwrap() > tomorrow + time::Duration::hours(23));

    let ids = format!("{},{},{}", first.post_id, second.post_id, copy);
    let cancelled: usize = owner.call("calendar/cancel-many", &[("post_ids", &ids)]).await.unwrap();
    assert_eq!(cancelled, 3);
    let again: usize = owner.call("calendar/cancel-many", &[("post_ids", &ids)]).await.unwrap();
    assert_eq!(again, 0, "cancelled posts are not cancelled twice");
    let listed = owner.call::<app::posts::types::PostListPage>("posts/list", &[("state", "cancelled")]).await.unwrap().posts;
    assert_eq!(listed.len(), 3);
    let soon = (OffsetDateTime::now_utc() + time::Duration::days(30)).date();
    let moved = owner.call::<String>("calendar/reschedule", &[("post_id", &first.post_id.to_string()), ("when", &format!("{soon}T09:00"))]).await;
    assert!(matches!(moved, Err(AppError::Conflict(_))), "a cancelled post is not moved");
}

#[tokio::test(flavor = "multi_thread")]
async fn another_team_cannot_see_or_move_the_posts() {
    let (_sandbox, app, mut owner, account) = setup().await;
    let post = schedule_at(&mut owner, &account, OffsetDateTime::now_utc() + time::Duration::days(1)).await;
    let mut stranger = app.signed_up("Mallory").await;
    let theirs = calendar(&mut stranger, "month", "").await;
    assert!(theirs.weeks.iter().flatten().all(|d| d.entries.is_empty()));
    for (endpoint, extra) in [("calendar/reschedule", Some(("when", "2030-01-01T09:00"))), ("calendar/duplicate", None)] {
        let mut form = vec![("post_id", post.post_id.to_string())];
        form.extend(extra.map(|(k, v)| (k, v.to_owned())));
        let refs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let error = stranger.call::<serde_json::Value>(endpoint, &refs).await.unwrap_err();
        assert!(matches!(error, AppError::NotFound(_)), "{endpoint}: {error:?}");
    }
    let far: Result<CalendarView, AppError> = stranger.call("calendar/view", &[("span", "month"), ("date", "9999-12-01")]).await;
    assert!(far.unwrap_err().field_message("date").is_some(), "a date at the end of time is refused, not looped over");
    let cancelled: usize = stranger.call("calendar/cancel-many", &[("post_ids", &post.post_id.to_string())]).await.unwrap_or(0);
    assert_eq!(cancelled, 0);
    let detail: PostDetail = owner.call("posts/detail", &[("post_id", &post.post_id.to_string())]).await.unwrap();
    assert_eq!(detail.post.state, PostState::Scheduled);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_day_over_the_creators_cap_is_flagged() {
    let (_sandbox, app, mut owner, account) = setup().await;
    let day = OffsetDateTime::now_utc() + time::Duration::days(3);
    let first = schedule_at(&mut owner, &account, day).await;
    // Sixteen copies on the same day (the composer's creator look-ups are limited, copies are not).
    for _ in 0..15 {
        copy_post(&app, first.post_id, None, 0).await;
    }
    let tz = app::calendar::zone::zone("Europe/Berlin");
    let local_date = app::calendar::zone::local(day, &tz).date().to_string();
    let week = calendar(&mut owner, "week", &local_date).await;
    let cell = week.weeks.iter().flatten().find(|d| d.date == local_date).unwrap();
    assert_eq!(cell.entries.len(), 16);
    assert_eq!(cell.warnings.len(), 1);
    assert!(cell.warnings[0].starts_with("Maya Public has 16 posts this day"), "{:?}", cell.warnings);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_busy_day_in_the_month_shows_its_first_posts_and_links_to_its_week_for_the_rest() {
    let (_sandbox, app, mut owner, account) = setup().await;
    let day = OffsetDateTime::now_utc().replace_time(time::macros::time!(06:00)) + time::Duration::days(3);
    let first = schedule_at(&mut owner, &account, day).await;
    // Five more that day, an hour apart, inserted in the reverse order of their times.
    for hours in (1..=5).rev() {
        copy_post(&app, first.post_id, Some(&format!("Later {hours}")), hours).await;
    }
    let tz = app::calendar::zone::zone("Europe/Berlin");
    let local_date = app::calendar::zone::local(day, &tz).date().to_string();

    let month = calendar(&mut owner, "month", &local_date).await;
    let cell = month.weeks.iter().flatten().find(|d| d.date == local_date).unwrap();
    assert_eq!(cell.entries.len(), app::calendar::types::MONTH_CELL_ENTRIES);
    assert_eq!(cell.more, 3);
    assert_eq!(cell.entries[0].post_id, first.post_id, "the earliest first");
    assert_eq!(cell.entries.iter().map(|e| e.caption.as_str()).skip(1).collect::<Vec<_>>(), ["Later 1", "Later 2"]);

    let week = calendar(&mut owner, "week", &local_date).await;
    let cell = week.weeks.iter().flatten().find(|d| d.date == local_date).unwrap();
    assert_eq!(cell.entries.len(), 6, "a week shows every post");
    assert_eq!(cell.more, 0);

    // The page says how many are left out and links to the day's week.
    let page = owner.get(&format!("/calendar?date={local_date}")).await;
    let html = page.text();
    assert!(html.contains("+3 more"), "{html}");
    assert!(html.contains(&format!(r#"<a href="/calendar?span=week&amp;date={local_date}" class="more-entries">+3 more</a>"#)), "{html}");
}
