//! A comment as the browser sees it, and what a comment may hold (checked in the browser and again on the server).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// The longest comment, in characters (the database checks it too).
pub const COMMENT_LIMIT: usize = 2000;

/// One comment of a post's thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommentView {
    pub id: Uuid,
    /// The author's name as it reads now; "A former member" once their user is gone.
    pub author: String,
    pub body: String,
    pub at: OffsetDateTime,
    /// When, on the reader's wall clock: `Mon 30 Nov 2026, 09:00 CET`.
    pub when_label: String,
    /// The reader wrote it, or is an admin or owner of the team.
    pub can_delete: bool,
}

/// What is wrong with `body` as a comment, as a sentence for its field.
pub fn comment_problem(body: &str) -> Option<String> {
    crate::text::field_text_problem(body, "comment", COMMENT_LIMIT, "Write something first.", true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comment_has_words_fits_the_limit_and_holds_no_control_characters() {
        assert_eq!(comment_problem("  \n "), Some("Write something first.".into()));
        assert_eq!(comment_problem("Looks good,\nship it"), None);
        assert!(comment_problem(&"é".repeat(COMMENT_LIMIT)).is_none(), "characters, not bytes");
        assert!(comment_problem(&"x".repeat(COMMENT_LIMIT + 1)).unwrap().contains("2001 characters"));
        assert!(comment_problem("bell\u{7}").unwrap().contains("U+0007"));
    }
}
