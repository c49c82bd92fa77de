//! Analytics end to end against the sandbox: collection of videos and totals, matching videos
//! to posts by TikTok's post id (and finding ids status polling never got), videos posted in
//! the TikTok app, faults and rate limits losing nothing, the shared budget holding across
//! servers, downsampling, and the pages that show it all.

use crate::util::{
    TestApp, TestClient,
    sandbox::{TestSandbox, connect, consent_with},
    upload::Upload,
};
use app::{
    analytics::{
        budget::{self, DisplayCall},
        collect::{collect_account, collect_due},
        retention,
        types::{AccountAnalytics, PostAnalytics, SlotSuggestion, TeamAnalytics},
    },
    db::schema::{account_snapshots, posts, tiktok_accounts, tiktok_videos, video_snapshots},
    posts::{ssr::Post, types::PostState},
    publishing::status::check_due_statuses,
};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::{Endpoint, Fault, FaultKind, SandboxConfig, synthetic::SyntheticVideo};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

const EVERY_SCOPE: &[&str] =
    &["user.info.basic", "user.info.profile", "user.info.stats", "video.list", "video.publish", "video.upload"];

/// A sandbox approved for analytics that never puts post ids in status replies (so only the
/// Display API can give them), and an app with `CADENCE_ANALYTICS=on`.
async fn analytics_app() -> (TestSandbox, TestApp, TestClient) {
    let sandbox = TestSandbox::start_with(SandboxConfig {
        processing_delay: Duration::from_millis(50),
        moderation_delay: Duration::from_millis(500),
        withhold_post_ids: true,
        approved_scopes: EVERY_SCOPE.iter().map(|s| (*s).to_owned()).collect(),
        ..Default::default()
    })
    .await;
    let mut settings = sandbox.app_settings();
    settings.push(("CADENCE_ANALYTICS", "on".into()));
    let refs: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let app = TestApp::with_settings(&refs).await;
    let owner = app.signed_up("Olga").await;
    (sandbox, app, owner)
}

/// Connects `creator` granting `scopes`; returns the account id.
async fn connect_with(sandbox: &TestSandbox, client: &mut TestClient, creator: &str, scopes: &[&str]) -> Uuid {
    let callback = consent_with(sandbox, client, creator, scopes).await;
    client.get(&callback).await;
    let accounts: Vec<app::accounts::types::AccountView> = client.call("accounts/list", &[]).await.unwrap();
    accounts.into_iter().find(|a| a.display_name == creator).unwrap().id
}

/// Posts a public video now and waits until Cadence sees it published.
async fn published_post(app: &TestApp, client: &mut TestClient, account: Uuid, seconds: u32) -> Uuid {
    let outcome = Upload::post_now(&account.to_string(), "PUBLIC_TO_EVERYONE", SyntheticVideo::mp4(seconds, 1_000_000))
        .send(client)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        check_due_statuses(&app.state, OffsetDateTime::now_utc()).await.unwrap();
        let post = Post::find(&mut *app.conn().await, outcome.post_id).await.unwrap();
        if post.state() == PostState::Published {
            return outcome.post_id;
        }
        assert!(tokio::time::Instant::now() < deadline, "not published: {post:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn snapshots_of(app: &TestApp, account: Uuid) -> Vec<(String, OffsetDateTime, i64)> {
    video_snapshots::table
        .filter(video_snapshots::account_id.eq(account))
        .order((video_snapshots::video_id, video_snapshots::taken_at))
        .select((video_snapshots::video_id, video_snapshots::taken_at, video_snapshots::view_count))
        .load(&mut *app.conn().await)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn collection_matches_posts_finds_missing_ids_and_lists_videos_posted_in_the_app() {
    let (sandbox, app, mut owner) = analytics_app().await;
    let account = connect_with(&sandbox, &mut owner, "Maya Public", EVERY_SCOPE).await;
    let open_id = sandbox.open_id_of("Maya Public");
    let old = sandbox.sandbox.post_in_app(&open_id, "Dance from the app", Duration::from_secs(10 * 86_400)).unwrap();
    let post = published_post(&app, &mut owner, account, 12).await;
    // Moderation passes 500 ms after publishing; only then does the Display API list it.
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Status polling may have looked the id up itself if it ran after moderation; the case
    // here is the one where nothing ever brought it, so whatever polling found is forgotten.
    diesel::update(posts::table.find(post)).set(posts::tiktok_post_id.eq(None::<String>)).execute(&mut *app.conn().await).await.unwrap();

    // Whole milliseconds: PostgreSQL keeps microseconds, so the stored times compare equal.
    let first = OffsetDateTime::now_utc().replace_millisecond(0).unwrap();
    let collected = collect_account(&app.state, account, first, budget::PER_MINUTE).await.unwrap();
    assert_eq!(collected.stopped, None, "{collected:?}");
    assert_eq!((collected.pages, collected.videos, collected.snapshots), (1, 2, 2));
    assert!(collected.account_snapshot);
    assert_eq!(collected.ids_found, 1, "the post's id came from the listing");

    let truth = sandbox.sandbox.publishes().into_iter().find(|p| p.upload_complete).unwrap().post_id.unwrap();
    let row = Post::find(&mut *app.conn().await, post).await.unwrap();
    assert_eq!(row.tiktok_post_id.as_deref(), Some(truth.as_str()), "the sandbox's own id for this publish");
    let videos: Vec<(String, Option<Uuid>, String, i64)> = tiktok_videos::table
        .filter(tiktok_videos::account_id.eq(account))
        .order(tiktok_videos::published_at)
        .select((tiktok_videos::video_id, tiktok_videos::post_id, tiktok_videos::title, tiktok_videos::view_count))
        .load(&mut *app.conn().await)
        .await
        .unwrap();
    assert_eq!(videos.len(), 2);
    assert_eq!((videos[0].0.as_str(), videos[0].1, videos[0].2.as_str()), (old.as_str(), None, "Dance from the app"), "posted outside Cadence");
    assert_eq!((videos[1].0.as_str(), videos[1].1), (truth.as_str(), Some(post)), "matched by TikTok's post id");
    assert!(videos[0].3 > 100, "a ten-day-old video has an audience: {videos:?}");
    let followers: Option<i64> = account_snapshots::table
        .filter(account_snapshots::account_id.eq(account))
        .select(account_snapshots::follower_count)
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert!(followers.unwrap() >= 12_400, "Maya's seeded followers and more");

    // An hour later: a snapshot only for the counters that moved, none lost, none doubled.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let second = first + time::Duration::hours(1);
    let again = collect_account(&app.state, account, second, budget::PER_MINUTE).await.unwrap();
    assert_eq!((again.videos, again.ids_found), (2, 0));
    let snapshots = snapshots_of(&app, account).await;
    assert!(snapshots.len() >= 2 && snapshots.len() <= 4, "{snapshots:?}");
    assert!(snapshots.iter().all(|(_, at, _)| *at == first || *at == second));
    let accounts: i64 = account_snapshots::table.filter(account_snapshots::account_id.eq(account)).count().get_result(&mut *app.conn().await).await.unwrap();
    assert_eq!(accounts, 2);

    // What the team sees.
    let page: AccountAnalytics = owner.call("analytics/account", &[("account_id", &account.to_string()), ("days", "30")]).await.unwrap();
    assert!(!page.followers.is_empty() && page.followers.iter().all(|p| p.value >= 12_400), "{:?}", page.followers);
    assert_eq!(page.videos.len(), 2);
    assert!(page.collection.collected_label.is_some() && page.collection.problem.is_none());
    let html = owner.get(&format!("/analytics/{account}")).await.text();
    assert!(html.contains("<svg") && html.contains("role=\"img\""), "charts render on the server");
    assert!(html.contains("Dance from the app") && html.contains("posted outside Cadence"), "{html}");
    assert!(html.contains(&format!("href=\"/posts/{post}\"")), "the Cadence video links to its post");
    assert!(html.contains("<table") && html.contains("Show the numbers"), "a table behind each chart");
    assert!(html.contains("data:text/csv"), "CSV downloads");
    let curve: PostAnalytics = owner.call("analytics/post", &[("post_id", &post.to_string())]).await.unwrap();
    assert_eq!(curve.video.as_ref().map(|v| v.video_id.as_str()), Some(truth.as_str()));
    assert!(!curve.views.is_empty());
    let post_page = owner.get(&format!("/posts/{post}")).await.text();
    assert!(post_page.contains("How it is doing") && post_page.contains("post-views-t"), "the post's own curve");
    let team: TeamAnalytics = owner.call("analytics/team", &[("days", "30")]).await.unwrap();
    assert_eq!(team.accounts.len(), 1);
    assert_eq!(team.accounts[0].videos_in_range, 2);
    assert_eq!(team.top.len(), 2);
    let csv: String = owner.call("analytics/csv", &[("account_id", &account.to_string()), ("chart", "videos")]).await.unwrap();
    assert!(csv.starts_with("published (Europe/Berlin),title,views") && csv.contains(" CET\"") && csv.contains("Dance from the app"), "{csv}");
    let bad = owner.call::<String>("analytics/csv", &[("account_id", &account.to_string()), ("chart", "colour")]).await.unwrap_err();
    assert!(bad.to_string().contains("followers, views or videos"), "{bad}");
}

#[tokio::test(flavor = "multi_thread")]
async fn faults_and_throttling_part_way_lose_no_snapshot_and_the_rerun_completes() {
    let (sandbox, app, mut owner) = analytics_app().await;
    let account = connect_with(&sandbox, &mut owner, "Maya Public", EVERY_SCOPE).await;
    let open_id = sandbox.open_id_of("Maya Public");
    let ids: Vec<String> = (0..45)
        .map(|n| sandbox.sandbox.post_in_app(&open_id, &format!("clip {n}"), Duration::from_secs(3600 * (n + 1))).unwrap())
        .collect();
    // Page 1 answers; page 2 fails three times (more than the client's two retries).
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::VideoList, kind: FaultKind::Status500, count: 3, skip: 1 });
    let now = OffsetDateTime::now_utc();
    let cut = collect_account(&app.state, account, now, budget::PER_MINUTE).await.unwrap();
    assert_eq!((cut.pages, cut.videos), (1, 20), "{cut:?}");
    assert!(cut.stopped.as_deref().unwrap().contains("could not be reached"), "{cut:?}");
    assert_eq!(snapshots_of(&app, account).await.len(), 20, "the page already read is kept");
    let (collected_at, problem): (Option<OffsetDateTime>, Option<String>) = tiktok_accounts::table
        .find(account)
        .select((tiktok_accounts::analytics_collected_at, tiktok_accounts::analytics_error))
        .first(&mut *app.conn().await)
        .await
        .unwrap();
    assert!(collected_at.unwrap() < now - time::Duration::minutes(45), "due again within minutes");
    assert!(problem.unwrap().contains("could not be reached"));

    // TikTok throttles the next attempt: Cadence explains it and stops, still losing nothing.
    sandbox.sandbox.inject(Fault { endpoint: Endpoint::VideoList, kind: FaultKind::Status429, count: 1, skip: 1 });
    let throttled = collect_account(&app.state, account, now + time::Duration::minutes(10), budget::PER_MINUTE).await.unwrap();
    assert!(throttled.stopped.as_deref().unwrap().contains("slow down"), "{throttled:?}");

    let later = now + time::Duration::minutes(20);
    let done = collect_account(&app.state, account, later, budget::PER_MINUTE).await.unwrap();
    assert_eq!((done.pages, done.videos, done.stopped), (3, 45, None));
    let snapshots = snapshots_of(&app, account).await;
    let mut seen: Vec<String> = snapshots.iter().map(|(id, ..)| id.clone()).collect();
    seen.dedup();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(seen, expected, "every video has its snapshots");
    let page: AccountAnalytics = owner.call("analytics/account", &[("account_id", &account.to_string())]).await.unwrap();
    assert_eq!(page.collection.problem, None, "a complete run clears the problem");
    assert!(!page.heatmap.averages.iter().flatten().all(Option::is_none), "best times from the history");
    let slots: Vec<SlotSuggestion> = owner.call("analytics/suggest-slots", &[("account_id", &account.to_string())]).await.unwrap();
    assert_eq!(slots.len(), 3, "the composer gets the next good slots");
    assert!(slots.windows(2).all(|pair| pair[0].wall_clock < pair[1].wall_clock));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_video_list_nothing_is_collected_and_the_page_says_why() {
    let (sandbox, app, mut owner) = analytics_app().await;
    let account = connect_with(&sandbox, &mut owner, "Maya Public", &["user.info.basic", "video.publish"]).await;
    assert!(collect_due(&app.state, OffsetDateTime::now_utc()).await.unwrap() == 0);
    let asked = sandbox.sandbox.requests().iter().filter(|r| r.path == "/v2/video/list/" || r.query.as_deref().unwrap_or_default().contains("follower")).count();
    assert_eq!(asked, 0, "never asked");
    let page: AccountAnalytics = owner.call("analytics/account", &[("account_id", &account.to_string())]).await.unwrap();
    assert!(!page.collection.videos_allowed);
    let html = owner.get(&format!("/analytics/{account}")).await.text();
    assert!(html.contains("connect it again with analytics permissions"), "{html}");
}

#[tokio::test(flavor = "multi_thread")]
async fn collect_due_claims_each_account_once_across_servers_and_waits_an_hour() {
    let (sandbox, app, mut owner) = analytics_app().await;
    connect_with(&sandbox, &mut owner, "Maya Public", EVERY_SCOPE).await;
    connect(&sandbox, &mut owner, "Short Clips Sam").await;
    let other = app.another_state(&sandbox.app_settings());
    let now = OffsetDateTime::now_utc();
    let (a, b) = tokio::join!(collect_due(&app.state, now), collect_due(&other, now));
    // Sam granted the default consent list, which includes video.list but not stats.
    assert_eq!(a.unwrap() + b.unwrap(), 2, "two accounts, each collected by one server");
    assert_eq!(sandbox.count("/v2/video/list/", ""), 2, "one listing each, not four");
    assert_eq!(collect_due(&app.state, now + time::Duration::minutes(30)).await.unwrap(), 0, "not due within the hour");
    assert_eq!(collect_due(&app.state, now + time::Duration::minutes(61)).await.unwrap(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_display_budget_holds_across_servers_and_shares_fairly() {
    let (sandbox, app, mut owner) = analytics_app().await;
    let maya = connect_with(&sandbox, &mut owner, "Maya Public", EVERY_SCOPE).await;
    let sam = connect_with(&sandbox, &mut owner, "Short Clips Sam", EVERY_SCOPE).await;
    let other = app.another_state(&sandbox.app_settings());
    let now = OffsetDateTime::now_utc();
    // Two servers, each trying 400 calls for its account at the same instant.
    let race = |state: app::state::AppState, account: Uuid| async move {
        let mut admitted = 0;
        for _ in 0..400 {
            let conn = &mut *state.pool.get().await.unwrap();
            if budget::try_acquire(conn, account, DisplayCall::VideoList, budget::PER_MINUTE, now).await.unwrap().is_ok() {
                admitted += 1;
            }
        }
        admitted
    };
    let (a, b) = tokio::join!(race(app.state.clone(), maya), race(other.clone(), sam));
    assert_eq!(a + b, 600, "exactly TikTok's 600 a minute between them ({a} + {b})");
    let conn = &mut *app.conn().await;
    assert_eq!(budget::calls_in_minute(conn, DisplayCall::VideoList, now).await.unwrap(), 600);
    let refused = budget::try_acquire(conn, maya, DisplayCall::VideoList, budget::PER_MINUTE, now).await.unwrap().unwrap_err();
    assert!(refused <= Duration::from_secs(60) && refused > Duration::from_secs(59), "room when the oldest call leaves: {refused:?}");
    assert!(budget::try_acquire(conn, maya, DisplayCall::UserInfo, 20, now).await.unwrap().is_ok(), "user info has its own minute");

    // A minute later the window is empty; a share of 20 stops one account, not the other.
    let later = now + time::Duration::seconds(61);
    for _ in 0..20 {
        assert!(budget::try_acquire(conn, maya, DisplayCall::VideoList, 20, later).await.unwrap().is_ok());
    }
    assert!(budget::try_acquire(conn, maya, DisplayCall::VideoList, 20, later).await.unwrap().is_err(), "Maya's share is used");
    assert!(budget::try_acquire(conn, sam, DisplayCall::VideoList, 20, later).await.unwrap().is_ok(), "Sam still has his");
}

#[tokio::test(flavor = "multi_thread")]
async fn old_snapshots_are_thinned_to_daily_then_weekly() {
    let (sandbox, app, mut owner) = analytics_app().await;
    let account = connect_with(&sandbox, &mut owner, "Maya Public", EVERY_SCOPE).await;
    let conn = &mut *app.conn().await;
    let now = OffsetDateTime::now_utc().replace_minute(30).unwrap();
    let team: Uuid = tiktok_accounts::table.find(account).select(tiktok_accounts::team_id).first(conn).await.unwrap();
    diesel::sql_query(
        "INSERT INTO tiktok_videos (account_id, video_id, team_id, published_at, first_seen_at, last_seen_at) \
         VALUES ($1, '7000000000000000001', $2, $3, $3, $3)",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .bind::<diesel::sql_types::Uuid, _>(team)
    .bind::<diesel::sql_types::Timestamptz, _>(now - time::Duration::days(120))
    .execute(conn)
    .await
    .unwrap();
    // Hourly readings for 120 days, views rising by one an hour.
    diesel::sql_query(
        "INSERT INTO video_snapshots (account_id, video_id, taken_at, view_count, like_count, comment_count, share_count) \
         SELECT $1, '7000000000000000001', $2 - make_interval(hours => h), 10000 - h, 0, 0, 0 FROM generate_series(0, 2879) h",
    )
    .bind::<diesel::sql_types::Uuid, _>(account)
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .execute(conn)
    .await
    .unwrap();
    let deleted = retention::thin_snapshots(conn, now).await.unwrap();
    let kept: Vec<(OffsetDateTime, i64)> = video_snapshots::table
        .filter(video_snapshots::account_id.eq(account))
        .order(video_snapshots::taken_at.desc())
        .select((video_snapshots::taken_at, video_snapshots::view_count))
        .load(conn)
        .await
        .unwrap();
    assert_eq!(deleted + kept.len(), 2880);
    let hourly = kept.iter().filter(|(at, _)| now - *at < retention::VIDEO_HOURLY_FOR).count();
    assert_eq!(hourly, 48, "every reading of the first two days");
    let daily = kept.iter().filter(|(at, _)| (retention::VIDEO_HOURLY_FOR..retention::VIDEO_DAILY_FOR).contains(&(now - *at))).count();
    assert!((54..=57).contains(&daily), "one a day up to eight weeks: {daily}");
    let weekly = kept.len() - hourly - daily;
    assert!((9..=11).contains(&weekly), "one a week after that: {weekly}");
    // The reading kept for a day is its last one.
    let ten_days = kept.iter().find(|(at, _)| now - *at > time::Duration::days(10)).unwrap();
    assert_eq!(ten_days.0.hour(), 23, "{ten_days:?}");
    assert_eq!(retention::thin_snapshots(conn, now).await.unwrap(), 0, "thinning twice changes nothing");
}

/// One reading of an account's totals, written as collection would.
async fn reading(app: &TestApp, account: Uuid, taken_at: OffsetDateTime, followers: Option<i64>) {
    diesel::insert_into(account_snapshots::table)
        .values((
            account_snapshots::account_id.eq(account),
            account_snapshots::taken_at.eq(taken_at),
            account_snapshots::follower_count.eq(followers),
        ))
        .execute(&mut *app.conn().await)
        .await
        .unwrap();
}

/// A listed video with its latest counts (views, likes, comments, shares).
async fn video(app: &TestApp, account: Uuid, id: &str, published_at: OffsetDateTime, counts: [i64; 4]) {
    let team: Uuid = tiktok_accounts::table.find(account).select(tiktok_accounts::team_id).first(&mut *app.conn().await).await.unwrap();
    diesel::insert_into(tiktok_videos::table)
        .values((
            tiktok_videos::account_id.eq(account),
            tiktok_videos::video_id.eq(id),
            tiktok_videos::team_id.eq(team),
            tiktok_videos::title.eq(id),
            tiktok_videos::published_at.eq(published_at),
            tiktok_videos::first_seen_at.eq(published_at),
            tiktok_videos::last_seen_at.eq(published_at),
            tiktok_videos::view_count.eq(counts[0]),
            tiktok_videos::like_count.eq(counts[1]),
            tiktok_videos::comment_count.eq(counts[2]),
            tiktok_videos::share_count.eq(counts[3]),
        ))
        .execute(&mut *app.conn().await)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn the_team_page_sums_each_accounts_last_reading_of_the_members_day() {
    let (sandbox, app, mut owner) = analytics_app().await;
    let maya = connect_with(&sandbox, &mut owner, "Maya Public", EVERY_SCOPE).await;
    let sam = connect_with(&sandbox, &mut owner, "Short Clips Sam", EVERY_SCOPE).await;
    // The owner's clock is Berlin's (UTC+1 in winter, +2 in summer): the last hour before
    // Berlin's midnight is the same UTC day as the first minutes after it, so grouping by the
    // UTC day would merge the two days below into one.
    let berlin = app::calendar::zone::zone("Europe/Berlin");
    let midnight = app::calendar::zone::start_of(app::calendar::zone::today(&berlin), &berlin);
    let minutes = |n: i64| midnight + time::Duration::minutes(n);
    reading(&app, maya, minutes(-120), Some(100)).await;
    reading(&app, maya, minutes(-30), Some(110)).await;
    reading(&app, maya, minutes(10), Some(120)).await;
    reading(&app, sam, minutes(-60), Some(50)).await;
    reading(&app, sam, minutes(5), Some(55)).await;
    // A reading without follower counts (stats not granted then) counts for nothing.
    reading(&app, sam, minutes(6), None).await;
    let now = OffsetDateTime::now_utc();
    video(&app, maya, "hit", now - time::Duration::days(1), [1000, 50, 5, 5]).await;
    video(&app, maya, "quiet", now - time::Duration::days(3), [10, 0, 0, 0]).await;
    video(&app, sam, "old", now - time::Duration::days(40), [99_999, 9, 9, 9]).await;

    let team: TeamAnalytics = owner.call("analytics/team", &[("days", "7")]).await.unwrap();
    let followers: Vec<(i64, i64)> = team.followers.iter().map(|point| (point.at, point.value)).collect();
    assert_eq!(
        followers,
        vec![(minutes(-30).unix_timestamp(), 160), (minutes(10).unix_timestamp(), 175)],
        "each account's last reading of the Berlin day, summed, at the day's last reading"
    );
    let by_name = |name: &str| team.accounts.iter().find(|account| account.display_name == name).unwrap();
    let (maya_row, sam_row) = (by_name("Maya Public"), by_name("Short Clips Sam"));
    assert_eq!((maya_row.followers, maya_row.followers_change), (Some(120), Some(20)));
    assert_eq!((maya_row.videos_in_range, maya_row.views_in_range, maya_row.engagement_pct), (2, 1010, Some(5.9)));
    assert_eq!((sam_row.followers, sam_row.followers_change), (Some(55), Some(5)));
    assert_eq!((sam_row.videos_in_range, sam_row.views_in_range, sam_row.engagement_pct), (0, 0, None), "the old video is out of range");
    let top: Vec<&str> = team.top.iter().map(|row| row.video_id.as_str()).collect();
    assert_eq!(top, ["hit", "quiet"], "most viewed first, within the range");

    // The page is kept until the team's accounts change or one is collected again: a write
    // collection did not make is not seen, the next collection's is.
    video(&app, maya, "late", now - time::Duration::hours(2), [5000, 0, 0, 0]).await;
    let cached: TeamAnalytics = owner.call("analytics/team", &[("days", "7")]).await.unwrap();
    assert_eq!(cached.top.len(), 2, "served from the cache");
    collect_account(&app.state, maya, OffsetDateTime::now_utc(), budget::PER_MINUTE).await.unwrap();
    let fresh: TeamAnalytics = owner.call("analytics/team", &[("days", "7")]).await.unwrap();
    let top: Vec<&str> = fresh.top.iter().map(|row| row.video_id.as_str()).collect();
    assert_eq!(&top[..3], ["late", "hit", "quiet"], "recomputed after the collection");
}
