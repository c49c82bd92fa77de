//! Reading analytics for the pages, always within the caller's team, with every time labelled
//! on the member's wall clock.

use crate::{
    accounts::{ssr::TikTokAccount, types::AccountStatus},
    analytics::{
        best_times::{self, Evidence},
        budget,
        cache::{self, TeamCache},
        collect::{self, can_collect},
        types::{
            AccountAnalytics, AccountSummary, CollectionState, Heatmap, Point, PostAnalytics, SlotSuggestion, TeamAnalytics,
            VideoRow, engagement_pct,
        },
    },
    calendar::{ssr::member_zone, zone},
    db::schema::{account_snapshots, posts, tiktok_accounts, tiktok_videos, video_snapshots},
    error::{AppError, AppResult},
    posts::{ssr::Post, types::PostState},
    teams::ssr::Caller,
    tiktok::scopes,
};
use diesel::{
    prelude::*,
    sql_types::{Array, BigInt, Nullable, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use jiff::tz::TimeZone;
use std::{collections::BTreeMap, time::Instant};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// Videos listed per page and in the team's top list.
const TOP_VIDEOS: i64 = 50;

/// A video as the collection job keeps it, with its latest counts.
#[derive(Queryable, Selectable)]
#[diesel(table_name = tiktok_videos, check_for_backend(diesel::pg::Pg))]
struct StoredVideo {
    account_id: Uuid,
    video_id: String,
    title: String,
    share_url: Option<String>,
    post_id: Option<Uuid>,
    published_at: OffsetDateTime,
    view_count: i64,
    like_count: i64,
    comment_count: i64,
    share_count: i64,
}

fn video_row(video: StoredVideo, account_name: &str, tz: &TimeZone) -> VideoRow {
    VideoRow {
        account_id: video.account_id,
        account_name: account_name.to_owned(),
        video_id: video.video_id,
        title: video.title,
        share_url: video.share_url,
        post_id: video.post_id,
        published_label: zone::label(video.published_at, tz),
        views: video.view_count,
        likes: video.like_count,
        comments: video.comment_count,
        shares: video.share_count,
    }
}

fn point(at: OffsetDateTime, value: i64, tz: &TimeZone) -> Point {
    Point { at: at.unix_timestamp(), label: zone::label(at, tz), value }
}

fn collection_state(account: &TikTokAccount, tz: &TimeZone, collected_at: Option<OffsetDateTime>, problem: Option<String>) -> CollectionState {
    let granted = scopes::split(&account.scopes);
    CollectionState {
        videos_allowed: can_collect(&granted) && account.status() == AccountStatus::Active,
        stats_allowed: granted.iter().any(|scope| scope == scopes::USER_INFO_STATS),
        collected_label: collected_at.map(|at| zone::label(at, tz)),
        problem,
    }
}

async fn collection_of(conn: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<(Option<OffsetDateTime>, Option<String>)> {
    tiktok_accounts::table
        .find(account_id)
        .select((tiktok_accounts::analytics_collected_at, tiktok_accounts::analytics_error))
        .first(conn)
        .await
}

/// Videos of `account_ids` published since `since`, most viewed first.
async fn top_videos(conn: &mut AsyncPgConnection, account_ids: &[Uuid], since: OffsetDateTime, limit: i64) -> QueryResult<Vec<StoredVideo>> {
    tiktok_videos::table
        .filter(tiktok_videos::account_id.eq_any(account_ids))
        .filter(tiktok_videos::published_at.ge(since))
        .order((tiktok_videos::view_count.desc(), tiktok_videos::published_at.desc()))
        .limit(limit)
        .select(StoredVideo::as_select())
        .load(conn)
        .await
}

/// One reading per local day at most for long ranges (the last of each day), so a year of
/// hourly snapshots charts as 365 points.
fn per_day(points: Vec<(OffsetDateTime, i64)>, tz: &TimeZone, range_days: i64) -> Vec<Point> {
    if range_days <= 7 {
        return points.into_iter().map(|(at, value)| point(at, value, tz)).collect();
    }
    let mut days: BTreeMap<jiff::civil::Date, (OffsetDateTime, i64)> = BTreeMap::new();
    for (at, value) in points {
        days.insert(zone::local(at, tz).date(), (at, value));
    }
    days.into_values().map(|(at, value)| point(at, value, tz)).collect()
}

/// The best-times grid and next slots of one account.
async fn best_times_of(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    tz: &TimeZone,
    now: OffsetDateTime,
) -> AppResult<(Heatmap, Vec<SlotSuggestion>)> {
    // Views in the first 48 hours where Cadence saw them; older videos count with what they have now.
    let evidence: Vec<(OffsetDateTime, Option<i64>, i64)> = tiktok_videos::table
        .filter(tiktok_videos::account_id.eq(account_id))
        .select((tiktok_videos::published_at, tiktok_videos::views_48h, tiktok_videos::view_count))
        .load(conn)
        .await?;
    let evidence: Vec<Evidence> =
        evidence.into_iter().map(|(published_at, early, all)| Evidence { published_at, views: early.unwrap_or(all) }).collect();
    let map = best_times::heatmap(&evidence, tz);
    // Every direct post that counts toward TikTok's daily cap around the suggestions: scheduled
    // ones at their time, posted ones when their upload started.
    let since = now - Duration::days(1);
    let posted: Vec<(Option<OffsetDateTime>, Option<OffsetDateTime>, OffsetDateTime)> = posts::table
        .filter(posts::account_id.eq(account_id))
        .filter(posts::scheduled_at.ge(since).or(posts::created_at.ge(since)))
        .filter(posts::state.ne_all([PostState::Cancelled, PostState::Failed, PostState::InInbox].map(PostState::as_str)))
        .select((posts::scheduled_at, posts::upload_started_at, posts::created_at))
        .load(conn)
        .await?;
    let scheduled: Vec<OffsetDateTime> =
        posted.into_iter().map(|(scheduled, started, created)| scheduled.or(started).unwrap_or(created)).collect();
    let slots = best_times::next_slots(&map, tz, now, &scheduled);
    Ok((map, slots))
}

/// One account of the caller's team over the last `range_days` days.
pub async fn account_analytics(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    account_id: Uuid,
    range_days: i64,
    now: OffsetDateTime,
) -> AppResult<AccountAnalytics> {
    let account = TikTokAccount::find_for_team(conn, caller.team_id, account_id).await?;
    let (zone_name, tz) = member_zone(conn, caller.user_id).await?;
    let since = now - Duration::days(range_days);
    let readings: Vec<(OffsetDateTime, Option<i64>, i64)> = account_snapshots::table
        .filter(account_snapshots::account_id.eq(account_id))
        .filter(account_snapshots::taken_at.ge(since))
        .order(account_snapshots::taken_at.asc())
        .select((account_snapshots::taken_at, account_snapshots::follower_count, account_snapshots::view_total))
        .load(conn)
        .await?;
    let followers = per_day(readings.iter().filter_map(|(at, followers, _)| Some((*at, (*followers)?))).collect(), &tz, range_days);
    let views = per_day(readings.iter().map(|(at, _, views)| (*at, *views)).collect(), &tz, range_days);
    let videos = top_videos(conn, &[account_id], since, TOP_VIDEOS)
        .await?
        .into_iter()
        .map(|video| video_row(video, &account.display_name, &tz))
        .collect();
    let (heatmap, suggestions) = best_times_of(conn, account_id, &tz, now).await?;
    let (collected_at, problem) = collection_of(conn, account_id).await?;
    Ok(AccountAnalytics {
        account_id,
        display_name: account.display_name.clone(),
        time_zone: zone_name,
        range_days,
        collection: collection_state(&account, &tz, collected_at, problem),
        followers,
        views,
        videos,
        heatmap,
        suggestions,
    })
}

/// The team's followers on one local day: the last reading of each account that day, summed.
#[derive(QueryableByName)]
struct TeamDay {
    #[diesel(sql_type = Timestamptz)]
    last_taken_at: OffsetDateTime,
    #[diesel(sql_type = BigInt)]
    followers: i64,
}

/// One account's figures over the range, reduced in PostgreSQL.
#[derive(QueryableByName)]
struct AccountFigures {
    #[diesel(sql_type = SqlUuid)]
    account_id: Uuid,
    #[diesel(sql_type = Nullable<BigInt>)]
    first_followers: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_followers: Option<i64>,
    #[diesel(sql_type = BigInt)]
    videos: i64,
    #[diesel(sql_type = BigInt)]
    views: i64,
    #[diesel(sql_type = BigInt)]
    interactions: i64,
}

/// Every account of the caller's team over the last `range_days` days. A year of hourly and
/// daily snapshots for dozens of accounts is reduced in PostgreSQL, a query per chart or
/// table, so the page costs the same whatever the history holds.
pub async fn team_analytics(
    conn: &mut AsyncPgConnection,
    cache: &TeamCache,
    caller: Caller,
    range_days: i64,
    now: OffsetDateTime,
) -> AppResult<TeamAnalytics> {
    let (zone_name, tz) = member_zone(conn, caller.user_id).await?;
    let version = cache::version_of(conn, caller.team_id).await?;
    let key = cache::Key { team_id: caller.team_id, range_days, zone: zone_name.clone() };
    if let Some(page) = cache.get(&key, &version, Instant::now()) {
        return Ok(page);
    }
    let page = reduce_team_analytics(conn, caller.team_id, zone_name, &tz, range_days, now).await?;
    cache.put(key, version, page.clone(), Instant::now());
    Ok(page)
}

/// What [`team_analytics`] shows, computed from the snapshots.
async fn reduce_team_analytics(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    zone_name: String,
    tz: &TimeZone,
    range_days: i64,
    now: OffsetDateTime,
) -> AppResult<TeamAnalytics> {
    let since = now - Duration::days(range_days);
    let accounts: Vec<(TikTokAccount, Option<OffsetDateTime>, Option<String>)> = tiktok_accounts::table
        .filter(tiktok_accounts::team_id.eq(team_id))
        .order(tiktok_accounts::display_name.asc())
        .select((TikTokAccount::as_select(), tiktok_accounts::analytics_collected_at, tiktok_accounts::analytics_error))
        .load(conn)
        .await?;
    let ids: Vec<Uuid> = accounts.iter().map(|(account, _, _)| account.id).collect();
    let days: Vec<TeamDay> = diesel::sql_query(
        "SELECT max(taken_at) AS last_taken_at, sum(follower_count)::int8 AS followers FROM ( \
           SELECT DISTINCT ON (account_id, width_bucket(taken_at, $3)) account_id, width_bucket(taken_at, $3) AS day, \
                  taken_at, follower_count \
           FROM account_snapshots \
           WHERE account_id = ANY($1) AND taken_at >= $2 AND follower_count IS NOT NULL \
           ORDER BY account_id, width_bucket(taken_at, $3), taken_at DESC) AS last_of_day \
         GROUP BY day ORDER BY day",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Timestamptz, _>(since)
    .bind::<Array<Timestamptz>, _>(zone::day_starts(since, now, tz))
    .load(conn)
    .await?;
    let followers = days.into_iter().map(|day| point(day.last_taken_at, day.followers, tz)).collect();
    let figures: Vec<AccountFigures> = diesel::sql_query(
        // First and last followers by two index probes per account, not a sort of the range.
        "WITH videos AS ( \
           SELECT account_id, count(*) AS videos, sum(view_count)::int8 AS views, \
                  sum(like_count + comment_count + share_count)::int8 AS interactions \
           FROM tiktok_videos WHERE account_id = ANY($1) AND published_at >= $2 GROUP BY account_id) \
         SELECT id AS account_id, first_followers, last_followers, COALESCE(videos, 0) AS videos, \
                COALESCE(views, 0) AS views, COALESCE(interactions, 0) AS interactions \
         FROM unnest($1) AS id \
         LEFT JOIN LATERAL (SELECT follower_count AS first_followers FROM account_snapshots \
           WHERE account_id = id AND taken_at >= $2 AND follower_count IS NOT NULL ORDER BY taken_at ASC LIMIT 1) AS first ON true \
         LEFT JOIN LATERAL (SELECT follower_count AS last_followers FROM account_snapshots \
           WHERE account_id = id AND taken_at >= $2 AND follower_count IS NOT NULL ORDER BY taken_at DESC LIMIT 1) AS last ON true \
         LEFT JOIN videos ON videos.account_id = id",
    )
    .bind::<Array<SqlUuid>, _>(&ids)
    .bind::<Timestamptz, _>(since)
    .load(conn)
    .await?;
    let figures: BTreeMap<Uuid, AccountFigures> = figures.into_iter().map(|row| (row.account_id, row)).collect();
    let summaries = accounts
        .iter()
        .map(|(account, collected_at, problem)| {
            let own = figures.get(&account.id);
            AccountSummary {
                account_id: account.id,
                display_name: account.display_name.clone(),
                collection: collection_state(account, tz, *collected_at, problem.clone()),
                followers: own.and_then(|figures| figures.last_followers),
                followers_change: own
                    .and_then(|figures| figures.first_followers.zip(figures.last_followers))
                    .map(|(first, last)| last - first),
                videos_in_range: own.map_or(0, |figures| figures.videos),
                views_in_range: own.map_or(0, |figures| figures.views),
                engagement_pct: own.and_then(|figures| engagement_pct(figures.interactions, figures.views)),
            }
        })
        .collect();
    let names: BTreeMap<Uuid, &str> = accounts.iter().map(|(account, _, _)| (account.id, account.display_name.as_str())).collect();
    let top = top_videos(conn, &ids, since, TOP_VIDEOS)
        .await?
        .into_iter()
        .map(|video| {
            let name = names.get(&video.account_id).copied().unwrap_or_default();
            video_row(video, name, tz)
        })
        .collect();
    Ok(TeamAnalytics { time_zone: zone_name, range_days, accounts: summaries, followers, top })
}

/// A post of the caller's team and the curve of its video since it went live.
pub async fn post_analytics(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid) -> AppResult<PostAnalytics> {
    let post = Post::find_for_team(conn, caller.team_id, post_id).await?;
    let (zone_name, tz) = member_zone(conn, caller.user_id).await?;
    let video: Option<StoredVideo> = tiktok_videos::table
        .filter(tiktok_videos::account_id.eq(post.account_id))
        .filter(tiktok_videos::post_id.eq(post.id))
        .select(StoredVideo::as_select())
        .first(conn)
        .await
        .optional()?;
    let Some(video) = video else {
        return Ok(PostAnalytics { time_zone: zone_name, video: None, views: Vec::new(), likes: Vec::new() });
    };
    let name: String = tiktok_accounts::table.find(post.account_id).select(tiktok_accounts::display_name).first(conn).await?;
    let readings: Vec<(OffsetDateTime, i64, i64)> = video_snapshots::table
        .filter(video_snapshots::account_id.eq(post.account_id))
        .filter(video_snapshots::video_id.eq(&video.video_id))
        .order(video_snapshots::taken_at.asc())
        .select((video_snapshots::taken_at, video_snapshots::view_count, video_snapshots::like_count))
        .load(conn)
        .await?;
    Ok(PostAnalytics {
        time_zone: zone_name,
        views: readings.iter().map(|(at, views, _)| point(*at, *views, &tz)).collect(),
        likes: readings.iter().map(|(at, _, likes)| point(*at, *likes, &tz)).collect(),
        video: Some(video_row(video, &name, &tz)),
    })
}

/// The next good slots to schedule a post of `account_id` (of the caller's team).
pub async fn suggest_slots(conn: &mut AsyncPgConnection, caller: Caller, account_id: Uuid, now: OffsetDateTime) -> AppResult<Vec<SlotSuggestion>> {
    TikTokAccount::find_for_team(conn, caller.team_id, account_id).await?;
    let (_, tz) = member_zone(conn, caller.user_id).await?;
    Ok(best_times_of(conn, account_id, &tz, now).await?.1)
}


/// A person asked for fresh figures: collects the account now, unless that happened within
/// the last minute (the hourly job and the budget keep TikTok's limits either way).
pub async fn refresh(state: &crate::state::AppState, caller: Caller, account_id: Uuid, now: OffsetDateTime) -> AppResult<String> {
    let accounts = {
        let conn = &mut *state.pool.get().await?;
        let account = TikTokAccount::find_for_team(conn, caller.team_id, account_id).await?;
        if !can_collect(&scopes::split(&account.scopes)) || account.status() != AccountStatus::Active {
            return Err(AppError::Conflict(
                "Cadence may not read this account's videos. Connect it again and allow analytics (video.list).".into(),
            ));
        }
        let (collected_at, _) = collection_of(conn, account_id).await?;
        if collected_at.is_some_and(|at| now - at < Duration::minutes(1) && at <= now) {
            return Err(AppError::Conflict("The figures were read less than a minute ago. Try again in a minute.".into()));
        }
        tiktok_accounts::table
            .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
            .filter(tiktok_accounts::scopes.like(format!("%{}%", scopes::VIDEO_LIST)))
            .count()
            .get_result::<i64>(conn)
            .await?
    };
    let collected = collect::collect_account(state, account_id, now, budget::fair_share(accounts)).await?;
    match collected.stopped {
        Some(reason) => Err(AppError::Conflict(reason)),
        None if collected.videos == 1 => Ok("Read 1 video from TikTok.".into()),
        None => Ok(format!("Read {} videos from TikTok.", collected.videos)),
    }
}
