//! The retry schedule of a post TikTok or the network turned back: 1 minute, 5 minutes,
//! 30 minutes, 2 hours, then the post fails with its reason. A wait TikTok asked for is
//! honoured when longer, and each post gets up to 10% extra so posts turned back together do
//! not return together.

use std::time::Duration;
use uuid::Uuid;

/// Waits after attempt 1, 2, 3 and 4.
pub const RETRY_DELAYS: [Duration; 4] =
    [Duration::from_secs(60), Duration::from_secs(300), Duration::from_secs(1800), Duration::from_secs(7200)];

/// The wait before the next attempt after attempt number `attempt` (1-based), or `None` when
/// the attempts are used up.
pub fn next_delay(attempt: i32, asked: Option<Duration>, post_id: Uuid) -> Option<time::Duration> {
    let planned = *RETRY_DELAYS.get(usize::try_from(attempt.max(1) - 1).ok()?)?;
    Some(jittered(planned.max(asked.unwrap_or_default()), post_id))
}

/// Up to 10% extra, different per post.
fn jittered(wait: Duration, post_id: Uuid) -> time::Duration {
    let spread = (post_id.as_u128() % 1000) as f64 / 10_000.0;
    time::Duration::try_from(wait.mul_f64(1.0 + spread)).unwrap_or(time::Duration::hours(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_capped_and_honours_a_longer_wait() {
        let id = Uuid::nil();
        assert_eq!(next_delay(1, None, id), Some(time::Duration::seconds(60)));
        assert_eq!(next_delay(4, None, id), Some(time::Duration::hours(2)));
        assert_eq!(next_delay(5, None, id), None, "after four attempts the post fails");
        assert_eq!(next_delay(1, Some(Duration::from_secs(600)), id), Some(time::Duration::seconds(600)));
    }

    #[test]
    fn jitter_adds_at_most_a_tenth() {
        for _ in 0..100 {
            let wait = next_delay(2, None, Uuid::new_v4()).unwrap();
            assert!(wait >= time::Duration::seconds(300) && wait < time::Duration::seconds(330), "{wait}");
        }
    }
}
