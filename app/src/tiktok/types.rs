//! What TikTok tells us about a creator, shared with the browser for the accounts page and the
//! composer.

use serde::{Deserialize, Serialize};

/// `data` of `POST /v2/post/publish/creator_info/query/` (tiktok-api.md §4.2).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatorInfo {
    pub creator_avatar_url: String,
    pub creator_username: String,
    pub creator_nickname: String,
    pub privacy_level_options: Vec<String>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: i32,
}

/// `data.user` of `GET /v2/user/info/` with the fields Cadence asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserInfo {
    pub open_id: String,
    #[serde(default)]
    pub union_id: Option<String>,
    #[serde(default)]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Needs `user.info.profile`; absent when the creator did not grant it.
    #[serde(default)]
    pub username: Option<String>,
}

/// A privacy level as TikTok names it, with the words the composer shows.
pub fn privacy_label(level: &str) -> &str {
    match level {
        "PUBLIC_TO_EVERYONE" => "Everyone",
        "MUTUAL_FOLLOW_FRIENDS" => "Friends",
        "FOLLOWER_OF_CREATOR" => "Followers",
        "SELF_ONLY" => "Only me",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creator_info_parses_tiktoks_example() {
        let json = r#"{
            "creator_avatar_url": "https://lf16-tt4d.tiktokcdn.com/obj/x",
            "creator_username": "tiktok",
            "creator_nickname": "TikTok Official",
            "privacy_level_options": ["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            "comment_disabled": false,
            "duet_disabled": false,
            "stitch_disabled": true,
            "max_video_post_duration_sec": 300
        }"#;
        let info: CreatorInfo = serde_json::from_str(json).unwrap();
        assert_eq!(info.creator_nickname, "TikTok Official");
        assert!(info.stitch_disabled);
        assert_eq!(info.privacy_level_options.len(), 3);
    }

    #[test]
    fn privacy_levels_have_plain_labels() {
        assert_eq!(privacy_label("SELF_ONLY"), "Only me");
        assert_eq!(privacy_label("SOMETHING_NEW"), "SOMETHING_NEW");
    }
}
