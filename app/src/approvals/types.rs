//! Where a post stands with its approvers, as the browser sees it.

use serde::{Deserialize, Serialize};

/// A post's approval. `None` when its team did not need approval when it was composed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    None,
    /// Waiting for an approver: new, or changed since it was approved.
    Pending,
    Approved,
    /// An approver asked for changes (their comment is in the post's thread).
    ChangesRequested,
}

impl Approval {
    pub const ALL: [Self; 4] = [Self::None, Self::Pending, Self::Approved, Self::ChangesRequested];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::ChangesRequested => "changes_requested",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::None => "No approval needed",
            Self::Pending => "Waiting for approval",
            Self::Approved => "Approved",
            Self::ChangesRequested => "Changes requested",
        }
    }

    /// Whether a team that needs approval would hold the post back.
    pub fn holds_back(self) -> bool {
        self != Self::Approved
    }
}

/// The approval part of a post's page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalPanel {
    /// The team needs approval before posts go out.
    pub required: bool,
    /// The reader may approve or ask for changes.
    pub may_approve: bool,
    /// The fingerprint of the post as the reader sees it: an approval names it, so an edit made
    /// meanwhile is never approved unseen.
    pub fingerprint: String,
}

/// Whether a member with `role` and the stored right `explicit` may approve: the stored right
/// when set, else owners and admins; viewers never.
pub fn may_approve(role: crate::teams::types::Role, explicit: Option<bool>) -> bool {
    use crate::teams::types::Role;
    role != Role::Viewer && explicit.unwrap_or(role >= Role::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teams::types::Role;

    #[test]
    fn owners_and_admins_approve_by_default_editors_when_granted_and_viewers_never() {
        assert!(may_approve(Role::Owner, None) && may_approve(Role::Admin, None));
        assert!(!may_approve(Role::Editor, None) && may_approve(Role::Editor, Some(true)));
        assert!(!may_approve(Role::Admin, Some(false)), "an admin's right can be taken away");
        assert!(!may_approve(Role::Viewer, Some(true)), "a viewer never approves, whatever is stored");
    }

    #[test]
    fn approvals_round_trip_and_only_an_approval_lets_a_post_go() {
        for approval in Approval::ALL {
            assert_eq!(Approval::parse(approval.as_str()), Some(approval));
        }
        assert_eq!(Approval::ALL.into_iter().filter(|a| !a.holds_back()).collect::<Vec<_>>(), [Approval::Approved]);
    }
}
