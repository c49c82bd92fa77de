//! A connected account as the browser sees it: never a token, only what a person needs.

use crate::tiktok::types::CreatorInfo;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

/// Whether Cadence can act for the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountStatus {
    Active,
    /// TikTok refused the refresh token; a person must reconnect. Nothing was deleted.
    NeedsReconnect,
    /// Tokens deleted (disconnected here or access removed on TikTok); history is kept.
    Disconnected,
}

impl AccountStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Disconnected => "disconnected",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        [Self::Active, Self::NeedsReconnect, Self::Disconnected].into_iter().find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Active => "Connected",
            Self::NeedsReconnect => "Needs reconnecting",
            Self::Disconnected => "Disconnected",
        }
    }
}

/// One TikTok account of the team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountView {
    pub id: Uuid,
    pub display_name: String,
    pub username: Option<String>,
    pub avatar_url: Option<String>,
    pub status: AccountStatus,
    /// Why the account needs attention, in words a person understands.
    pub status_reason: Option<String>,
    pub scopes: Vec<String>,
    pub access_expires_at: Option<OffsetDateTime>,
    pub last_refreshed_at: Option<OffsetDateTime>,
    pub creator_info: Option<CreatorInfo>,
    pub creator_info_at: Option<OffsetDateTime>,
    pub connected_at: OffsetDateTime,
}

impl AccountView {
    /// Scopes Cadence asked for that the creator did not grant.
    pub fn missing_scopes(&self) -> Vec<&'static str> {
        ["video.publish", "video.upload"]
            .into_iter()
            .filter(|scope| !self.scopes.iter().any(|granted| granted == scope))
            .collect()
    }
}

/// Why a connection attempt ended without an account, as a key carried in the redirect to
/// `/accounts` (so no text from the URL is ever shown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectProblem {
    /// The state was unknown, used, expired, or belonged to another browser.
    State,
    /// The person declined on TikTok.
    Denied,
    /// The account is live in another Cadence team.
    Taken,
    /// TikTok did not complete the exchange.
    TikTok,
    /// Cadence's database was unreachable.
    Unavailable,
}

impl ConnectProblem {
    pub fn key(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Denied => "denied",
            Self::Taken => "taken",
            Self::TikTok => "tiktok",
            Self::Unavailable => "unavailable",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        [Self::State, Self::Denied, Self::Taken, Self::TikTok, Self::Unavailable].into_iter().find(|p| p.key() == key)
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::State => "That connection attempt expired, was already used or was started in another browser. Start again with Connect TikTok.",
            Self::Denied => "TikTok access was not granted, so no account was connected.",
            Self::Taken => "This TikTok account is already connected to another Cadence team. Disconnect it there first.",
            Self::TikTok => "TikTok did not complete the connection. Please try again in a moment.",
            Self::Unavailable => "Cadence was briefly unavailable, so the connection was not saved. Please try again.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_problems_round_trip_through_their_keys() {
        for status in [AccountStatus::Active, AccountStatus::NeedsReconnect, AccountStatus::Disconnected] {
            assert_eq!(AccountStatus::parse(status.as_str()), Some(status));
        }
        for problem in [ConnectProblem::State, ConnectProblem::Denied, ConnectProblem::Taken, ConnectProblem::TikTok, ConnectProblem::Unavailable] {
            assert_eq!(ConnectProblem::from_key(problem.key()), Some(problem));
        }
        assert_eq!(ConnectProblem::from_key("<script>"), None);
    }
}
