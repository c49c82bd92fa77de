//! A member's time zone: what "09:00 on 30 March" means in Berlin, in UTC, on every server
//! (jiff with its own bundled time zone database). A local time is always converted with the
//! rules of its own date, so a post set for 09:00 stays at 09:00 across a DST change.

use jiff::{Timestamp, Zoned, civil, tz::TimeZone};
use time::OffsetDateTime;

/// The zone of that name, or UTC for a name the database does not know.
pub fn zone(name: &str) -> TimeZone {
    TimeZone::get(name).unwrap_or(TimeZone::UTC)
}

/// Whether the database knows the zone.
pub fn is_known(name: &str) -> bool {
    TimeZone::get(name).is_ok()
}

fn timestamp(at: OffsetDateTime) -> Timestamp {
    Timestamp::from_nanosecond(at.unix_timestamp_nanos()).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// `at` on the wall clock of `tz`.
pub fn local(at: OffsetDateTime, tz: &TimeZone) -> Zoned {
    timestamp(at).to_zoned(tz.clone())
}

/// A wall-clock time (`2026-03-30T09:00`, as `<input type="datetime-local">` gives it) in `tz`,
/// as an instant. A time skipped by a DST jump moves forward by the gap; a repeated one takes
/// its first occurrence.
pub fn from_local(wall_clock: &str, tz: &TimeZone) -> Result<OffsetDateTime, String> {
    let civil: civil::DateTime = wall_clock.trim().parse().map_err(|_| "Choose a valid date and time.".to_owned())?;
    let zoned = civil.to_zoned(tz.clone()).map_err(|_| "That time does not exist in your time zone.".to_owned())?;
    OffsetDateTime::from_unix_timestamp_nanos(zoned.timestamp().as_nanosecond())
        .map_err(|_| "Choose a valid date and time.".to_owned())
}

/// The value for a `datetime-local` input: `2026-03-30T09:00`.
pub fn wall_clock(at: OffsetDateTime, tz: &TimeZone) -> String {
    local(at, tz).strftime("%Y-%m-%dT%H:%M").to_string()
}

/// How a time reads in lists: `Mon 30 Mar 2026, 09:00 CEST`.
pub fn label(at: OffsetDateTime, tz: &TimeZone) -> String {
    local(at, tz).strftime("%a %-d %b %Y, %H:%M %Z").to_string()
}

/// Today's date on the member's wall clock.
pub fn today(tz: &TimeZone) -> civil::Date {
    Timestamp::now().to_zoned(tz.clone()).date()
}

/// Midnight at the start of `date` in `tz`, as an instant.
pub fn start_of(date: civil::Date, tz: &TimeZone) -> OffsetDateTime {
    let zoned = date.to_zoned(tz.clone()).unwrap_or_else(|_| Timestamp::UNIX_EPOCH.to_zoned(tz.clone()));
    OffsetDateTime::from_unix_timestamp_nanos(zoned.timestamp().as_nanosecond()).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// The start of every local day from the one holding `from` to the one after `to`: bucket
/// boundaries for grouping instants by the member's day in SQL (`width_bucket`), so PostgreSQL's
/// own time zone database never has to agree with ours.
pub fn day_starts(from: OffsetDateTime, to: OffsetDateTime, tz: &TimeZone) -> Vec<OffsetDateTime> {
    let (first, last) = (local(from, tz).date(), local(to, tz).date());
    let mut starts = Vec::new();
    let mut day = first;
    while day <= last {
        starts.push(start_of(day, tz));
        match day.tomorrow() {
            Ok(next) => day = next,
            Err(_) => break,
        }
    }
    starts.push(start_of(day, tz));
    starts
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn nine_in_the_morning_stays_nine_across_the_spring_dst_change() {
        let berlin = zone("Europe/Berlin");
        // Berlin moves to summer time on 29 March 2026.
        assert_eq!(from_local("2026-03-27T09:00", &berlin).unwrap(), datetime!(2026-03-27 08:00 UTC));
        assert_eq!(from_local("2026-03-30T09:00", &berlin).unwrap(), datetime!(2026-03-30 07:00 UTC));
        assert_eq!(wall_clock(datetime!(2026-03-30 07:00 UTC), &berlin), "2026-03-30T09:00");
        assert_eq!(label(datetime!(2026-03-30 07:00 UTC), &berlin), "Mon 30 Mar 2026, 09:00 CEST");
    }

    #[test]
    fn day_starts_follow_the_local_midnights_across_a_dst_change() {
        let berlin = zone("Europe/Berlin");
        let starts = day_starts(datetime!(2026-03-28 12:00 UTC), datetime!(2026-03-29 12:00 UTC), &berlin);
        assert_eq!(
            starts,
            vec![
                datetime!(2026-03-27 23:00 UTC),
                datetime!(2026-03-28 23:00 UTC),
                // 29 March is 23 hours long: the next midnight is summer time.
                datetime!(2026-03-29 22:00 UTC),
            ]
        );
    }

    #[test]
    fn skipped_and_repeated_hours_have_one_answer() {
        let berlin = zone("Europe/Berlin");
        // 02:30 does not exist on 29 March: it becomes 03:30 summer time.
        assert_eq!(from_local("2026-03-29T02:30", &berlin).unwrap(), datetime!(2026-03-29 01:30 UTC));
        // 02:30 happens twice on 25 October: the first (summer time) is taken.
        assert_eq!(from_local("2026-10-25T02:30", &berlin).unwrap(), datetime!(2026-10-25 00:30 UTC));
    }

    #[test]
    fn unknown_zones_and_bad_input_are_told_apart() {
        assert!(is_known("America/New_York"));
        assert!(!is_known("Mars/Olympus_Mons"));
        assert_eq!(zone("Mars/Olympus_Mons"), TimeZone::UTC);
        assert!(from_local("30/03/2026 9am", &TimeZone::UTC).is_err());
    }

    #[test]
    fn days_start_at_local_midnight() {
        let tokyo = zone("Asia/Tokyo");
        assert_eq!(start_of(civil::date(2026, 11, 30), &tokyo), datetime!(2026-11-29 15:00 UTC));
    }
}
