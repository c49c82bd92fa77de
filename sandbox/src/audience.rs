//! The sandbox's audience: view, like, comment, share and follower counts that grow over time,
//! deterministically from a seed, so analytics can be tested without a real audience.
//!
//! Every count is a pure function of (seed, id, age), non-decreasing in age: the same video at
//! the same age has the same counts on every run and every server, and a later reading is never
//! lower than an earlier one (TikTok's counters can fall when TikTok removes fake engagement,
//! but a client must cope with growth first; Cadence tolerates both).

use sha2::{Digest as _, Sha256};

/// A video's public counters (tiktok-api.md §7.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VideoCounts {
    pub view_count: i64,
    pub like_count: i64,
    pub comment_count: i64,
    pub share_count: i64,
}

/// A creator's public totals (`user.info.stats`, §6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreatorCounts {
    pub follower_count: i64,
    pub following_count: i64,
    pub likes_count: i64,
}

/// Sixty-four pseudo-random bits from the seed and a label.
fn draw(seed: u64, label: &str) -> u64 {
    let digest = Sha256::new().chain_update(seed.to_be_bytes()).chain_update(label.as_bytes()).finalize();
    u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

/// A number in [0, 1) from the seed and a label.
fn unit(seed: u64, label: &str) -> f64 {
    (draw(seed, label) >> 11) as f64 / (1u64 << 53) as f64
}

/// How many views a video settles at, and how fast it gets there: most videos reach a few
/// hundred to a few thousand views, a few go far beyond (a long tail, as on TikTok).
fn potential(seed: u64, video_id: i64) -> (f64, f64) {
    let reach = 200.0 * (1.0 + 60.0 * unit(seed, &format!("reach:{video_id}")).powi(4));
    // Half of a video's views arrive within 6 to 30 hours.
    let half_life_hours = 6.0 + 24.0 * unit(seed, &format!("pace:{video_id}"));
    (reach, half_life_hours)
}

/// The counts of video `video_id` `age_secs` after it went live (zero before).
pub fn video_counts(seed: u64, video_id: i64, age_secs: i64) -> VideoCounts {
    if age_secs <= 0 {
        return VideoCounts { view_count: 0, like_count: 0, comment_count: 0, share_count: 0 };
    }
    let (reach, half_life_hours) = potential(seed, video_id);
    let hours = age_secs as f64 / 3600.0;
    let settled = 1.0 - 0.5f64.powf(hours / half_life_hours);
    // A slow tail after the burst, so old videos still move a little.
    let views = reach * settled + reach * 0.02 * (hours / 24.0).ln_1p();
    let like_rate = 0.04 + 0.08 * unit(seed, &format!("likes:{video_id}"));
    // Each counter is floored from a non-decreasing curve, so none ever goes down.
    let view_count = views.floor() as i64;
    VideoCounts {
        view_count,
        like_count: (views * like_rate).floor() as i64,
        comment_count: (views * like_rate * 0.08).floor() as i64,
        share_count: (views * like_rate * 0.05).floor() as i64,
    }
}

/// A creator's totals at Unix time `now_secs`: the seeded base, followers gained steadily
/// since 1 January 2026 at a creator-specific pace, and the likes of their videos on top.
pub fn creator_counts(
    seed: u64,
    open_id: &str,
    base_followers: u64,
    base_following: u64,
    base_likes: u64,
    now_secs: i64,
    video_likes: i64,
) -> CreatorCounts {
    const SINCE: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    let days = (now_secs - SINCE).max(0) as f64 / 86_400.0;
    let per_day = 1.0 + (base_followers as f64 / 200.0) * unit(seed, &format!("followers:{open_id}"));
    let base = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    CreatorCounts {
        follower_count: base(base_followers).saturating_add((days * per_day).floor() as i64),
        following_count: base(base_following).saturating_add((days / 30.0).floor() as i64),
        likes_count: base(base_likes).saturating_add(video_likes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_deterministic_and_never_fall() {
        assert_eq!(video_counts(7, 42, 3600), video_counts(7, 42, 3600), "same seed, id and age");
        assert_ne!(video_counts(7, 42, 86_400), video_counts(8, 42, 86_400), "the seed matters");
        assert_eq!(video_counts(7, 42, 0).view_count, 0);
        let mut last = video_counts(7, 42, 0);
        for hour in 1..24 * 60 {
            let now = video_counts(7, 42, hour * 3600);
            assert!(now.view_count >= last.view_count && now.like_count >= last.like_count, "hour {hour}");
            assert!(now.comment_count >= last.comment_count && now.share_count >= last.share_count);
            assert!(now.like_count <= now.view_count);
            last = now;
        }
        assert!(last.view_count > 100, "a video is seen by someone: {last:?}");
    }

    #[test]
    fn followers_grow_from_the_seeded_base() {
        let early = creator_counts(7, "maya", 12_400, 100, 1000, 1_767_225_600, 0);
        assert_eq!(early.follower_count, 12_400);
        let later = creator_counts(7, "maya", 12_400, 100, 1000, 1_767_225_600 + 30 * 86_400, 55);
        assert!(later.follower_count > early.follower_count);
        assert_eq!(later.likes_count, 1055, "the videos' likes add to the creator's");
    }
}
