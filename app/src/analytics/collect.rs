//! Collection: reads each connected account's public videos (cursor paging as TikTok
//! documents it) and totals from the Display API, within the app-wide budget, and stores a
//! snapshot of every counter that changed.
//!
//! Each page is stored as soon as it is read, in one transaction, so a fault part-way loses
//! nothing already read, and a rerun at the same instant overwrites rather than duplicates.
//! Accounts are claimed stalest first with `FOR UPDATE SKIP LOCKED`, so several servers share
//! the work without collecting one account twice.

use crate::{
    accounts::{
        ssr::{TikTokAccount, with_access_token},
        types::AccountStatus,
    },
    analytics::budget::{self, DisplayCall},
    db::schema::{posts, tiktok_accounts, tiktok_videos, video_snapshots},
    error::AppResult,
    posts::{ssr::Post, types::PostState},
    publishing::post_id_lookup,
    state::AppState,
    tiktok::{
        display::Video,
        error::TikTokError,
        scopes,
        video_stats::{StatsPage, VideoStats},
    },
};
use diesel::{prelude::*, upsert::excluded};
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// An account is collected again once its last collection is this old.
pub const COLLECT_EVERY: Duration = Duration::hours(1);
/// After a failed collection the account is tried again this much later.
pub const RETRY_AFTER: Duration = Duration::minutes(10);
/// Pages read per account and collection (20 videos each): 2,000 videos, far more than most
/// creators have; older videos beyond them keep their last stored counts.
pub const MAX_PAGES: usize = 100;
/// Accounts one server claims per run.
const ACCOUNTS_PER_RUN: i64 = 20;
/// The longest a call waits for room in the budget before the account is left for later.
const LONGEST_WAIT: std::time::Duration = std::time::Duration::from_secs(65);
/// Counts within this long after going live are the "first 48 hours" best times are judged by.
pub const FIRST_HOURS: Duration = Duration::hours(48);

/// What one account's collection did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Collected {
    pub pages: usize,
    pub videos: usize,
    /// Video snapshots written (only counters that changed since the last one).
    pub snapshots: usize,
    pub account_snapshot: bool,
    /// Posts whose TikTok post id was found in the listing.
    pub ids_found: usize,
    /// Why the collection stopped early, in words; `None` when it read everything.
    pub stopped: Option<String>,
}

/// Whether the account granted what analytics reads: `video.list` is needed, `user.info.stats`
/// adds the follower totals.
pub fn can_collect(granted: &[String]) -> bool {
    granted.iter().any(|scope| scope == scopes::VIDEO_LIST)
}

fn has_stats(granted: &[String]) -> bool {
    granted.iter().any(|scope| scope == scopes::USER_INFO_STATS)
}

/// The scheduler's body: claims due accounts and collects each in turn. Returns how many were
/// collected completely.
pub async fn collect_due(state: &AppState, now: OffsetDateTime) -> AppResult<usize> {
    let (claimed, share) = {
        let conn = &mut *state.pool.get().await?;
        (claim_due(conn, now).await?, budget::fair_share(collectable_accounts(conn).await?))
    };
    let mut complete = 0;
    for account_id in claimed {
        match collect_account(state, account_id, OffsetDateTime::now_utc().max(now), share).await {
            Ok(collected) if collected.stopped.is_none() => complete += 1,
            Ok(collected) => {
                tracing::info!(account.id = %account_id, reason = collected.stopped.as_deref().unwrap_or(""), "analytics collection stopped early; will retry");
            }
            Err(error) => {
                tracing::warn!(account.id = %account_id, error = %error, "analytics collection failed; will retry");
                let conn = &mut *state.pool.get().await?;
                release_for_retry(conn, account_id, now, "Cadence could not store the figures.").await?;
            }
        }
    }
    Ok(complete)
}

/// Active accounts that granted `video.list`: the denominator of the fair share.
async fn collectable_accounts(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    tiktok_accounts::table
        .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
        .filter(tiktok_accounts::scopes.like(format!("%{}%", scopes::VIDEO_LIST)))
        .count()
        .get_result(conn)
        .await
}

/// Marks up to [`ACCOUNTS_PER_RUN`] due accounts as being collected now, stalest first; rows
/// another server is claiming at the same moment are skipped.
pub async fn claim_due(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<Vec<Uuid>> {
    conn.transaction(async |conn| {
        let due: Vec<(Uuid, String)> = tiktok_accounts::table
            .filter(tiktok_accounts::status.eq(AccountStatus::Active.as_str()))
            .filter(tiktok_accounts::scopes.like(format!("%{}%", scopes::VIDEO_LIST)))
            .filter(
                tiktok_accounts::analytics_collected_at
                    .is_null()
                    .or(tiktok_accounts::analytics_collected_at.le(now - COLLECT_EVERY)),
            )
            .order(tiktok_accounts::analytics_collected_at.asc().nulls_first())
            .select((tiktok_accounts::id, tiktok_accounts::scopes))
            .limit(ACCOUNTS_PER_RUN)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        // `like` is a coarse filter; the granted list decides.
        let ids: Vec<Uuid> = due.into_iter().filter(|(_, granted)| can_collect(&scopes::split(granted))).map(|(id, _)| id).collect();
        diesel::update(tiktok_accounts::table.filter(tiktok_accounts::id.eq_any(&ids)))
            .set(tiktok_accounts::analytics_collected_at.eq(now))
            .execute(conn)
            .await?;
        Ok(ids)
    })
    .await
}

/// Leaves the account to be tried again [`RETRY_AFTER`] from `now`, with the reason shown.
async fn release_for_retry(conn: &mut AsyncPgConnection, account_id: Uuid, now: OffsetDateTime, reason: &str) -> QueryResult<usize> {
    diesel::update(tiktok_accounts::table.find(account_id))
        .set((
            tiktok_accounts::analytics_collected_at.eq(now - COLLECT_EVERY + RETRY_AFTER),
            tiktok_accounts::analytics_error.eq(Some(reason)),
        ))
        .execute(conn)
        .await
}

/// Collects one account at `taken_at`: every page of its public videos, then its totals. Calls
/// wait for room in the budget (at most about a minute), so the limits are never exceeded.
pub async fn collect_account(state: &AppState, account_id: Uuid, taken_at: OffsetDateTime, share: i64) -> AppResult<Collected> {
    let account = TikTokAccount::find(&mut *state.pool.get().await?, account_id).await?;
    let granted = scopes::split(&account.scopes);
    let mut collected = Collected::default();
    if account.status() != AccountStatus::Active || !can_collect(&granted) {
        collected.stopped = Some("The account does not allow Cadence to read its videos.".into());
        return Ok(collected);
    }
    let mut listed: Vec<Video> = Vec::new();
    let mut cursor: Option<i64> = None;
    let mut complete = false;
    for _ in 0..MAX_PAGES {
        let page = match display_call(state, account_id, DisplayCall::VideoList, share, |token| {
            let client = state.tiktok.client.clone();
            async move { client.video_stats_page(&token, cursor).await }
        })
        .await?
        {
            Ok(page) => page,
            Err(reason) => {
                collected.stopped = Some(reason);
                break;
            }
        };
        collected.pages += 1;
        collected.videos += page.videos.len();
        collected.snapshots += store_page(&mut *state.pool.get().await?, &account, &page, taken_at).await?;
        listed.extend(page.videos.iter().map(|video| Video { id: video.id.clone(), create_time: video.create_time }));
        match page.cursor {
            // A cursor that does not move would page forever.
            Some(next) if page.has_more && cursor != Some(next) => cursor = Some(next),
            _ => {
                complete = !page.has_more;
                break;
            }
        }
    }
    // A listing cut short by its size is still a finished collection: the oldest videos keep
    // their last stored counts.
    let size_limited = collected.stopped.is_none() && !complete;
    {
        // Released before the next call: a job never holds one connection while waiting for another.
        let conn = &mut *state.pool.get().await?;
        collected.ids_found = fill_in_post_ids(conn, account_id, &listed).await?;
        link_posts(conn, account_id).await?;
    }
    if has_stats(&granted) {
        let stats = display_call(state, account_id, DisplayCall::UserInfo, share, |token| {
            let client = state.tiktok.client.clone();
            async move { client.creator_stats(&token).await }
        })
        .await?;
        match stats {
            Ok(stats) => {
                store_account_snapshot(&mut *state.pool.get().await?, account_id, Some(stats), taken_at).await?;
                collected.account_snapshot = true;
            }
            Err(reason) => collected.stopped = collected.stopped.or(Some(reason)),
        }
    } else if collected.pages > 0 {
        // Without `user.info.stats` there are no follower counts, but the videos' sums still chart.
        store_account_snapshot(&mut *state.pool.get().await?, account_id, None, taken_at).await?;
        collected.account_snapshot = true;
    }
    let conn = &mut *state.pool.get().await?;
    if size_limited {
        tracing::info!(account.id = %account_id, pages = MAX_PAGES, "analytics read the newest videos only");
    }
    match &collected.stopped {
        Some(reason) => {
            release_for_retry(conn, account_id, taken_at, reason).await?;
        }
        None => {
            diesel::update(tiktok_accounts::table.find(account_id))
                .set((tiktok_accounts::analytics_collected_at.eq(taken_at), tiktok_accounts::analytics_error.eq(None::<String>)))
                .execute(conn)
                .await?;
        }
    }
    Ok(collected)
}

/// One Display API call for the account: waits for room in the budget, then calls with a fresh
/// token. `Err` carries why the collection should stop, in words a person understands.
async fn display_call<T, F, Fut>(
    state: &AppState,
    account_id: Uuid,
    call: DisplayCall,
    share: i64,
    make: F,
) -> AppResult<Result<T, String>>
where
    F: Fn(crate::crypto::SecretToken) -> Fut,
    Fut: Future<Output = Result<T, TikTokError>>,
{
    let started = std::time::Instant::now();
    loop {
        let room = budget::try_acquire(&mut *state.pool.get().await?, account_id, call, share, OffsetDateTime::now_utc()).await?;
        match room {
            Ok(()) => break,
            Err(wait) if started.elapsed() + wait <= LONGEST_WAIT => tokio::time::sleep(wait).await,
            Err(_) => return Ok(Err("TikTok's Display API limit is in use by other accounts; continuing later.".into())),
        }
    }
    let answer = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, account_id, make).await?;
    Ok(answer.map_err(|error| explain(&error)))
}

/// Why a Display API call failed, for the account's analytics page.
pub fn explain(error: &TikTokError) -> String {
    match error {
        TikTokError::Unauthorized { code, .. } if code == "scope_not_authorized" || code == "scope_permission_missed" => {
            "TikTok says the account did not allow Cadence to read its videos or stats. Reconnect it and tick those permissions.".into()
        }
        TikTokError::Unauthorized { .. } => "TikTok no longer accepts this account's connection. Reconnect it on the Accounts page.".into(),
        TikTokError::RateLimited { .. } => "TikTok asked Cadence to slow down; the figures will be read again shortly.".into(),
        TikTokError::Rejected { code, .. } => format!("TikTok refused to list the videos ({code}); Cadence will try again later."),
        TikTokError::Transient(_) | TikTokError::ReplyLost(_) | TikTokError::Protocol(_) => {
            "TikTok could not be reached; the figures will be read again shortly.".into()
        }
    }
}

/// Stores one page: each video's latest counts, and a snapshot for each whose counters
/// changed since its last one. Returns the snapshots written.
pub async fn store_page(conn: &mut AsyncPgConnection, account: &TikTokAccount, page: &StatsPage, taken_at: OffsetDateTime) -> AppResult<usize> {
    let videos: Vec<&VideoStats> = page.videos.iter().filter(|video| video.create_time.is_some()).collect();
    if videos.is_empty() {
        return Ok(0);
    }
    let written = conn
        .transaction(async |conn| {
            let ids: Vec<&str> = videos.iter().map(|video| video.id.as_str()).collect();
            let stored: HashMap<String, [i64; 4]> = tiktok_videos::table
                .filter(tiktok_videos::account_id.eq(account.id))
                .filter(tiktok_videos::video_id.eq_any(&ids))
                .select((
                    tiktok_videos::video_id,
                    tiktok_videos::view_count,
                    tiktok_videos::like_count,
                    tiktok_videos::comment_count,
                    tiktok_videos::share_count,
                ))
                .load::<(String, i64, i64, i64, i64)>(conn)
                .await?
                .into_iter()
                .map(|(id, v, l, c, s)| (id, [v, l, c, s]))
                .collect();
            let mut snapshots = 0;
            for video in videos {
                let published_at = OffsetDateTime::from_unix_timestamp(video.create_time.unwrap_or_default())
                    .unwrap_or(OffsetDateTime::UNIX_EPOCH);
                let before = stored.get(&video.id).copied();
                // A counter TikTok did not send keeps its last known value rather than falling to zero.
                let keep = |sent: Option<i64>, index: usize| sent.or(before.map(|b| b[index])).unwrap_or(0);
                let counts = [keep(video.view_count, 0), keep(video.like_count, 1), keep(video.comment_count, 2), keep(video.share_count, 3)];
                let early = taken_at - published_at <= FIRST_HOURS;
                let title: String = video.title.clone().unwrap_or_default();
                diesel::insert_into(tiktok_videos::table)
                    .values((
                        tiktok_videos::account_id.eq(account.id),
                        tiktok_videos::video_id.eq(&video.id),
                        tiktok_videos::team_id.eq(account.team_id),
                        tiktok_videos::title.eq(&title),
                        tiktok_videos::share_url.eq(&video.share_url),
                        tiktok_videos::published_at.eq(published_at),
                        tiktok_videos::first_seen_at.eq(taken_at),
                        tiktok_videos::last_seen_at.eq(taken_at),
                        tiktok_videos::view_count.eq(counts[0]),
                        tiktok_videos::like_count.eq(counts[1]),
                        tiktok_videos::comment_count.eq(counts[2]),
                        tiktok_videos::share_count.eq(counts[3]),
                        tiktok_videos::views_48h.eq(early.then_some(counts[0])),
                    ))
                    .on_conflict((tiktok_videos::account_id, tiktok_videos::video_id))
                    .do_update()
                    .set((
                        tiktok_videos::title.eq(excluded(tiktok_videos::title)),
                        tiktok_videos::share_url.eq(excluded(tiktok_videos::share_url)),
                        tiktok_videos::last_seen_at.eq(excluded(tiktok_videos::last_seen_at)),
                        tiktok_videos::view_count.eq(excluded(tiktok_videos::view_count)),
                        tiktok_videos::like_count.eq(excluded(tiktok_videos::like_count)),
                        tiktok_videos::comment_count.eq(excluded(tiktok_videos::comment_count)),
                        tiktok_videos::share_count.eq(excluded(tiktok_videos::share_count)),
                    ))
                    .execute(conn)
                    .await?;
                if early {
                    // The latest reading within the first 48 hours wins.
                    diesel::update(tiktok_videos::table.find((account.id, &video.id)))
                        .set(tiktok_videos::views_48h.eq(Some(counts[0])))
                        .execute(conn)
                        .await?;
                }
                if before != Some(counts) {
                    snapshots += diesel::insert_into(video_snapshots::table)
                        .values((
                            video_snapshots::account_id.eq(account.id),
                            video_snapshots::video_id.eq(&video.id),
                            video_snapshots::taken_at.eq(taken_at),
                            video_snapshots::view_count.eq(counts[0]),
                            video_snapshots::like_count.eq(counts[1]),
                            video_snapshots::comment_count.eq(counts[2]),
                            video_snapshots::share_count.eq(counts[3]),
                        ))
                        .on_conflict((video_snapshots::account_id, video_snapshots::video_id, video_snapshots::taken_at))
                        .do_update()
                        .set((
                            video_snapshots::view_count.eq(excluded(video_snapshots::view_count)),
                            video_snapshots::like_count.eq(excluded(video_snapshots::like_count)),
                            video_snapshots::comment_count.eq(excluded(video_snapshots::comment_count)),
                            video_snapshots::share_count.eq(excluded(video_snapshots::share_count)),
                        ))
                        .execute(conn)
                        .await?;
                }
            }
            Ok::<_, diesel::result::Error>(snapshots)
        })
        .await?;
    Ok(written)
}

/// The account's totals at `taken_at`, with the sums of its videos' latest counts.
async fn store_account_snapshot(
    conn: &mut AsyncPgConnection,
    account_id: Uuid,
    stats: Option<crate::tiktok::video_stats::CreatorStats>,
    taken_at: OffsetDateTime,
) -> QueryResult<usize> {
    use diesel::sql_types::{Int8, Nullable, Timestamptz, Uuid as SqlUuid};
    let stats = stats.unwrap_or_default();
    // The sums are taken in the same statement, so they match the videos stored at this moment.
    diesel::sql_query(
        "INSERT INTO account_snapshots (account_id, taken_at, follower_count, following_count, likes_count, video_count, \
             view_total, like_total, comment_total, share_total) \
         SELECT $1, $2, $3, $4, $5, $6, COALESCE(SUM(view_count), 0)::int8, COALESCE(SUM(like_count), 0)::int8, \
             COALESCE(SUM(comment_count), 0)::int8, COALESCE(SUM(share_count), 0)::int8 \
         FROM tiktok_videos WHERE account_id = $1 \
         ON CONFLICT (account_id, taken_at) DO UPDATE SET follower_count = excluded.follower_count, \
             following_count = excluded.following_count, likes_count = excluded.likes_count, \
             video_count = excluded.video_count, view_total = excluded.view_total, like_total = excluded.like_total, \
             comment_total = excluded.comment_total, share_total = excluded.share_total",
    )
    .bind::<SqlUuid, _>(account_id)
    .bind::<Timestamptz, _>(taken_at)
    .bind::<Nullable<Int8>, _>(stats.follower_count)
    .bind::<Nullable<Int8>, _>(stats.following_count)
    .bind::<Nullable<Int8>, _>(stats.likes_count)
    .bind::<Nullable<Int8>, _>(stats.video_count)
    .execute(conn)
    .await
}

/// Published public posts of the account still without a TikTok post id get one from the
/// listing when the match is unambiguous (the fidelity review's #4: status replies often
/// never carry it).
async fn fill_in_post_ids(conn: &mut AsyncPgConnection, account_id: Uuid, listed: &[Video]) -> AppResult<usize> {
    if listed.is_empty() {
        return Ok(0);
    }
    let waiting: Vec<Post> = posts::table
        .filter(posts::account_id.eq(account_id))
        .filter(posts::state.eq_any([PostState::Processing, PostState::Published].map(PostState::as_str)))
        .filter(posts::tiktok_post_id.is_null())
        .order(posts::upload_started_at.asc())
        .select(Post::as_select())
        .load(conn)
        .await?;
    let mut found = 0;
    for post in waiting.iter().filter(|post| post_id_lookup::worth_looking(post)) {
        // Re-read: an earlier assignment in this loop changes which ids are known.
        let post = Post::find(conn, post.id).await?;
        if post_id_lookup::assign_from_listing(conn, &post, listed).await? == crate::posts::outcome::Applied::Moved {
            found += 1;
        }
    }
    Ok(found)
}

/// Links the account's videos to the Cadence posts with the same TikTok post id.
pub async fn link_posts(conn: &mut AsyncPgConnection, account_id: Uuid) -> QueryResult<usize> {
    diesel::sql_query(
        "UPDATE tiktok_videos v SET post_id = p.id FROM posts p \
         WHERE v.account_id = $1 AND p.account_id = v.account_id AND p.tiktok_post_id = v.video_id \
         AND v.post_id IS DISTINCT FROM p.id",
    )
    .bind::<diesel::sql_types::Uuid, _>(account_id)
    .execute(conn)
    .await
}
