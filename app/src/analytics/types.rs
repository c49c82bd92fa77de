//! What the analytics pages show, as sent from the server: series already labelled on the
//! member's wall clock, per-video rows and the best-times grid.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The ranges a member can pick, in days.
pub const RANGES: &[i64] = &[7, 30, 90, 365];
/// The range when none (or an unknown one) is asked for.
pub const DEFAULT_RANGE: i64 = 30;

/// A range as asked for, kept to the ones offered.
pub fn range_days(asked: Option<i64>) -> i64 {
    asked.filter(|days| RANGES.contains(days)).unwrap_or(DEFAULT_RANGE)
}

/// One reading of a counter.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    /// Unix seconds: where the point sits on the time axis.
    pub at: i64,
    /// The time on the member's wall clock, e.g. `Tue 1 Dec 2026, 18:00 CET`.
    pub label: String,
    pub value: i64,
}

/// One video and how it is doing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VideoRow {
    pub account_id: Uuid,
    pub account_name: String,
    pub video_id: String,
    pub title: String,
    pub share_url: Option<String>,
    /// The Cadence post this video is; `None` for a video posted outside Cadence.
    pub post_id: Option<Uuid>,
    pub published_label: String,
    pub views: i64,
    pub likes: i64,
    pub comments: i64,
    pub shares: i64,
}

impl VideoRow {
    /// Likes, comments and shares per view, in percent; `None` before anyone has seen it.
    pub fn engagement_pct(&self) -> Option<f64> {
        engagement_pct(self.likes + self.comments + self.shares, self.views)
    }
}

/// Interactions per view in percent, rounded to one decimal.
pub fn engagement_pct(interactions: i64, views: i64) -> Option<f64> {
    (views > 0).then(|| (interactions as f64 * 1000.0 / views as f64).round() / 10.0)
}

/// Average first-48-hour views by weekday (0 = Monday) and hour, on the member's wall clock.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heatmap {
    /// 7 rows of 24; `None` where the account has never posted.
    pub averages: Vec<Vec<Option<i64>>>,
    /// How many videos each cell averages.
    pub counts: Vec<Vec<i64>>,
    pub videos: i64,
}

/// A time the composer may suggest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotSuggestion {
    /// For the schedule input: `2026-12-02T18:00` on the member's wall clock.
    pub wall_clock: String,
    /// `Wed 2 Dec 2026, 18:00 CET`
    pub label: String,
    /// The average first-48-hour views of videos posted at that weekday and hour.
    pub expected_views: i64,
}

/// Where an account's collection stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CollectionState {
    /// The account granted `video.list` (needed) and `user.info.stats` (followers).
    pub videos_allowed: bool,
    pub stats_allowed: bool,
    /// When figures were last read, on the member's wall clock.
    pub collected_label: Option<String>,
    /// Why the last collection stopped, in words.
    pub problem: Option<String>,
}

/// `/analytics/:account`: one account over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountAnalytics {
    pub account_id: Uuid,
    pub display_name: String,
    pub time_zone: String,
    pub range_days: i64,
    pub collection: CollectionState,
    pub followers: Vec<Point>,
    /// Total views of all listed videos over time.
    pub views: Vec<Point>,
    /// Videos published in the range, most viewed first.
    pub videos: Vec<VideoRow>,
    pub heatmap: Heatmap,
    pub suggestions: Vec<SlotSuggestion>,
}

/// One account's line on the team page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AccountSummary {
    pub account_id: Uuid,
    pub display_name: String,
    pub collection: CollectionState,
    pub followers: Option<i64>,
    /// Followers gained (or lost) over the range.
    pub followers_change: Option<i64>,
    pub videos_in_range: i64,
    pub views_in_range: i64,
    pub engagement_pct: Option<f64>,
}

/// `/analytics`: every account of the team over a range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TeamAnalytics {
    pub time_zone: String,
    pub range_days: i64,
    pub accounts: Vec<AccountSummary>,
    /// The team's followers summed over its accounts, day by day.
    pub followers: Vec<Point>,
    /// The most viewed videos published in the range, across accounts.
    pub top: Vec<VideoRow>,
}

/// A published post's own curve.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PostAnalytics {
    pub time_zone: String,
    pub video: Option<VideoRow>,
    pub views: Vec<Point>,
    pub likes: Vec<Point>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engagement_is_interactions_per_view() {
        assert_eq!(engagement_pct(50, 1000), Some(5.0));
        assert_eq!(engagement_pct(1, 3), Some(33.3));
        assert_eq!(engagement_pct(5, 0), None, "no views, no rate");
        assert_eq!(range_days(Some(90)), 90);
        assert_eq!(range_days(Some(12)), DEFAULT_RANGE);
        assert_eq!(range_days(None), DEFAULT_RANGE);
    }
}
