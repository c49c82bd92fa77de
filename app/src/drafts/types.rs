//! A draft as the browser sees it: a stored video (or a carousel's images) with the composer's choices, maybe an account, no time yet.

use crate::posts::{photo_rules::PhotoChoices, rules::ComposerChoices};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DraftView {
    pub id: Uuid,
    /// The account it is meant for, if one was chosen (and is still connected).
    pub account_id: Option<Uuid>,
    pub account_name: Option<String>,
    pub choices: ComposerChoices,
    /// The video's size, or the images' together.
    pub video_bytes: u64,
    pub duration_ms: Option<i32>,
    /// Who saved it first, by their name now.
    pub created_by: String,
    /// When it was last saved, on the reader's wall clock.
    pub updated_label: String,
    /// Its stored video (the address changes with the video); `None` for a photo draft.
    pub video_url: Option<String>,
    /// A photo draft's images in order, each at its members-only address.
    pub photo_urls: Vec<String>,
    /// A photo draft's own choices (title, cover, music); `None` for a video draft.
    pub photo: Option<PhotoChoices>,
    /// Its frame for lists, when one is stored; the address changes with each save.
    pub thumbnail_url: Option<String>,
}

impl DraftView {
    /// The caption's first words, for lists.
    pub fn opening(&self) -> String {
        let words = crate::text::opening(&self.choices.caption, 60);
        if words.is_empty() { "(no caption yet)".into() } else { words }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_shows_the_captions_first_words() {
        let mut draft = DraftView {
            id: Uuid::nil(),
            account_id: None,
            account_name: None,
            choices: ComposerChoices::default(),
            video_bytes: 1,
            duration_ms: None,
            created_by: "Eddie".into(),
            updated_label: String::new(),
            video_url: None,
            photo_urls: Vec::new(),
            photo: None,
            thumbnail_url: None,
        };
        assert_eq!(draft.opening(), "(no caption yet)");
        draft.choices.caption = format!("Launch\nday {}", "word ".repeat(20));
        let opening = draft.opening();
        assert!(opening.starts_with("Launch day word") && opening.ends_with(" word…"), "cut at a word: {opening}");
    }
}
