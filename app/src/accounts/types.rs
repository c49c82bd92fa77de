//! A connected account as the browser sees it: never a token, only what a person needs.

use crate::tiktok::{scopes::Allows, types::CreatorInfo};
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
    /// When TikTok ends the grant for good: the refresh token lives a fixed time (180 or 365
    /// days) from the first issue, and renewing does not extend it.
    pub refresh_expires_at: Option<OffsetDateTime>,
    /// Set when that end is near, judged on the server's clock when the view was made.
    pub grant_end: Option<GrantEnd>,
    pub last_refreshed_at: Option<OffsetDateTime>,
    pub creator_info: Option<CreatorInfo>,
    pub creator_info_at: Option<OffsetDateTime>,
    pub connected_at: OffsetDateTime,
}

/// First warning that a connection is about to end for good.
pub const RECONNECT_SOON: time::Duration = time::Duration::days(14);
/// Second, urgent warning.
pub const RECONNECT_URGENT: time::Duration = time::Duration::days(3);

/// How close an account's grant is to its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GrantEnd {
    /// Within two weeks.
    Soon(OffsetDateTime),
    /// Within three days.
    Urgent(OffsetDateTime),
}

impl GrantEnd {
    pub fn at(self) -> OffsetDateTime {
        match self {
            Self::Soon(at) | Self::Urgent(at) => at,
        }
    }
}

impl AccountView {
    /// What the granted scopes let Cadence do for this account.
    pub fn allows(&self) -> Allows {
        Allows::from_granted(&self.scopes)
    }

    /// Whether TikTok ends this connection within two weeks (or three days) of `now`; only
    /// for connected accounts, since the others need reconnecting anyway.
    pub fn grant_end_at(&self, now: OffsetDateTime) -> Option<GrantEnd> {
        let at = self.refresh_expires_at.filter(|_| self.status == AccountStatus::Active)?;
        if at - now <= RECONNECT_URGENT {
            Some(GrantEnd::Urgent(at))
        } else if at - now <= RECONNECT_SOON {
            Some(GrantEnd::Soon(at))
        } else {
            None
        }
    }
}

/// Why a connection attempt ended without an account, as a key carried in the redirect to
/// `/accounts` (so no text from the URL is ever shown; TikTok's own description is logged).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectProblem {
    /// The state was unknown, used, expired, or belonged to another browser.
    State,
    /// The person declined on TikTok (`access_denied`).
    Denied,
    /// TikTok refused the requested scopes (`invalid_scope`): the app is not approved for one.
    ScopeNotApproved,
    /// TikTok refused the request itself (client key, redirect URI, response type).
    AppRejected,
    /// Both posting permissions were unticked, so the account could not post at all.
    NoPostingScope,
    /// The account is live in another Cadence team.
    Taken,
    /// TikTok did not complete the exchange.
    TikTok,
    /// Cadence's database was unreachable.
    Unavailable,
}

impl ConnectProblem {
    const ALL: [Self; 8] = [
        Self::State,
        Self::Denied,
        Self::ScopeNotApproved,
        Self::AppRejected,
        Self::NoPostingScope,
        Self::Taken,
        Self::TikTok,
        Self::Unavailable,
    ];

    pub fn key(self) -> &'static str {
        match self {
            Self::State => "state",
            Self::Denied => "denied",
            Self::ScopeNotApproved => "scope",
            Self::AppRejected => "app",
            Self::NoPostingScope => "no_posting_scope",
            Self::Taken => "taken",
            Self::TikTok => "tiktok",
            Self::Unavailable => "unavailable",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.key() == key)
    }

    /// The problem behind an `error` value on TikTok's redirect (tiktok-api.md §2.3, §2.7).
    pub fn from_oauth_error(error: &str) -> Self {
        match error {
            "access_denied" => Self::Denied,
            "invalid_scope" => Self::ScopeNotApproved,
            "invalid_client" | "unauthorized_client" | "invalid_request" | "unsupported_response_type" => Self::AppRejected,
            // server_error, temporarily_unavailable and anything TikTok adds later.
            _ => Self::TikTok,
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::State => "That connection attempt expired, was already used or was started in another browser. Start again with Connect TikTok.",
            Self::Denied => "TikTok access was not granted, so no account was connected.",
            Self::ScopeNotApproved => "TikTok refused the permissions Cadence asked for: the TikTok app is not approved for one of them. Whoever runs Cadence should set CADENCE_TIKTOK_SCOPES to the scopes approved in TikTok's developer portal.",
            Self::AppRejected => "TikTok refused the connection request: the TikTok app's client key or registered redirect URI does not match Cadence's settings. Whoever runs Cadence should check CADENCE_TIKTOK_CLIENT_KEY and that Cadence's callback URL is registered in TikTok's developer portal.",
            Self::NoPostingScope => "Both posting permissions were unticked on TikTok, so Cadence could not post to this account. Connect again and keep \"post directly\" or \"send drafts\" ticked.",
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
        for problem in ConnectProblem::ALL {
            assert_eq!(ConnectProblem::from_key(problem.key()), Some(problem));
        }
        assert_eq!(ConnectProblem::from_key("<script>"), None);
    }

    #[test]
    fn grants_warn_two_weeks_and_three_days_before_they_end() {
        let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
        let account = |ends_in: time::Duration, status: AccountStatus| AccountView {
            id: Uuid::nil(),
            display_name: "Maya".into(),
            username: None,
            avatar_url: None,
            status,
            status_reason: None,
            scopes: vec![],
            access_expires_at: None,
            refresh_expires_at: Some(now + ends_in),
            grant_end: None,
            last_refreshed_at: None,
            creator_info: None,
            creator_info_at: None,
            connected_at: now,
        };
        assert_eq!(account(time::Duration::days(30), AccountStatus::Active).grant_end_at(now), None);
        assert_eq!(account(time::Duration::days(14), AccountStatus::Active).grant_end_at(now), Some(GrantEnd::Soon(now + time::Duration::days(14))));
        assert_eq!(account(time::Duration::days(3), AccountStatus::Active).grant_end_at(now), Some(GrantEnd::Urgent(now + time::Duration::days(3))));
        assert!(matches!(account(-time::Duration::days(1), AccountStatus::Active).grant_end_at(now), Some(GrantEnd::Urgent(_))));
        assert_eq!(account(time::Duration::days(2), AccountStatus::NeedsReconnect).grant_end_at(now), None);
    }

    #[test]
    fn tiktok_refusals_become_sentences_that_say_what_to_do() {
        assert_eq!(ConnectProblem::from_oauth_error("access_denied"), ConnectProblem::Denied);
        assert_eq!(ConnectProblem::from_oauth_error("invalid_scope"), ConnectProblem::ScopeNotApproved);
        assert!(ConnectProblem::ScopeNotApproved.message().contains("CADENCE_TIKTOK_SCOPES"));
        assert_eq!(ConnectProblem::from_oauth_error("invalid_client"), ConnectProblem::AppRejected);
        assert!(ConnectProblem::AppRejected.message().contains("redirect URI"));
        assert_eq!(ConnectProblem::from_oauth_error("server_error"), ConnectProblem::TikTok);
        assert_eq!(ConnectProblem::from_oauth_error("something_new"), ConnectProblem::TikTok);
    }
}
