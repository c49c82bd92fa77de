//! TikTok's rules for photo posts (tiktok-api.md §4.5): a title of at most 90 and a description
//! of at most 4000 UTF-16 units, a cover among the images, no duets or stitches, "add music
//! automatically" for Direct Post only; audience, comments and disclosure as for videos. One
//! function the composer runs in the browser and the server runs again before anything is sent.

use crate::{
    media::image::count_problem,
    posts::rules::{ComposerChoices, Violation, caption_length, caption_problem, check, violation},
    tiktok::types::CreatorInfo,
};
use serde::{Deserialize, Serialize};

/// A photo post's title limit, in UTF-16 units.
pub const PHOTO_TITLE_LIMIT: usize = 90;
/// A photo post's description limit (the composer's caption field), in UTF-16 units.
pub const PHOTO_DESCRIPTION_LIMIT: usize = 4000;

/// What a photo post carries besides the choices every post has (the caption being its
/// description).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoChoices {
    pub title: String,
    /// Which image (0-based) is the cover.
    pub cover_index: u32,
    /// Let TikTok add music (Direct Post only; the creator picks it in the app for inbox posts).
    pub auto_add_music: bool,
}

/// The choices as a photo post sends them: there are no duets or stitches to allow.
pub fn normalised(choices: &ComposerChoices) -> ComposerChoices {
    ComposerChoices { allow_duet: false, allow_stitch: false, cover_timestamp_ms: None, ..choices.clone() }
}

/// What is wrong with the text alone (checked for every photo post, inbox ones too).
pub fn text_problems(choices: &ComposerChoices, photo: &PhotoChoices) -> Vec<Violation> {
    let mut found = Vec::new();
    if let Some(problem) = crate::text::control_character_problem(&photo.title, false) {
        found.push(violation("photo_title", problem));
    } else if caption_length(&photo.title) > PHOTO_TITLE_LIMIT {
        let length = caption_length(&photo.title);
        found.push(violation("photo_title", format!("The title is {length} characters long; TikTok allows {PHOTO_TITLE_LIMIT}.")));
    }
    if let Some(problem) = caption_problem(&choices.caption) {
        found.push(violation("caption", problem));
    } else if caption_length(&choices.caption) > PHOTO_DESCRIPTION_LIMIT {
        let length = caption_length(&choices.caption);
        found.push(violation("caption", format!("The description is {length} characters long; TikTok allows {PHOTO_DESCRIPTION_LIMIT}.")));
    }
    found
}

/// Every rule a photo post of `count` images breaks; `creator` (Direct Post only) adds the
/// audience, comment and disclosure rules. Empty means TikTok will accept it.
pub fn check_photos(choices: &ComposerChoices, photo: &PhotoChoices, count: usize, creator: Option<&CreatorInfo>) -> Vec<Violation> {
    let mut found = Vec::new();
    if let Some(problem) = count_problem(count) {
        found.push(violation("photos", problem));
    } else if photo.cover_index as usize >= count {
        found.push(violation("photo_cover", "Choose one of the photos as the cover."));
    }
    found.extend(text_problems(choices, photo));
    if let Some(creator) = creator {
        // The caption was checked as a description above; the video's own limit does not apply.
        let rest = ComposerChoices { caption: String::new(), ..normalised(choices) };
        found.extend(check(&rest, creator));
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creator() -> CreatorInfo {
        CreatorInfo {
            creator_avatar_url: String::new(),
            creator_username: "leo".into(),
            creator_nickname: "Leo".into(),
            privacy_level_options: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
            comment_disabled: true,
            duet_disabled: true,
            stitch_disabled: true,
            max_video_post_duration_sec: 60,
        }
    }

    fn fields(found: &[Violation]) -> Vec<&str> {
        found.iter().map(|v| v.field).collect()
    }

    #[test]
    fn a_photo_post_is_held_to_its_own_text_limits_not_the_videos() {
        let choices = ComposerChoices { caption: "😀".repeat(2000), privacy_level: Some("SELF_ONLY".into()), ..Default::default() };
        let photo = PhotoChoices { title: "a".repeat(90), ..Default::default() };
        assert!(check_photos(&choices, &photo, 3, Some(&creator())).is_empty(), "4000 units of description and 90 of title pass");
        let long = ComposerChoices { caption: format!("{}a", choices.caption), ..choices.clone() };
        let over = PhotoChoices { title: "a".repeat(91), ..photo.clone() };
        let found = check_photos(&long, &over, 3, None);
        assert_eq!(fields(&found), ["photo_title", "caption"]);
        assert_eq!(found[1].message, "The description is 4001 characters long; TikTok allows 4000.");
        let tab = PhotoChoices { title: "a\tb".into(), ..photo };
        assert!(check_photos(&choices, &tab, 1, None)[0].message.contains("U+0009"), "a title is one line");
    }

    #[test]
    fn count_cover_and_the_creators_rules() {
        let choices = ComposerChoices { privacy_level: Some("SELF_ONLY".into()), allow_duet: true, allow_stitch: true, ..Default::default() };
        let photo = PhotoChoices::default();
        assert!(check_photos(&choices, &photo, 2, Some(&creator())).is_empty(), "duet and stitch do not exist for photos");
        assert_eq!(fields(&check_photos(&choices, &photo, 0, None)), ["photos"]);
        assert_eq!(fields(&check_photos(&choices, &photo, 36, None)), ["photos"]);
        let past = PhotoChoices { cover_index: 2, ..photo.clone() };
        assert_eq!(fields(&check_photos(&choices, &past, 2, None)), ["photo_cover"]);
        let comments = ComposerChoices { allow_comment: true, privacy_level: Some("PUBLIC_TO_EVERYONE".into()), ..choices };
        assert_eq!(fields(&check_photos(&comments, &photo, 2, Some(&creator()))), ["privacy_level", "allow_comment"]);
        assert!(normalised(&comments).allow_duet == false && normalised(&comments).allow_stitch == false);
    }
}
