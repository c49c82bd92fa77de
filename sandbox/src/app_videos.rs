//! Videos a creator posted in the TikTok app itself, not through any API client: they exist
//! only at TikTok, so the Display API lists them while no publish task knows them. Plain data,
//! so the sandbox's state can be saved and restored as it is.

use serde::{Deserialize, Serialize};

/// One public video posted in the TikTok app.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppVideo {
    pub open_id: String,
    /// The public post id (19 digits, like every TikTok video id).
    pub post_id: i64,
    /// When it went live, in Unix milliseconds (the video list's cursor unit).
    pub published_ms: i64,
    pub title: String,
    pub duration_secs: u32,
}
