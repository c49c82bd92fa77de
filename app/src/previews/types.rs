//! Client preview links as the browser sees them: the team's list, the page a guest opens, and what a guest may write.

use crate::approvals::types::Approval;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long a link may live, in days.
pub const MAX_DAYS: u32 = 30;
/// The most posts one link shows.
pub const MAX_POSTS: usize = 50;
/// The longest label and guest name, in characters (the database checks them too).
pub const LABEL_LIMIT: usize = 100;
pub const NAME_LIMIT: usize = 80;

/// One of the team's links, for approvers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewLinkView {
    pub id: Uuid,
    pub label: String,
    pub post_ids: Vec<Uuid>,
    pub created_by: String,
    pub expires_at: OffsetDateTime,
    /// On the reader's wall clock.
    pub expires_label: String,
    pub revoked: bool,
    /// Not revoked and not expired: it opens.
    pub live: bool,
}

/// A link just made: its address is shown once, as only its hash is kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedPreviewLink {
    pub link: PreviewLinkView,
    /// `/preview/<token>`; the page puts the origin in front.
    pub path: String,
}

/// What a guest sees: the link's posts as TikTok would show them, and nothing else of the team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestPreview {
    pub team: String,
    pub label: String,
    pub expires_label: String,
    pub posts: Vec<PreviewPost>,
}

/// One post of a preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewPost {
    pub id: Uuid,
    /// The TikTok account's display name, as the app shows it.
    pub account: String,
    pub caption: String,
    /// When it is due, on the link creator's wall clock; `None` for a post that has no time.
    pub due_label: Option<String>,
    pub approval: Approval,
    /// The fingerprint of what the guest sees: a decision holds only for exactly this.
    pub fingerprint: String,
    /// Still scheduled, so the guest may approve it or ask for changes.
    pub decidable: bool,
    /// Where the phone preview's video comes from (under the link's own path).
    pub video_path: String,
    /// What guests wrote through this link; the team's own thread stays private.
    pub comments: Vec<GuestComment>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GuestComment {
    pub name: String,
    pub body: String,
    pub when_label: String,
}

/// What a guest decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuestDecision {
    Approve,
    RequestChanges,
}

/// What is wrong with a label, for its field.
pub fn label_problem(label: &str) -> Option<String> {
    crate::text::field_text_problem(label, "name", LABEL_LIMIT, "Name the link, e.g. who it is for.", false)
}

/// What is wrong with the name a guest signs with, for its field.
pub fn guest_name_problem(name: &str) -> Option<String> {
    crate::text::field_text_problem(name, "name", NAME_LIMIT, "Say who you are, so the team knows who decided.", false)
}

/// What is wrong with a link's lifetime, for its field.
pub fn days_problem(days: u32) -> Option<String> {
    (!(1..=MAX_DAYS).contains(&days)).then(|| format!("A link lives from 1 to {MAX_DAYS} days."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_names_and_lifetimes_are_checked_with_a_sentence() {
        assert!(label_problem("  ").unwrap().contains("Name the link"));
        assert_eq!(label_problem("Acme, December"), None);
        assert!(label_problem(&"x".repeat(LABEL_LIMIT + 1)).unwrap().contains("101 characters"));
        assert!(guest_name_problem("").unwrap().contains("who you are"));
        assert!(guest_name_problem("Clara\n").unwrap().contains("U+000A"), "one line");
        assert_eq!(guest_name_problem("Clára Ö"), None);
        assert_eq!(days_problem(0).as_deref(), Some("A link lives from 1 to 30 days."));
        assert_eq!(days_problem(30), None);
        assert!(days_problem(31).is_some());
    }
}
