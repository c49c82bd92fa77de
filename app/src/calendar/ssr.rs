//! Laying the team's posts out by day on the member's wall clock, and moving and duplicating
//! scheduled posts in local time.

use crate::{
    calendar::{
        types::{CalendarDay, CalendarEntry, CalendarSpan, CalendarView, MONTH_CELL_ENTRIES},
        zone,
    },
    db::schema::{posts, tiktok_accounts, users},
    error::{AppError, AppResult},
    posts::{
        ssr::{Post, record_event},
        types::{Destination, PostState},
    },
    publishing::intake::schedule_time_problem,
    teams::ssr::Caller,
    tiktok::rate_limit::LimitedEndpoint,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use jiff::{ToSpan as _, Zoned, civil::Date, tz::TimeZone};
use std::collections::BTreeMap;
use time::OffsetDateTime;
use uuid::Uuid;

/// The caller's time zone (as set in Settings).
pub async fn member_zone(conn: &mut AsyncPgConnection, user_id: Uuid) -> AppResult<(String, TimeZone)> {
    let name = match crate::auth::live::LiveAccount::of_request().await?.filter(|account| account.user.id == user_id) {
        Some(account) => account.user.time_zone,
        None => users::table.find(user_id).select(users::time_zone).first(conn).await?,
    };
    let tz = zone::zone(&name);
    Ok((name, tz))
}

/// Which posts the calendar shows.
#[derive(Clone, Debug, Default)]
pub struct CalendarFilter {
    pub account_id: Option<Uuid>,
    pub state: Option<PostState>,
}

/// A post as a day cell needs it (the columns `calendar` selects, in this order).
#[derive(Queryable)]
struct CalendarRow {
    id: Uuid,
    account_id: Uuid,
    destination: String,
    state: String,
    caption: String,
    scheduled_at: Option<OffsetDateTime>,
    created_at: OffsetDateTime,
    updated_at: OffsetDateTime,
    has_thumbnail: bool,
    account_name: String,
}

/// The month or week around `anchor` (a local date; today when `None`).
pub async fn calendar(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    span: CalendarSpan,
    anchor: Option<&str>,
    filter: CalendarFilter,
) -> AppResult<CalendarView> {
    let (zone_name, tz) = member_zone(conn, caller.user_id).await?;
    let today = zone::today(&tz);
    let anchor = match anchor {
        Some(text) => text.parse::<Date>().map_err(|_| AppError::invalid("date", "Choose a valid date."))?,
        None => today,
    };
    if !(1970..=9000).contains(&anchor.year()) {
        return Err(AppError::invalid("date", "Choose a date between 1970 and 9000."));
    }
    let (first, last, title, previous, next) = layout(span, anchor);
    let from = zone::start_of(first, &tz);
    let until = zone::start_of(last.tomorrow().unwrap_or(last), &tz);

    let mut query = posts::table
        .inner_join(tiktok_accounts::table)
        .filter(posts::team_id.eq(caller.team_id))
        // `posts_listed_idx`: one range of the team's posts.
        .filter(posts::listed_at.ge(from))
        .filter(posts::listed_at.lt(until))
        // Only what a day cell shows: a whole post row is four times as wide.
        .select((
            posts::id,
            posts::account_id,
            posts::destination,
            posts::state,
            posts::caption,
            posts::scheduled_at,
            posts::created_at,
            posts::updated_at,
            posts::thumbnail_jpeg.is_not_null(),
            tiktok_accounts::display_name,
        ))
        .into_boxed();
    if let Some(account) = filter.account_id {
        query = query.filter(posts::account_id.eq(account));
    }
    if let Some(state) = filter.state {
        query = query.filter(posts::state.eq(state.as_str()));
    }
    let rows: Vec<CalendarRow> = query.load(conn).await?;

    // Each day's posts by time; an entry is made only for those its cell shows.
    let mut by_day: BTreeMap<Date, Vec<(OffsetDateTime, Zoned, CalendarRow)>> = BTreeMap::new();
    for row in rows {
        let at = row.scheduled_at.unwrap_or(row.created_at);
        let local = zone::local(at, &tz);
        by_day.entry(local.date()).or_default().push((at, local, row));
    }
    let shown_per_day = match span {
        CalendarSpan::Month => MONTH_CELL_ENTRIES,
        CalendarSpan::Week => usize::MAX,
    };

    let cap = LimitedEndpoint::DirectPostsPerDay.allowed();
    let mut weeks = Vec::new();
    let mut day = first;
    while day <= last {
        let mut week = Vec::with_capacity(7);
        for _ in 0..7 {
            let mut rows = by_day.remove(&day).unwrap_or_default();
            rows.sort_by_key(|(at, ..)| *at);
            let warnings = cap_warnings(rows.iter().map(|(.., row)| row), cap);
            let more = rows.len().saturating_sub(shown_per_day) as u32;
            let entries = rows.into_iter().take(shown_per_day).map(|(_, local, row)| entry(&local, row)).collect();
            week.push(CalendarDay {
                date: day.to_string(),
                day_of_month: day.day() as u8,
                label: day.strftime("%a %-d %b").to_string(),
                in_span: span == CalendarSpan::Week || day.month() == anchor.month(),
                is_today: day == today,
                entries,
                more,
                warnings,
            });
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
        weeks.push(week);
    }
    Ok(CalendarView {
        span,
        title,
        time_zone: zone_name,
        previous: previous.to_string(),
        next: next.to_string(),
        today: today.to_string(),
        weeks,
    })
}

/// A day cell's entry for one post, at `local` on the member's wall clock.
fn entry(local: &Zoned, row: CalendarRow) -> CalendarEntry {
    CalendarEntry {
        post_id: row.id,
        time: local.strftime("%H:%M").to_string(),
        account_name: row.account_name,
        caption: crate::text::opening(&row.caption, 40),
        state: PostState::parse(&row.state).unwrap_or(PostState::Failed),
        thumbnail_url: row.has_thumbnail.then(|| crate::media::thumbnail::address("posts", row.id, row.updated_at)),
    }
}

/// The accounts with more Direct Posts on one day than TikTok allows a creator (`cap`),
/// counted over all the day's posts, shown or not.
fn cap_warnings<'a>(rows: impl Iterator<Item = &'a CalendarRow>, cap: i64) -> Vec<String> {
    let mut per_account: BTreeMap<Uuid, (&str, i64)> = BTreeMap::new();
    for row in rows {
        let counts = Destination::parse(&row.destination).unwrap_or(Destination::Profile) == Destination::Profile
            && PostState::parse(&row.state) != Some(PostState::Cancelled);
        if counts {
            per_account.entry(row.account_id).or_insert((&row.account_name, 0)).1 += 1;
        }
    }
    per_account
        .into_values()
        .filter(|(_, n)| *n > cap)
        .map(|(name, n)| format!("{name} has {n} posts this day; TikTok allows about {cap} a day, so the rest will go out the next day."))
        .collect()
}

/// First and last day shown (whole weeks, Monday first), the title, and the neighbours' anchors.
fn layout(span: CalendarSpan, anchor: Date) -> (Date, Date, String, Date, Date) {
    let monday_of = |date: Date| date.checked_sub((date.weekday().to_monday_zero_offset() as i64).days()).unwrap_or(date);
    match span {
        CalendarSpan::Week => {
            let first = monday_of(anchor);
            let last = first.checked_add(6.days()).unwrap_or(first);
            let title = format!("{} – {}", first.strftime("%-d %b"), last.strftime("%-d %b %Y"));
            (first, last, title, first.checked_sub(7.days()).unwrap_or(first), first.checked_add(7.days()).unwrap_or(first))
        }
        CalendarSpan::Month => {
            let month_start = anchor.first_of_month();
            let month_end = anchor.last_of_month();
            let first = monday_of(month_start);
            let last = monday_of(month_end).checked_add(6.days()).unwrap_or(month_end);
            let title = month_start.strftime("%B %Y").to_string();
            let previous = month_start.checked_sub(1.month()).unwrap_or(month_start);
            let next = month_start.checked_add(1.month()).unwrap_or(month_start);
            (first, last, title, previous, next)
        }
    }
}

/// Moves a scheduled post to `wall_clock` (`2026-11-30T09:00`) in the caller's time zone.
pub async fn reschedule(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid, wall_clock: &str) -> AppResult<String> {
    let post = Post::find_for_team(conn, caller.team_id, post_id).await?;
    let (_, tz) = member_zone(conn, caller.user_id).await?;
    let at = zone::from_local(wall_clock, &tz).map_err(|message| AppError::invalid("scheduled_at", message))?;
    if let Some(problem) = schedule_time_problem(at, OffsetDateTime::now_utc()) {
        return Err(AppError::invalid("scheduled_at", problem));
    }
    if post.state() != PostState::Scheduled {
        return Err(AppError::Conflict(format!("This post is {} and can no longer be moved.", post.state().label().to_lowercase())));
    }
    let label = zone::label(at, &tz);
    conn.transaction(async |conn| {
        let moved = diesel::update(posts::table.find(post_id).filter(posts::state.eq(PostState::Scheduled.as_str())))
            .set((
                posts::scheduled_at.eq(Some(at)),
                posts::next_check_at.eq(None::<OffsetDateTime>),
                posts::updated_at.eq(OffsetDateTime::now_utc()),
            ))
            .execute(conn)
            .await?;
        if moved == 0 {
            return Err(AppError::Conflict("The post is already on its way to TikTok and can no longer be moved.".into()));
        }
        record_event(conn, post_id, "rescheduled", &format!("Moved to {label}.")).await?;
        let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, post_id, "post.rescheduled", format!("Moved the post to {label}."))
            .values(Some(serde_json::json!({ "scheduled_at": post.scheduled_at })), Some(serde_json::json!({ "scheduled_at": at })));
        crate::audit::ssr::record(conn, caller, change).await?;
        // Approval covers the time too: a move asks for it again.
        crate::approvals::ssr::after_change(conn, caller, post_id).await
    })
    .await?;
    Ok(label)
}

/// A copy of a post with a stored video, scheduled a day after the original (or a day from now
/// if the original's time has passed). Returns the copy's id.
pub async fn duplicate(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid) -> AppResult<Uuid> {
    let post = Post::find_for_team(conn, caller.team_id, post_id).await?;
    let media = post.stored_media();
    if media.is_empty() {
        return Err(AppError::Conflict(
            "This video went straight from the browser to TikTok and is not stored, so it cannot be copied. Upload it again.".into(),
        ));
    }
    let now = OffsetDateTime::now_utc();
    let when = post.scheduled_at.unwrap_or(now).max(now) + time::Duration::days(1);
    let copy = conn
        .transaction(async |conn| {
            let copy: Uuid = diesel::insert_into(posts::table)
                .values((
                    posts::team_id.eq(post.team_id),
                    posts::account_id.eq(post.account_id),
                    posts::created_by.eq(Some(caller.user_id)),
                    posts::destination.eq(&post.destination),
                    posts::state.eq(PostState::Scheduled.as_str()),
                    posts::caption.eq(&post.caption),
                    posts::privacy_level.eq(&post.privacy_level),
                    posts::allow_comment.eq(post.allow_comment),
                    posts::allow_duet.eq(post.allow_duet),
                    posts::allow_stitch.eq(post.allow_stitch),
                    posts::your_brand.eq(post.your_brand),
                    posts::branded_content.eq(post.branded_content),
                    posts::is_aigc.eq(post.is_aigc),
                    posts::cover_timestamp_ms.eq(post.cover_timestamp_ms),
                    posts::video_bytes.eq(post.video_bytes),
                    posts::content_type.eq(&post.content_type),
                    posts::duration_ms.eq(post.duration_ms),
                    posts::media_id.eq(post.media_id),
                    posts::photo_media_ids.eq(&post.photo_media_ids),
                    posts::photo_cover_index.eq(post.photo_cover_index),
                    posts::photo_title.eq(&post.photo_title),
                    posts::auto_add_music.eq(post.auto_add_music),
                    posts::scheduled_at.eq(Some(when)),
                    // The same video, so the same frame (read here only, never by lists).
                    posts::thumbnail_jpeg.eq(posts::table.find(post_id).select(posts::thumbnail_jpeg).single_value()),
                ))
                .returning(posts::id)
                .get_result(conn)
                .await?;
            // The video (or the images) is needed again.
            crate::media::catalog::keep(conn, &media).await?;
            record_event(conn, copy, "created", &format!("Copied from post {post_id}; scheduled a day later.")).await?;
            let change = crate::audit::ssr::Change::new(crate::audit::types::Subject::Post, copy, "post.duplicated", format!("Copied post {post_id}, scheduled a day later."))
                .values(None, Some(serde_json::json!({ "copy_of": post_id, "scheduled_at": when })));
            crate::audit::ssr::record(conn, caller, change).await?;
            crate::approvals::ssr::after_change(conn, caller, copy).await?;
            Ok::<_, AppError>(copy)
        })
        .await?;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_laid_out_in_whole_weeks_from_monday() {
        let (first, last, title, previous, next) = layout(CalendarSpan::Month, jiff::civil::date(2026, 11, 25));
        assert_eq!((first.to_string(), last.to_string()), ("2026-10-26".into(), "2026-12-06".into()));
        assert_eq!(title, "November 2026");
        assert_eq!((previous.to_string(), next.to_string()), ("2026-10-01".into(), "2026-12-01".into()));
    }

    #[test]
    fn weeks_run_monday_to_sunday() {
        let (first, last, title, previous, next) = layout(CalendarSpan::Week, jiff::civil::date(2026, 11, 29));
        assert_eq!((first.to_string(), last.to_string()), ("2026-11-23".into(), "2026-11-29".into()));
        assert_eq!(title, "23 Nov – 29 Nov 2026");
        assert_eq!((previous.to_string(), next.to_string()), ("2026-11-16".into(), "2026-11-30".into()));
    }
}
