//! A notification as the browser sees it.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    PostFailed,
    PostUnconfirmed,
    AccountNeedsReconnect,
    /// A scheduled post's time came while it still waited for an approver.
    AwaitingApproval,
}

impl NotificationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostFailed => "post_failed",
            Self::PostUnconfirmed => "post_unconfirmed",
            Self::AccountNeedsReconnect => "account_needs_reconnect",
            Self::AwaitingApproval => "awaiting_approval",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::PostFailed, Self::PostUnconfirmed, Self::AccountNeedsReconnect, Self::AwaitingApproval]
            .into_iter()
            .find(|k| k.as_str() == value)
    }

    pub fn title(self) -> &'static str {
        match self {
            Self::PostFailed => "A post failed",
            Self::PostUnconfirmed => "A post needs checking",
            Self::AccountNeedsReconnect => "An account needs reconnecting",
            Self::AwaitingApproval => "A post waits for approval",
        }
    }
}

/// One open notification.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotificationView {
    pub id: i64,
    pub kind: NotificationKind,
    pub message: String,
    pub post_id: Option<Uuid>,
    pub account_id: Option<Uuid>,
    pub created_at: OffsetDateTime,
}

impl NotificationView {
    /// Where the person goes to act on it.
    pub fn link(&self) -> String {
        match (self.post_id, self.kind) {
            (Some(post), _) => format!("/posts/{post}"),
            (None, _) => "/accounts".to_owned(),
        }
    }
}

/// Which e-mails a member gets from their current team.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPreferences {
    pub post_failed: bool,
    pub post_unconfirmed: bool,
    pub account_reconnect: bool,
    /// A TikTok grant ends within two weeks, and again within three days.
    pub grant_ending: bool,
    pub daily_digest: bool,
    /// A post waits for the member's approval (approvers only).
    pub approval_requested: bool,
    /// An approver approved the member's post or asked for changes.
    pub approval_answered: bool,
}

impl Default for EmailPreferences {
    /// Everything that needs a person, and no digest until they ask for one.
    fn default() -> Self {
        Self {
            post_failed: true,
            post_unconfirmed: true,
            account_reconnect: true,
            grant_ending: true,
            daily_digest: false,
            approval_requested: true,
            approval_answered: true,
        }
    }
}

/// A member's e-mail choices, and whether this server sends e-mail at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettingsView {
    pub preferences: EmailPreferences,
    pub delivery_enabled: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in [NotificationKind::PostFailed, NotificationKind::PostUnconfirmed, NotificationKind::AccountNeedsReconnect] {
            assert_eq!(NotificationKind::parse(kind.as_str()), Some(kind));
        }
    }
}
