//! The Display API reads analytics makes (tiktok-api.md §6–§7): the creator's public videos
//! with their counters, page by page, and the creator's totals. Read tolerantly: numbers may
//! come as JSON numbers or strings, a missing counter is unknown (not zero), and an entry
//! without a usable id is skipped rather than failing the page.

use super::{client::TikTokClient, error::TikTokError, publish_status::post_id_text};
use crate::crypto::SecretToken;
use serde::Deserialize;
use serde_json::{Value, json};

/// The video fields analytics asks for (all under `video.list`).
const VIDEO_FIELDS: &str = "id,create_time,title,share_url,duration,view_count,like_count,comment_count,share_count";
/// The creator totals (all under `user.info.stats`).
const STATS_FIELDS: &str = "follower_count,following_count,likes_count,video_count";
/// TikTok's page size maximum for `video/list` (§7.1).
pub const PAGE_SIZE: i64 = 20;

/// One public video and its counters as TikTok reported them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VideoStats {
    pub id: String,
    /// When it went live, Unix seconds.
    pub create_time: Option<i64>,
    pub title: Option<String>,
    pub share_url: Option<String>,
    pub duration: Option<i64>,
    pub view_count: Option<i64>,
    pub like_count: Option<i64>,
    pub comment_count: Option<i64>,
    pub share_count: Option<i64>,
}

/// One page of `video/list` with counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StatsPage {
    pub videos: Vec<VideoStats>,
    /// Unix milliseconds to send back for the next, older page.
    pub cursor: Option<i64>,
    pub has_more: bool,
}

/// The creator's totals (`user.info.stats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CreatorStats {
    pub follower_count: Option<i64>,
    pub following_count: Option<i64>,
    pub likes_count: Option<i64>,
    pub video_count: Option<i64>,
}

impl TikTokClient {
    /// A page of the creator's public videos posted before `cursor` (Unix ms; `None` for the
    /// newest), newest first, with their counters. Needs `video.list`.
    pub async fn video_stats_page(&self, access_token: &SecretToken, cursor: Option<i64>) -> Result<StatsPage, TikTokError> {
        let url = format!("{}/v2/video/list/", self.api_base());
        let mut body = json!({ "max_count": PAGE_SIZE });
        if let Some(cursor) = cursor {
            body["cursor"] = json!(cursor);
        }
        let body = body.to_string();
        let data: Value = self
            .with_retries("video_list", || self.json_post(&url, access_token, body.clone()).query(&[("fields", VIDEO_FIELDS)]))
            .await?;
        Ok(parse_page(&data))
    }

    /// The creator's follower, following, like and video totals. Needs `user.info.stats`.
    pub async fn creator_stats(&self, access_token: &SecretToken) -> Result<CreatorStats, TikTokError> {
        let url = format!("{}/v2/user/info/", self.api_base());
        let data: Value = self
            .with_retries("user_info", || {
                self.http_get(&url).query(&[("fields", STATS_FIELDS)]).bearer_auth(access_token.expose())
            })
            .await?;
        let user = data.get("user").ok_or_else(|| TikTokError::Protocol("user info without `user`".into()))?;
        Ok(CreatorStats {
            follower_count: user.get("follower_count").and_then(number),
            following_count: user.get("following_count").and_then(number),
            likes_count: user.get("likes_count").and_then(number),
            video_count: user.get("video_count").and_then(number),
        })
    }
}

fn parse_page(data: &Value) -> StatsPage {
    #[derive(Deserialize)]
    struct Loose {
        #[serde(default)]
        videos: Option<Value>,
        #[serde(default)]
        cursor: Option<Value>,
        #[serde(default)]
        has_more: Option<bool>,
    }
    let Ok(loose) = Loose::deserialize(data) else {
        return StatsPage::default();
    };
    let videos = match loose.videos {
        Some(Value::Array(items)) => items.iter().filter_map(video).collect(),
        _ => Vec::new(),
    };
    StatsPage { videos, cursor: loose.cursor.as_ref().and_then(number), has_more: loose.has_more.unwrap_or(false) }
}

fn video(item: &Value) -> Option<VideoStats> {
    let text = |key: &str| item.get(key).and_then(Value::as_str).map(str::to_owned);
    let count = |key: &str| item.get(key).and_then(number).filter(|n| *n >= 0);
    Some(VideoStats {
        id: post_id_text(item.get("id")?)?,
        create_time: item.get("create_time").and_then(number),
        title: text("title"),
        share_url: text("share_url"),
        duration: count("duration"),
        view_count: count("view_count"),
        like_count: count("like_count"),
        comment_count: count("comment_count"),
        share_count: count("share_count"),
    })
}

/// An integer as a JSON number or a string of digits.
fn number(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64().or_else(|| number.as_f64().map(|f| f as i64)),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_as_numbers_or_strings_and_missing_ones_stay_unknown() {
        let page = parse_page(&serde_json::from_str(
            r#"{"videos":[
                {"id":"7080213458555737986","create_time":1643332803,"title":"hi","view_count":"1200","like_count":80},
                {"id":7261463769757501445,"create_time":"1643332700"},
                {"title":"no id","view_count":3}
            ],"cursor":"1643332700000","has_more":true}"#,
        )
        .unwrap());
        assert_eq!(page.videos.len(), 2, "an entry without an id is skipped");
        assert_eq!(page.videos[0].view_count, Some(1200));
        assert_eq!(page.videos[0].like_count, Some(80));
        assert_eq!(page.videos[0].comment_count, None, "not sent is unknown, not zero");
        assert_eq!(page.videos[1].id, "7261463769757501445", "every digit kept");
        assert_eq!(page.cursor, Some(1_643_332_700_000));
        assert!(page.has_more);
        assert_eq!(parse_page(&serde_json::json!({ "videos": null })), StatsPage::default());
    }
}
