//! The calendar as the browser receives it: already laid out in the member's time zone by the
//! server, so the page only draws it (and server and browser never disagree on a day).

use crate::posts::types::PostState;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Month or week.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarSpan {
    Month,
    Week,
}

impl CalendarSpan {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Month => "month",
            Self::Week => "week",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Month, Self::Week].into_iter().find(|s| s.as_str() == value)
    }
}

/// One post on the calendar.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarEntry {
    pub post_id: Uuid,
    /// `09:00` on the member's wall clock.
    pub time: String,
    pub account_name: String,
    pub caption: String,
    pub state: PostState,
    /// See `media::thumbnail::address`.
    pub thumbnail_url: Option<String>,
}

/// How many posts a day cell of a month shows: what its height holds. A busy team's month has
/// hundreds of posts, and drawing each of them made the month the slowest page
/// (`scripts/bench pages`); the rest are a link to the day's week.
pub const MONTH_CELL_ENTRIES: usize = 3;

/// One day cell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarDay {
    /// `2026-11-30`
    pub date: String,
    /// `30`
    pub day_of_month: u8,
    /// `Mon 30 Nov`, for the agenda a narrow screen shows instead of the grid.
    pub label: String,
    pub in_span: bool,
    pub is_today: bool,
    /// The day's posts by time; in a month, only the first [`MONTH_CELL_ENTRIES`].
    pub entries: Vec<CalendarEntry>,
    /// The day's posts a month cell leaves out (its week shows them all).
    pub more: u32,
    /// Accounts with more posts this day than TikTok allows a creator.
    pub warnings: Vec<String>,
}

/// A month or a week of the team's posts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CalendarView {
    pub span: CalendarSpan,
    /// "November 2026" or "23 – 29 Nov 2026".
    pub title: String,
    pub time_zone: String,
    /// Anchors (`YYYY-MM-DD`) of the previous and next month or week, and of today.
    pub previous: String,
    pub next: String,
    pub today: String,
    /// Whole weeks, Monday first.
    pub weeks: Vec<Vec<CalendarDay>>,
}
