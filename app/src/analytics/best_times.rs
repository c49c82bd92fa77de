//! Best times to post, from the account's own history: how many views its videos had within
//! 48 hours of going live, averaged by weekday and hour on the member's wall clock, and the next
//! good slots from that grid that TikTok's daily posting cap still leaves room for.

use crate::analytics::types::{Heatmap, SlotSuggestion};
use crate::calendar::zone;
use jiff::tz::TimeZone;
use time::{Duration, OffsetDateTime};

/// Direct posts TikTok allows a creator in 24 hours (tiktok-api.md §5; "varies", about 15).
pub const DAILY_CAP: usize = 15;
/// Slots suggested to the composer.
pub const SUGGESTIONS: usize = 3;
/// How far ahead suggestions reach.
const HORIZON_DAYS: i64 = 7;
/// Suggestions keep at least this far apart, and from posts already scheduled.
const SPACING: Duration = Duration::hours(3);

/// One video's evidence: when it went live and its views in the first 48 hours.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Evidence {
    pub published_at: OffsetDateTime,
    pub views: i64,
}

/// Weekday (0 = Monday) and hour of `at` on the wall clock of `tz`.
fn weekday_hour(at: OffsetDateTime, tz: &TimeZone) -> (usize, usize) {
    let local = zone::local(at, tz);
    (local.weekday().to_monday_zero_offset() as usize, local.hour() as usize)
}

/// The heatmap: average first-48-hour views per weekday and hour, with how many videos each
/// cell rests on.
pub fn heatmap(evidence: &[Evidence], tz: &TimeZone) -> Heatmap {
    let mut sums = vec![vec![0i64; 24]; 7];
    let mut counts = vec![vec![0i64; 24]; 7];
    for item in evidence {
        let (day, hour) = weekday_hour(item.published_at, tz);
        sums[day][hour] += item.views;
        counts[day][hour] += 1;
    }
    let averages = sums
        .iter()
        .zip(&counts)
        .map(|(sums, counts)| sums.iter().zip(counts).map(|(sum, n)| (*n > 0).then(|| sum / n)).collect())
        .collect();
    Heatmap { averages, counts, videos: evidence.len() as i64 }
}

/// How good an hour is: its own cell when it has videos, otherwise the average of that hour
/// over every weekday (a creator with few videos still gets a sensible answer), otherwise none.
fn score(map: &Heatmap, day: usize, hour: usize) -> Option<i64> {
    if let Some(value) = map.averages[day][hour] {
        return Some(value);
    }
    let known: Vec<i64> = map.averages.iter().filter_map(|row| row[hour]).collect();
    (!known.is_empty()).then(|| known.iter().sum::<i64>() / known.len() as i64)
}

/// The next good slots after `now`, on the hour: the best-scoring hours of the next week, at
/// least [`SPACING`] from each other and from `scheduled` posts, skipping any hour at which the
/// account would already have [`DAILY_CAP`] posts in the 24 hours before it.
pub fn next_slots(map: &Heatmap, tz: &TimeZone, now: OffsetDateTime, scheduled: &[OffsetDateTime]) -> Vec<SlotSuggestion> {
    let first = now.replace_minute(0).and_then(|at| at.replace_second(0)).and_then(|at| at.replace_nanosecond(0)).unwrap_or(now)
        + Duration::hours(1);
    let mut candidates: Vec<(i64, OffsetDateTime)> = (0..HORIZON_DAYS * 24)
        .map(|offset| first + Duration::hours(offset))
        .filter_map(|at| {
            let (day, hour) = weekday_hour(at, tz);
            Some((score(map, day, hour)?, at))
        })
        .collect();
    // Best first; among equals, the soonest.
    candidates.sort_by_key(|(score, at)| (std::cmp::Reverse(*score), *at));
    let mut chosen: Vec<OffsetDateTime> = Vec::new();
    for (_, at) in candidates {
        let near = |other: &OffsetDateTime| (*other - at).abs() < SPACING;
        if chosen.iter().any(near) || scheduled.iter().any(near) {
            continue;
        }
        let in_day_before = scheduled.iter().filter(|other| **other <= at && at - **other < Duration::days(1)).count()
            + chosen.iter().filter(|other| **other <= at && at - **other < Duration::days(1)).count();
        if in_day_before >= DAILY_CAP {
            continue;
        }
        chosen.push(at);
        if chosen.len() == SUGGESTIONS {
            break;
        }
    }
    chosen.sort();
    chosen
        .into_iter()
        .map(|at| {
            let (day, hour) = weekday_hour(at, tz);
            SlotSuggestion {
                wall_clock: zone::wall_clock(at, tz),
                label: zone::label(at, tz),
                expected_views: score(map, day, hour).unwrap_or(0),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn evidence(at: OffsetDateTime, views: i64) -> Evidence {
        Evidence { published_at: at, views }
    }

    #[test]
    fn the_grid_is_on_the_members_wall_clock() {
        // 17:00 UTC on Tuesday 1 December 2026 is 18:00 in Berlin and 12:00 in New York.
        let at = datetime!(2026-12-01 17:00 UTC);
        let berlin = heatmap(&[evidence(at, 900), evidence(at + Duration::minutes(20), 300)], &zone::zone("Europe/Berlin"));
        assert_eq!(berlin.averages[1][18], Some(600), "Tuesday, 18:00 in Berlin, averaged");
        assert_eq!(berlin.counts[1][18], 2);
        let new_york = heatmap(&[evidence(at, 900)], &zone::zone("America/New_York"));
        assert_eq!(new_york.averages[1][12], Some(900));
        assert_eq!(new_york.averages[1][18], None);
    }

    #[test]
    fn suggestions_are_the_best_hours_ahead_spaced_and_in_the_future() {
        let utc = zone::zone("UTC");
        // Evenings at 18:00 do far better than mornings at 09:00.
        let mut history = Vec::new();
        for week in 0..4 {
            let monday = datetime!(2026-11-02 00:00 UTC) + Duration::weeks(week);
            for day in 0..7 {
                history.push(evidence(monday + Duration::days(day) + Duration::hours(18), 5_000));
                history.push(evidence(monday + Duration::days(day) + Duration::hours(9), 200));
            }
        }
        let map = heatmap(&history, &utc);
        let now = datetime!(2026-12-01 19:30 UTC);
        let slots = next_slots(&map, &utc, now, &[]);
        assert_eq!(slots.len(), SUGGESTIONS);
        assert_eq!(slots[0].wall_clock, "2026-12-02T18:00", "the next 18:00, not the one that just passed");
        assert_eq!(slots[1].wall_clock, "2026-12-03T18:00");
        assert!(slots.iter().all(|slot| slot.expected_views == 5_000));
        // A post already scheduled at 18:00 tomorrow pushes that suggestion away.
        let taken = next_slots(&map, &utc, now, &[datetime!(2026-12-02 18:00 UTC)]);
        assert!(taken.iter().all(|slot| slot.wall_clock != "2026-12-02T18:00"));
    }

    #[test]
    fn a_full_day_at_tiktoks_cap_gets_no_suggestion() {
        let utc = zone::zone("UTC");
        let map = heatmap(&[evidence(datetime!(2026-11-30 18:00 UTC), 1000)], &utc);
        let now = datetime!(2026-12-01 10:00 UTC);
        // Fifteen posts within the 24 hours before Tuesday 18:00 and before Wednesday 18:00.
        let busy: Vec<OffsetDateTime> = (0..DAILY_CAP as i64).map(|n| datetime!(2026-12-01 13:00 UTC) + Duration::minutes(n)).collect();
        let slots = next_slots(&map, &utc, now, &busy);
        assert!(slots.iter().all(|slot| !slot.wall_clock.starts_with("2026-12-01") && !slot.wall_clock.starts_with("2026-12-02T0")), "{slots:?}");
        assert!(!slots.is_empty(), "the other days still have room: {slots:?}");
        assert!(next_slots(&heatmap(&[], &utc), &utc, now, &[]).is_empty(), "no history, no guess");
    }
}
