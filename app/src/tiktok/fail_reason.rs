//! TikTok's `fail_reason` codes (tiktok-api.md §4.8) as sentences a person can act on.

/// What went wrong, and what to do about it.
pub fn explain(fail_reason: &str) -> String {
    let sentence = match fail_reason {
        "file_format_check_failed" => {
            "TikTok could not read the video file. Export it again as MP4 (H.264) and upload it again."
        }
        "duration_check_failed" => {
            "The video is longer (or shorter) than TikTok allows for this account. Trim it and upload it again."
        }
        "frame_rate_check_failed" => {
            "TikTok only accepts videos at 23 to 60 frames per second. Export it again at a standard frame rate."
        }
        "picture_size_check_failed" => {
            "TikTok needs each side of the picture to be between 360 and 4096 pixels. Resize the video and upload it again."
        }
        "internal" => "TikTok had a problem on its side. Try posting again in a few minutes.",
        "video_pull_failed" | "photo_pull_failed" => {
            "TikTok could not download the media from Cadence (the connection failed or took longer than an hour). Check that CADENCE_MEDIA_PUBLIC_URL is reachable from the internet without redirects, then try posting again."
        }
        "publish_cancelled" => "The post was cancelled before TikTok finished it.",
        "auth_removed" => {
            "The creator removed Cadence's access while TikTok was processing the post. Reconnect the account to post again."
        }
        "spam_risk_too_many_posts" => "This creator has reached TikTok's daily posting limit. Try again tomorrow.",
        "spam_risk_user_banned_from_posting" => "TikTok does not allow this creator to post right now.",
        "spam_risk_text" => "TikTok judged the caption to be spam. Change the caption before posting again.",
        "spam_risk" => "TikTok refused the post as possible spam. It should not be sent again unchanged.",
        other => return format!("TikTok could not publish the video ({other})."),
    };
    sentence.to_owned()
}

/// [`explain`] for a post of photos where TikTok's reason reads differently for them (its
/// checks of each image's format and size, tiktok-api.md §4.10).
pub fn explain_for(fail_reason: &str, photos: bool) -> String {
    match fail_reason {
        "file_format_check_failed" if photos => {
            "TikTok could not read one of the photos. Save them again as JPEG or WebP and post them again.".to_owned()
        }
        "picture_size_check_failed" if photos => {
            "TikTok refused the size of one of the photos: each may be at most 20 MB and 1080p (at most 1080 × 1920 pixels). Resize it and post the photos again.".to_owned()
        }
        "photo_pull_failed" => "TikTok could not download the photos from Cadence (the connection failed or took longer than an hour). Check that CADENCE_MEDIA_PUBLIC_URL is reachable from the internet without redirects, then send the post again.".to_owned(),
        other if photos => explain(other).replace("publish the video", "publish the photos"),
        other => explain(other),
    }
}

/// Whether sending the same post again may succeed (only TikTok-side hiccups).
pub fn worth_retrying(fail_reason: &str) -> bool {
    matches!(fail_reason, "internal" | "video_pull_failed" | "photo_pull_failed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photo_posts_hear_about_their_photos() {
        assert!(explain_for("picture_size_check_failed", true).contains("1080p"));
        assert!(explain_for("picture_size_check_failed", false).contains("360 and 4096"));
        assert!(explain_for("file_format_check_failed", true).contains("JPEG or WebP"));
        assert!(explain_for("photo_pull_failed", true).contains("CADENCE_MEDIA_PUBLIC_URL"));
        assert_eq!(explain_for("mystery", true), "TikTok could not publish the photos (mystery).");
        assert_eq!(explain_for("internal", true), explain("internal"));
    }

    #[test]
    fn known_reasons_say_what_to_do() {
        assert!(explain("duration_check_failed").contains("Trim it"));
        assert!(explain("spam_risk_too_many_posts").contains("tomorrow"));
        assert!(explain("auth_removed").contains("Reconnect"));
        assert!(explain("video_pull_failed").contains("CADENCE_MEDIA_PUBLIC_URL"));
    }

    #[test]
    fn unknown_reasons_are_shown_with_their_code() {
        assert_eq!(explain("brand_new_reason"), "TikTok could not publish the video (brand_new_reason).");
    }

    #[test]
    fn only_tiktok_side_failures_are_retried() {
        assert!(worth_retrying("internal"));
        assert!(!worth_retrying("spam_risk_text"));
        assert!(!worth_retrying("auth_removed"));
    }
}
