//! A team's allowance for stored videos (`CADENCE_TEAM_MEDIA_QUOTA`): what scheduled posts keep
//! in the media store until their time, counted once per stored file however many posts use it.

/// `1.5 GiB`, `320.0 MiB`, `12 bytes`: sizes as a person reads them.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Why a video of `incoming` bytes does not fit beside `used` bytes under `quota`, as a sentence
/// for the person uploading; `None` when it fits.
pub fn room_problem(used: u64, quota: u64, incoming: u64) -> Option<String> {
    if used.saturating_add(incoming) <= quota {
        return None;
    }
    let left = quota.saturating_sub(used);
    Some(format!(
        "This video ({}) does not fit in your team's storage for scheduled videos: {} of {} is in use, {} is left. \
         Cancel scheduled posts you no longer need, or wait until some are published (their videos are removed a day later).",
        human_size(incoming),
        human_size(used),
        human_size(quota),
        human_size(left),
    ))
}

#[cfg(feature = "ssr")]
pub use db::*;

#[cfg(feature = "ssr")]
mod db {
    use super::room_problem;
    use crate::{db::schema::media, error::{AppError, AppResult}, tiktok::rate_limit::lock_for};
    use diesel::prelude::*;
    use diesel_async::{AsyncPgConnection, RunQueryDsl};
    use uuid::Uuid;

    /// Bytes the team's stored videos take: each `media` row once, shared by posts or not,
    /// until its file is removed.
    ///
    /// Summed here rather than by `SUM` in SQL: PostgreSQL sums `int8` into `numeric`, and the
    /// cast it then needs is raw SQL, whose statement diesel prepares again on every call (a
    /// round trip more on the team page). A team holds a few hundred files, not millions.
    pub async fn team_usage(conn: &AsyncPgConnection, team_id: Uuid) -> QueryResult<u64> {
        let sizes: Vec<i64> =
            media::table.filter(media::team_id.eq(team_id)).select(media::byte_size).load(&mut &*conn).await?;
        Ok(sizes.into_iter().map(|size| size.max(0) as u64).sum())
    }

    /// Refuses `incoming` bytes that would take the team past `quota`, with the sentence of
    /// [`room_problem`] on the `video` field.
    pub async fn require_room(conn: &mut AsyncPgConnection, team_id: Uuid, quota: u64, incoming: u64) -> AppResult<()> {
        let used = team_usage(conn, team_id).await?;
        match room_problem(used, quota, incoming) {
            Some(problem) => Err(AppError::invalid("video", problem)),
            None => Ok(()),
        }
    }

    /// Inside a transaction, before the last check and the `media` insert: two uploads of one
    /// team finishing together take turns, so both cannot fit in the same last gigabyte.
    pub async fn lock_team(conn: &mut AsyncPgConnection, team_id: Uuid) -> QueryResult<()> {
        lock_for(conn, &format!("media_quota:{team_id}")).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_person_would_say_them() {
        assert_eq!(human_size(12), "12 bytes");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(50 << 30), "50.0 GiB");
        assert_eq!(human_size(3 << 40), "3.0 TiB");
    }

    #[test]
    fn a_video_that_does_not_fit_is_told_what_is_used_and_left() {
        assert_eq!(room_problem(10, 100, 90), None, "exactly full fits");
        let problem = room_problem(60 << 20, 100 << 20, 50 << 20).unwrap();
        assert!(problem.contains("60.0 MiB of 100.0 MiB is in use, 40.0 MiB is left"), "{problem}");
        assert!(problem.contains("This video (50.0 MiB)"), "{problem}");
        assert!(room_problem(200, 100, 1).unwrap().contains("0 bytes is left"), "over quota already");
    }
}
