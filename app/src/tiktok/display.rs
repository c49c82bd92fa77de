//! The Display API calls Cadence makes (tiktok-api.md §7): the creator's public videos, newest
//! first, and a look-up by id, both read tolerantly because TikTok's own examples disagree on
//! types (ids are documented as strings, post ids elsewhere are 19-digit numbers).

use super::{client::TikTokClient, error::TikTokError, publish_status::post_id_text};
use crate::crypto::SecretToken;
use serde::{Deserialize, Deserializer};
use serde_json::{Value, json};

/// The video fields Cadence asks for: enough to match a video to a post (the link is built from
/// the id and the username, as for ids from status replies).
const FIELDS: &str = "id,create_time";
/// TikTok's page size maximum for `video/list` and id maximum for `video/query`.
pub const MAX_PER_CALL: usize = 20;

/// One public video. Entries without a readable id are dropped while parsing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Video {
    /// Every digit as TikTok sent it, whether as a string or a number.
    pub id: String,
    /// When it went live, in Unix seconds; `None` when missing or unreadable.
    pub create_time: Option<i64>,
}

/// One page of `video/list`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VideoPage {
    pub videos: Vec<Video>,
    /// Unix milliseconds to send back for the next (older) page.
    pub cursor: Option<i64>,
    pub has_more: bool,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, deserialize_with = "videos")]
    videos: Vec<Video>,
    #[serde(default, deserialize_with = "number")]
    cursor: Option<i64>,
    #[serde(default)]
    has_more: Option<bool>,
}

impl TikTokClient {
    /// The creator's public videos posted before `cursor` (Unix ms; `None` for the newest),
    /// newest first. Needs `video.list`. Safe to repeat, so transient failures are retried.
    pub async fn video_list(&self, access_token: &SecretToken, cursor: Option<i64>) -> Result<VideoPage, TikTokError> {
        let url = format!("{}/v2/video/list/", self.api_base());
        let mut body = json!({ "max_count": MAX_PER_CALL });
        if let Some(cursor) = cursor {
            body["cursor"] = json!(cursor);
        }
        let body = body.to_string();
        let raw: RawPage = self
            .with_retries("video_list", || self.json_post(&url, access_token, body.clone()).query(&[("fields", FIELDS)]))
            .await?;
        Ok(VideoPage { videos: raw.videos, cursor: raw.cursor, has_more: raw.has_more.unwrap_or(false) })
    }

    /// The creator's own public videos among `ids` (at most [`MAX_PER_CALL`]); the others are
    /// simply not in the answer. Needs `video.list`.
    pub async fn video_query(&self, access_token: &SecretToken, ids: &[String]) -> Result<Vec<Video>, TikTokError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_PER_CALL {
            return Err(TikTokError::Protocol(format!("video/query takes at most {MAX_PER_CALL} ids")));
        }
        let url = format!("{}/v2/video/query/", self.api_base());
        let body = json!({ "filters": { "video_ids": ids } }).to_string();
        let raw: RawPage = self
            .with_retries("video_query", || self.json_post(&url, access_token, body.clone()).query(&[("fields", FIELDS)]))
            .await?;
        Ok(raw.videos)
    }
}

/// `videos`: an array of objects; `null` or a missing key is no videos, an entry without an id
/// is skipped rather than failing the whole page.
fn videos<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Video>, D::Error> {
    let Some(Value::Array(items)) = Option::<Value>::deserialize(deserializer)? else {
        return Ok(Vec::new());
    };
    Ok(items.iter().filter_map(video).collect())
}

fn video(item: &Value) -> Option<Video> {
    Some(Video {
        id: post_id_text(item.get("id")?)?,
        create_time: item.get("create_time").and_then(number_value),
    })
}

fn number<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    Ok(Option::<Value>::deserialize(deserializer)?.as_ref().and_then(number_value))
}

/// An integer as a JSON number or a string of digits.
fn number_value(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiktok::client::parse_resource_reply;
    use reqwest::StatusCode;

    fn page(body: &str) -> RawPage {
        parse_resource_reply(StatusCode::OK, None, body.as_bytes()).unwrap()
    }

    #[test]
    fn ids_and_times_are_read_as_strings_or_numbers() {
        let raw = page(
            r#"{"data":{"videos":[
                {"id":"7080213458555737986","create_time":1643332803},
                {"id":7261463769757501445,"create_time":"1643332700"},
                {"title":"no id"},
                {"id":"12ab"}
            ],"cursor":1643332803000,"has_more":true},"error":{"code":"ok","message":"","log_id":"L"}}"#,
        );
        assert_eq!(
            raw.videos,
            vec![
                Video { id: "7080213458555737986".into(), create_time: Some(1_643_332_803) },
                Video { id: "7261463769757501445".into(), create_time: Some(1_643_332_700) },
            ],
            "every digit kept, entries without a usable id skipped"
        );
        assert_eq!(raw.cursor, Some(1_643_332_803_000));
        assert_eq!(raw.has_more, Some(true));
    }

    #[test]
    fn an_empty_query_answer_is_no_videos() {
        let raw = page(r#"{"data":{"videos":null,"cursor":0,"has_more":false},"error":{"code":"ok","message":"","log_id":"L"}}"#);
        assert!(raw.videos.is_empty());
        let raw = page(r#"{"data":{},"error":{"code":"ok","message":"","log_id":"L"}}"#);
        assert!(raw.videos.is_empty() && raw.has_more.is_none());
    }
}
