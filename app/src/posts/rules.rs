//! TikTok's Direct Post rules (tiktok-api.md §9) as one function that the composer runs in the
//! browser, to grey out and explain, and the server runs again before anything is sent.

use crate::tiktok::types::CreatorInfo;
use serde::{Deserialize, Serialize};

/// Inbox drafts may be up to ten minutes whatever the creator's Direct Post maximum: the
/// creator trims them in the app (media-transfer guide, video restrictions).
pub const INBOX_MAX_DURATION_SECS: u32 = 600;

/// TikTok's caption limit, in UTF-16 code units (how TikTok counts).
pub const CAPTION_LIMIT: usize = 2200;
/// The privacy level that branded content may not use.
pub const ONLY_ME: &str = "SELF_ONLY";

pub const MUSIC_USAGE_URL: &str = "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en";
pub const BRANDED_CONTENT_URL: &str = "https://www.tiktok.com/legal/page/global/bc-policy/en";

/// Everything the person chose in the composer. Interactions are "allow" switches, all off by
/// default; privacy has no default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComposerChoices {
    pub caption: String,
    pub privacy_level: Option<String>,
    pub allow_comment: bool,
    pub allow_duet: bool,
    pub allow_stitch: bool,
    /// The "commercial content" master switch.
    pub commercial: bool,
    /// "Your brand": promotes the creator's own business.
    pub your_brand: bool,
    /// "Branded content": promotes a third party (paid partnership).
    pub branded_content: bool,
    pub is_aigc: bool,
    pub cover_timestamp_ms: Option<u32>,
}

/// One rule the choices break, tied to the form field that shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub field: &'static str,
    pub message: String,
}

pub(crate) fn violation(field: &'static str, message: impl Into<String>) -> Violation {
    Violation { field, message: message.into() }
}

/// How TikTok counts caption length.
pub fn caption_length(caption: &str) -> usize {
    caption.encode_utf16().count()
}

/// A caption may hold tabs and line breaks but no other control character (PostgreSQL refuses
/// NUL outright); checked before anything else, drafts included.
pub fn caption_problem(caption: &str) -> Option<String> {
    crate::text::control_character_problem(caption, true)
}

/// Every rule the choices break for this creator; empty means TikTok will accept them.
pub fn check(choices: &ComposerChoices, creator: &CreatorInfo) -> Vec<Violation> {
    let mut found = Vec::new();
    let length = caption_length(&choices.caption);
    if let Some(problem) = caption_problem(&choices.caption) {
        found.push(violation("caption", problem));
    } else if length > CAPTION_LIMIT {
        found.push(violation("caption", format!("The caption is {length} characters long; TikTok allows {CAPTION_LIMIT}.")));
    }
    match choices.privacy_level.as_deref() {
        None | Some("") => found.push(violation("privacy_level", "Choose who can see this post.")),
        Some(level) if !creator.privacy_level_options.iter().any(|option| option == level) => found.push(violation(
            "privacy_level",
            "That audience is not available for this account any more. Choose again.",
        )),
        Some(_) => {}
    }
    for (allowed, disabled, field, what) in [
        (choices.allow_comment, creator.comment_disabled, "allow_comment", "Comments"),
        (choices.allow_duet, creator.duet_disabled, "allow_duet", "Duets"),
        (choices.allow_stitch, creator.stitch_disabled, "allow_stitch", "Stitches"),
    ] {
        if allowed && disabled {
            found.push(violation(field, format!("{what} are turned off in this creator's TikTok settings.")));
        }
    }
    if choices.commercial && !choices.your_brand && !choices.branded_content {
        found.push(violation(
            "commercial",
            "You need to indicate if your content promotes yourself, a third party, or both.",
        ));
    }
    if choices.commercial && choices.branded_content && choices.privacy_level.as_deref() == Some(ONLY_ME) {
        found.push(violation(
            "branded_content",
            "Branded content visibility cannot be set to private. Choose who can see it first.",
        ));
    }
    found
}

/// Whether the "Only me" option must be disabled (branded content was chosen first).
pub fn only_me_blocked(choices: &ComposerChoices) -> bool {
    choices.commercial && choices.branded_content
}

/// Whether "Branded content" must be disabled (the audience is "Only me").
pub fn branded_content_blocked(choices: &ComposerChoices) -> bool {
    choices.privacy_level.as_deref() == Some(ONLY_ME)
}

/// The label TikTok will put on the post, shown to the person before posting.
pub fn content_label(choices: &ComposerChoices) -> Option<&'static str> {
    if !choices.commercial {
        None
    } else if choices.branded_content {
        Some("Paid partnership")
    } else if choices.your_brand {
        Some("Promotional content")
    } else {
        None
    }
}

/// The declaration shown right above the Post button, exactly as TikTok words it; the
/// composer links "Music Usage Confirmation" and "Branded Content Policy" to their pages.
pub fn consent_sentence(choices: &ComposerChoices) -> &'static str {
    if choices.commercial && choices.branded_content {
        "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
    } else {
        "By posting, you agree to TikTok's Music Usage Confirmation."
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creator(private: bool) -> CreatorInfo {
        CreatorInfo {
            creator_avatar_url: String::new(),
            creator_username: "leo".into(),
            creator_nickname: "Leo".into(),
            privacy_level_options: if private {
                vec!["FOLLOWER_OF_CREATOR".into(), "MUTUAL_FOLLOW_FRIENDS".into(), "SELF_ONLY".into()]
            } else {
                vec!["PUBLIC_TO_EVERYONE".into(), "MUTUAL_FOLLOW_FRIENDS".into(), "SELF_ONLY".into()]
            },
            comment_disabled: false,
            duet_disabled: private,
            stitch_disabled: private,
            max_video_post_duration_sec: 300,
        }
    }

    fn fields(violations: &[Violation]) -> Vec<&str> {
        violations.iter().map(|v| v.field).collect()
    }

    #[test]
    fn nothing_is_preselected_so_an_untouched_form_asks_for_privacy() {
        let defaults = ComposerChoices::default();
        assert!(!defaults.allow_comment && !defaults.allow_duet && !defaults.allow_stitch && !defaults.commercial);
        assert_eq!(fields(&check(&defaults, &creator(false))), ["privacy_level"]);
    }

    #[test]
    fn privacy_must_be_one_the_creator_offers_now() {
        let mut choices = ComposerChoices { privacy_level: Some("PUBLIC_TO_EVERYONE".into()), ..Default::default() };
        assert!(check(&choices, &creator(false)).is_empty());
        let refused = check(&choices, &creator(true));
        assert_eq!(fields(&refused), ["privacy_level"]);
        choices.privacy_level = Some("FOLLOWER_OF_CREATOR".into());
        assert!(check(&choices, &creator(true)).is_empty());
    }

    #[test]
    fn interactions_the_creator_disabled_cannot_be_allowed() {
        let choices = ComposerChoices {
            privacy_level: Some("SELF_ONLY".into()),
            allow_comment: true,
            allow_duet: true,
            allow_stitch: true,
            ..Default::default()
        };
        assert!(check(&choices, &creator(false)).is_empty());
        assert_eq!(fields(&check(&choices, &creator(true))), ["allow_duet", "allow_stitch"]);
    }

    #[test]
    fn commercial_content_needs_a_kind_and_branded_content_cannot_be_private() {
        let mut choices =
            ComposerChoices { privacy_level: Some("SELF_ONLY".into()), commercial: true, ..Default::default() };
        assert_eq!(
            check(&choices, &creator(false))[0].message,
            "You need to indicate if your content promotes yourself, a third party, or both."
        );
        choices.your_brand = true;
        assert!(check(&choices, &creator(false)).is_empty(), "your own brand may be private");
        assert_eq!(content_label(&choices), Some("Promotional content"));
        assert_eq!(consent_sentence(&choices), "By posting, you agree to TikTok's Music Usage Confirmation.");
        assert!(branded_content_blocked(&choices));

        choices.branded_content = true;
        assert_eq!(fields(&check(&choices, &creator(false))), ["branded_content"]);
        assert_eq!(content_label(&choices), Some("Paid partnership"), "both ticked reads as paid partnership");
        assert_eq!(
            consent_sentence(&choices),
            "By posting, you agree to TikTok's Branded Content Policy and Music Usage Confirmation."
        );
        assert!(only_me_blocked(&choices));
        choices.privacy_level = Some("MUTUAL_FOLLOW_FRIENDS".into());
        assert!(check(&choices, &creator(false)).is_empty());

        choices.commercial = false;
        assert_eq!(content_label(&choices), None, "switching the master toggle off drops the label");
        assert_eq!(consent_sentence(&choices), "By posting, you agree to TikTok's Music Usage Confirmation.");
    }

    #[test]
    fn captions_are_counted_in_utf16_units_and_kept_verbatim() {
        assert_eq!(caption_length("#cat @tiktok"), 12);
        assert_eq!(caption_length("😀"), 2, "an emoji counts twice, as TikTok counts it");
        let at_limit = ComposerChoices {
            caption: "😀".repeat(1100),
            privacy_level: Some("SELF_ONLY".into()),
            ..Default::default()
        };
        assert!(check(&at_limit, &creator(false)).is_empty());
        let over = ComposerChoices { caption: format!("{}a", at_limit.caption), ..at_limit };
        assert_eq!(check(&over, &creator(false))[0].message, "The caption is 2201 characters long; TikTok allows 2200.");
        let lines = ComposerChoices { caption: "first\r\nsecond\tthird".into(), ..over.clone() };
        assert!(check(&lines, &creator(false)).is_empty(), "line breaks and tabs stay");
        let nul = ComposerChoices { caption: "cat\0".into(), ..lines };
        let refused = check(&nul, &creator(false));
        assert_eq!((refused[0].field, refused[0].message.contains("U+0000")), ("caption", true));
    }
}
