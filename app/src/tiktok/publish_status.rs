//! The reply of `/v2/post/publish/status/fetch/` (tiktok-api.md §4.8), read tolerantly.
//!
//! Only `status` is needed to act. Every other field is optional and read whatever its JSON type,
//! because a reply Cadence cannot read leaves a post it cannot follow: TikTok documents the post
//! ids as `list<int64>`, but other clients have met them as strings and as `null`.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// `data` of a status reply.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct PublishStatus {
    pub status: String,
    /// Only meaningful when `status` is `FAILED`.
    #[serde(default, deserialize_with = "text")]
    pub fail_reason: Option<String>,
    /// (sic) TikTok's spelling. 19-digit ids, kept as text so no digit is ever rounded.
    #[serde(default, rename = "publicaly_available_post_id", deserialize_with = "post_id_list")]
    post_ids: Vec<String>,
    /// FILE_UPLOAD progress; a lower bound (TikTok defines it loosely), never proof of absence.
    #[serde(default, deserialize_with = "count")]
    pub uploaded_bytes: Option<u64>,
    /// PULL_FROM_URL progress.
    #[serde(default, deserialize_with = "count")]
    pub downloaded_bytes: Option<u64>,
}

impl PublishStatus {
    /// Public post ids, every digit as TikTok sent them.
    pub fn post_ids(&self) -> Vec<String> {
        self.post_ids.clone()
    }
}

/// A post id given as a JSON number or as a string of digits; anything else (a fraction, which
/// would have lost digits, a negative number, words) is not an id.
pub fn post_id_text(value: &Value) -> Option<String> {
    let text = match value {
        Value::Number(number) if number.is_u64() => number.to_string(),
        Value::String(text) => text.trim().to_owned(),
        _ => return None,
    };
    (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())).then_some(text)
}

/// An array of ids, a lone id, `null` or nothing; elements that are not ids are skipped.
fn post_id_list<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Array(items)) => items.iter().filter_map(post_id_text).collect(),
        Some(single) => post_id_text(&single).into_iter().collect(),
        None => Vec::new(),
    })
}

/// A byte count as a number or a string of digits; anything else counts as not given.
fn count<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::Number(number)) => number.as_u64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    })
}

/// A string; `null`, an empty string or another JSON type counts as not given.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(text)) if !text.trim().is_empty() => Some(text),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> PublishStatus {
        serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"))
    }

    #[test]
    fn ids_as_numbers_keep_every_digit() {
        let status = read(r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[7261463769757501445],"uploaded_bytes":10}"#);
        assert_eq!(status.post_ids(), ["7261463769757501445"]);
        assert_eq!(status.uploaded_bytes, Some(10));
    }

    #[test]
    fn ids_as_strings_are_read() {
        let status = read(r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":["7261463769757501445"," 7261463769757501446 "]}"#);
        assert_eq!(status.post_ids(), ["7261463769757501445", "7261463769757501446"]);
    }

    #[test]
    fn null_missing_or_empty_ids_mean_none_yet() {
        for json in [
            r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":null}"#,
            r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[]}"#,
            r#"{"status":"PUBLISH_COMPLETE"}"#,
        ] {
            let status = read(json);
            assert!(status.post_ids().is_empty(), "{json}");
            assert_eq!(status.status, "PUBLISH_COMPLETE");
        }
    }

    #[test]
    fn a_lone_id_and_mixed_arrays_are_read_and_non_ids_skipped() {
        assert_eq!(read(r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":7261463769757501445}"#).post_ids(), ["7261463769757501445"]);
        let mixed = read(r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":[1.5,"abc",-3,null,{"id":1},"12",34]}"#);
        assert_eq!(mixed.post_ids(), ["12", "34"]);
        assert!(read(r#"{"status":"PUBLISH_COMPLETE","publicaly_available_post_id":{"id":1}}"#).post_ids().is_empty());
    }

    #[test]
    fn progress_and_fail_reason_are_optional_whatever_their_type() {
        let bare = read(r#"{"status":"PROCESSING_UPLOAD"}"#);
        assert_eq!((bare.uploaded_bytes, bare.downloaded_bytes, bare.fail_reason.as_deref()), (None, None, None));
        let nulls = read(r#"{"status":"PROCESSING_UPLOAD","uploaded_bytes":null,"downloaded_bytes":null,"fail_reason":null}"#);
        assert_eq!((nulls.uploaded_bytes, nulls.downloaded_bytes, nulls.fail_reason), (None, None, None));
        let texts = read(r#"{"status":"PROCESSING_DOWNLOAD","uploaded_bytes":"1000","downloaded_bytes":2000,"fail_reason":""}"#);
        assert_eq!((texts.uploaded_bytes, texts.downloaded_bytes, texts.fail_reason), (Some(1000), Some(2000), None));
        let failed = read(r#"{"status":"FAILED","fail_reason":"picture_size_check_failed","uploaded_bytes":-1}"#);
        assert_eq!(failed.fail_reason.as_deref(), Some("picture_size_check_failed"));
        assert_eq!(failed.uploaded_bytes, None, "a negative count is not a count");
    }

    #[test]
    fn a_reply_without_a_status_is_unreadable() {
        assert!(serde_json::from_str::<PublishStatus>(r#"{"publicaly_available_post_id":[]}"#).is_err());
        assert!(serde_json::from_str::<PublishStatus>(r#"{"status":7}"#).is_err());
    }
}
