//! Retention and downsampling: snapshots are kept as read (hourly) while they are fresh, then
//! thinned to the last reading of each day, then of each week, so a year of data for a hundred
//! accounts stays in the hundreds of thousands of rows instead of tens of millions.
//!
//! | age of the snapshot | video counters kept | account totals kept |
//! |---|---|---|
//! | under 2 days (the first-48-hours curve) | every reading | every reading |
//! | 2 days to 8 weeks | last of each UTC day | every reading for 7 days, then last of each day |
//! | over 8 weeks | last of each ISO week | last of each day |
//! | over 2 years | deleted | deleted |

use diesel::sql_types::Timestamptz;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::{Duration, OffsetDateTime};

pub const VIDEO_HOURLY_FOR: Duration = Duration::days(2);
pub const VIDEO_DAILY_FOR: Duration = Duration::weeks(8);
pub const ACCOUNT_HOURLY_FOR: Duration = Duration::days(7);
pub const KEEP_FOR: Duration = Duration::days(730);

/// Deletes every snapshot of `table` older than `newer_than` and not after `older_than` that is
/// not the last of its `bucket` (a `date_trunc` unit) for its key.
async fn thin(
    conn: &mut AsyncPgConnection,
    table: &str,
    key: &str,
    bucket: &str,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> diesel::QueryResult<usize> {
    // Table, key and bucket are this module's constants, never input.
    diesel::sql_query(format!(
        "DELETE FROM {table} s USING ( \
             SELECT {key}, taken_at, row_number() OVER ( \
                 PARTITION BY {key}, date_trunc('{bucket}', taken_at AT TIME ZONE 'UTC') ORDER BY taken_at DESC) AS rank \
             FROM {table} WHERE taken_at >= $1 AND taken_at < $2) d \
         WHERE d.rank > 1 AND ({keys_s}) = ({keys_d}) AND s.taken_at = d.taken_at",
        keys_s = key.split(", ").map(|k| format!("s.{k}")).collect::<Vec<_>>().join(", "),
        keys_d = key.split(", ").map(|k| format!("d.{k}")).collect::<Vec<_>>().join(", "),
    ))
    .bind::<Timestamptz, _>(from)
    .bind::<Timestamptz, _>(until)
    .execute(conn)
    .await
}

/// Applies the policy at `now`; returns the snapshots deleted.
pub async fn thin_snapshots(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> diesel::QueryResult<usize> {
    let video_key = "account_id, video_id";
    let mut deleted = 0;
    let expired = now - KEEP_FOR;
    for table in ["video_snapshots", "account_snapshots"] {
        deleted += diesel::sql_query(format!("DELETE FROM {table} WHERE taken_at < $1"))
            .bind::<Timestamptz, _>(expired)
            .execute(conn)
            .await?;
    }
    deleted += thin(conn, "video_snapshots", video_key, "day", now - VIDEO_DAILY_FOR, now - VIDEO_HOURLY_FOR).await?;
    deleted += thin(conn, "video_snapshots", video_key, "week", expired, now - VIDEO_DAILY_FOR).await?;
    deleted += thin(conn, "account_snapshots", "account_id", "day", expired, now - ACCOUNT_HOURLY_FOR).await?;
    Ok(deleted)
}
