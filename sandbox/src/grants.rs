//! Consent requests, authorization codes, grants and their access/refresh tokens.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use time::OffsetDateTime;

use crate::config::SandboxConfig;
use crate::ids;

/// TikTok does not document the code lifetime; ten minutes is the common OAuth choice.
pub const CODE_TTL: Duration = Duration::from_secs(600);
/// How long the consent page may stay open before the person must start again from the app.
pub const CONSENT_TTL: Duration = Duration::from_secs(600);

/// The scopes the sandbox knows, with the wording of the consent screen.
pub const SCOPES: &[(&str, &str)] = &[
    ("user.info.basic", "Read your profile info (avatar, display name)"),
    ("user.info.profile", "Read your profile details (username, bio, verification)"),
    ("user.info.stats", "Read your follower, like and video counts"),
    ("video.list", "Read your public videos"),
    ("video.upload", "Share content to your inbox as drafts"),
    ("video.publish", "Post content directly to your account"),
];

/// Login Kit always grants this one.
pub const BASIC_SCOPE: &str = "user.info.basic";

/// An authorize request waiting for the person to decide on the consent page.
#[derive(Clone, Debug)]
pub struct ConsentRequest {
    pub redirect_uri: String,
    pub state: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
}

#[derive(Clone, Debug)]
pub struct AuthCode {
    pub redirect_uri: String,
    pub open_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Instant,
    pub used: bool,
}

/// One authorization of the app by one creator; every token hangs off a grant.
#[derive(Clone, Debug)]
pub struct Grant {
    pub id: u64,
    pub open_id: String,
    pub scopes: Vec<String>,
    pub created: OffsetDateTime,
    /// Fixed at first issuance: the newer doc counts the refresh lifetime from there.
    pub refresh_expires_at: Instant,
    pub revoked: bool,
}

impl Grant {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}

#[derive(Clone, Debug)]
struct AccessToken {
    grant_id: u64,
    expires_at: Instant,
}

#[derive(Clone, Debug)]
struct RefreshToken {
    grant_id: u64,
    used: bool,
    /// When it was first spent on a successful refresh.
    used_at: Option<OffsetDateTime>,
}

/// The token pair handed out by the token endpoint.
#[derive(Clone, Debug)]
pub struct IssuedTokens {
    pub access_token: String,
    pub refresh_token: String,
    pub open_id: String,
    pub scopes: Vec<String>,
    pub expires_in: u64,
    pub refresh_expires_in: u64,
}

/// Why a code or refresh token was refused; all map to `invalid_grant`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantError {
    Unknown,
    AlreadyUsed,
    Expired,
    Revoked,
}

impl GrantError {
    pub fn description(self, what: &str) -> String {
        match self {
            Self::Unknown => format!("The {what} is invalid."),
            Self::AlreadyUsed => format!("The {what} has already been used."),
            Self::Expired => format!("The {what} has expired."),
            Self::Revoked => format!("The {what} was revoked."),
        }
    }
}

#[derive(Default)]
pub struct Grants {
    consent_requests: HashMap<String, ConsentRequest>,
    codes: HashMap<String, AuthCode>,
    grants: HashMap<u64, Grant>,
    next_grant_id: u64,
    access_tokens: HashMap<String, AccessToken>,
    refresh_tokens: HashMap<String, RefreshToken>,
}

impl Grants {
    pub fn open_consent(&mut self, request: ConsentRequest, now: Instant) -> String {
        self.consent_requests.retain(|_, pending| pending.expires_at > now);
        let id = ids::consent_request_id();
        self.consent_requests.insert(id.clone(), request);
        id
    }

    /// Removes the request: a consent page is answered once.
    pub fn take_consent(&mut self, id: &str, now: Instant) -> Option<ConsentRequest> {
        self.consent_requests.remove(id).filter(|request| request.expires_at > now)
    }

    pub fn issue_code(&mut self, code: AuthCode, now: Instant) -> String {
        self.codes.retain(|_, existing| existing.expires_at > now);
        let value = ids::authorization_code();
        self.codes.insert(value.clone(), code);
        value
    }

    /// Looks a code up without spending it, so a redirect_uri mismatch can be reported first.
    pub fn code(&self, code: &str, now: Instant) -> Result<&AuthCode, GrantError> {
        let found = self.codes.get(code).ok_or(GrantError::Unknown)?;
        if found.used {
            Err(GrantError::AlreadyUsed)
        } else if found.expires_at <= now {
            Err(GrantError::Expired)
        } else {
            Ok(found)
        }
    }

    /// Spends a code (kept, marked used, so a replay gets a precise message) and opens a grant.
    pub fn redeem_code(
        &mut self,
        code: &str,
        now: Instant,
        config: &SandboxConfig,
    ) -> Result<IssuedTokens, GrantError> {
        let found = self.code(code, now)?.clone();
        if let Some(stored) = self.codes.get_mut(code) {
            stored.used = true;
        }
        self.next_grant_id += 1;
        let grant = Grant {
            id: self.next_grant_id,
            open_id: found.open_id,
            scopes: found.scopes,
            created: OffsetDateTime::now_utc(),
            refresh_expires_at: now + config.refresh_token_ttl,
            revoked: false,
        };
        let grant_id = grant.id;
        self.grants.insert(grant_id, grant);
        Ok(self.issue_tokens(grant_id, now, config))
    }

    pub fn refresh(
        &mut self,
        refresh_token: &str,
        now: Instant,
        config: &SandboxConfig,
    ) -> Result<IssuedTokens, GrantError> {
        let stored = self.refresh_tokens.get(refresh_token).ok_or(GrantError::Unknown)?;
        let grant = self.grants.get(&stored.grant_id).ok_or(GrantError::Unknown)?;
        if grant.revoked {
            return Err(GrantError::Revoked);
        }
        if grant.refresh_expires_at <= now {
            return Err(GrantError::Expired);
        }
        if stored.used && config.strict_rotation {
            return Err(GrantError::AlreadyUsed);
        }
        let grant_id = stored.grant_id;
        if let Some(stored) = self.refresh_tokens.get_mut(refresh_token) {
            stored.used = true;
            stored.used_at.get_or_insert_with(OffsetDateTime::now_utc);
        }
        Ok(self.issue_tokens(grant_id, now, config))
    }

    fn issue_tokens(&mut self, grant_id: u64, now: Instant, config: &SandboxConfig) -> IssuedTokens {
        // Forget dead access tokens so a long run does not accumulate them.
        self.access_tokens.retain(|_, token| token.expires_at > now);
        let grant = &self.grants[&grant_id];
        let access_token = ids::access_token();
        let refresh_token = ids::refresh_token();
        self.access_tokens
            .insert(access_token.clone(), AccessToken { grant_id, expires_at: now + config.access_token_ttl });
        self.refresh_tokens.insert(refresh_token.clone(), RefreshToken { grant_id, used: false, used_at: None });
        IssuedTokens {
            access_token,
            refresh_token,
            open_id: grant.open_id.clone(),
            scopes: grant.scopes.clone(),
            expires_in: config.access_token_ttl.as_secs(),
            refresh_expires_in: grant.refresh_expires_at.saturating_duration_since(now).as_secs(),
        }
    }

    /// When `refresh_token` was first spent on a successful refresh, if it was.
    pub fn refresh_token_used_at(&self, refresh_token: &str) -> Option<OffsetDateTime> {
        self.refresh_tokens.get(refresh_token)?.used_at
    }

    /// The live grant behind an access token: known, unexpired, not revoked.
    pub fn grant_for_access_token(&self, access_token: &str, now: Instant) -> Option<&Grant> {
        let token = self.access_tokens.get(access_token).filter(|token| token.expires_at > now)?;
        self.grants.get(&token.grant_id).filter(|grant| !grant.revoked)
    }

    /// Revokes the grant behind a live access token; returns the creator it belonged to.
    pub fn revoke_by_access_token(&mut self, access_token: &str, now: Instant) -> Option<String> {
        let grant_id = self.grant_for_access_token(access_token, now)?.id;
        let grant = self.grants.get_mut(&grant_id)?;
        grant.revoked = true;
        Some(grant.open_id.clone())
    }

    /// Revokes every live grant of a creator; true if there was one.
    pub fn revoke_creator(&mut self, open_id: &str) -> bool {
        let mut any = false;
        for grant in self.grants.values_mut().filter(|grant| grant.open_id == open_id && !grant.revoked) {
            grant.revoked = true;
            any = true;
        }
        any
    }

    /// The saved form of every grant and token (consent pages and codes are short-lived and
    /// not kept; see `persistence`).
    pub fn to_saved(&self, clock: crate::persistence::Clock) -> crate::persistence::SavedGrants {
        use crate::persistence::{SavedAccessToken, SavedGrant, SavedGrants, SavedRefreshToken};
        let ms = |at: OffsetDateTime| i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
        let mut grants: Vec<SavedGrant> = self
            .grants
            .values()
            .map(|grant| SavedGrant {
                id: grant.id,
                open_id: grant.open_id.clone(),
                scopes: grant.scopes.clone(),
                created_ms: ms(grant.created),
                refresh_expires_ms: clock.to_ms(grant.refresh_expires_at),
                revoked: grant.revoked,
            })
            .collect();
        grants.sort_by_key(|grant| grant.id);
        SavedGrants {
            next_grant_id: self.next_grant_id,
            grants,
            access_tokens: self
                .access_tokens
                .iter()
                .map(|(token, stored)| SavedAccessToken {
                    token: token.clone(),
                    grant_id: stored.grant_id,
                    expires_ms: clock.to_ms(stored.expires_at),
                })
                .collect(),
            refresh_tokens: self
                .refresh_tokens
                .iter()
                .map(|(token, stored)| SavedRefreshToken {
                    token: token.clone(),
                    grant_id: stored.grant_id,
                    used: stored.used,
                    used_at_ms: stored.used_at.map(ms),
                })
                .collect(),
        }
    }

    /// Grants and tokens as saved by [`Grants::to_saved`].
    pub fn from_saved(saved: crate::persistence::SavedGrants, clock: crate::persistence::Clock) -> Self {
        let datetime = |ms: i64| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH)
        };
        Self {
            consent_requests: HashMap::new(),
            codes: HashMap::new(),
            grants: saved
                .grants
                .into_iter()
                .map(|grant| {
                    let restored = Grant {
                        id: grant.id,
                        open_id: grant.open_id,
                        scopes: grant.scopes,
                        created: datetime(grant.created_ms),
                        refresh_expires_at: clock.to_instant(grant.refresh_expires_ms),
                        revoked: grant.revoked,
                    };
                    (restored.id, restored)
                })
                .collect(),
            next_grant_id: saved.next_grant_id,
            access_tokens: saved
                .access_tokens
                .into_iter()
                .map(|token| {
                    (token.token, AccessToken { grant_id: token.grant_id, expires_at: clock.to_instant(token.expires_ms) })
                })
                .collect(),
            refresh_tokens: saved
                .refresh_tokens
                .into_iter()
                .map(|token| {
                    let stored =
                        RefreshToken { grant_id: token.grant_id, used: token.used, used_at: token.used_at_ms.map(datetime) };
                    (token.token, stored)
                })
                .collect(),
        }
    }

    /// Unrevoked grants whose refresh window is still open, oldest first.
    pub fn active(&self, now: Instant) -> Vec<Grant> {
        let mut active: Vec<Grant> =
            self.grants.values().filter(|grant| !grant.revoked && grant.refresh_expires_at > now).cloned().collect();
        active.sort_by_key(|grant| grant.id);
        active
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code_for(grants: &mut Grants, now: Instant) -> String {
        grants.issue_code(
            AuthCode {
                redirect_uri: "https://app.example/callback/".to_owned(),
                open_id: "_000creator".to_owned(),
                scopes: vec![BASIC_SCOPE.to_owned()],
                expires_at: now + CODE_TTL,
                used: false,
            },
            now,
        )
    }

    #[test]
    fn a_code_opens_one_grant_only() {
        let config = SandboxConfig::default();
        let now = Instant::now();
        let mut grants = Grants::default();
        let code = code_for(&mut grants, now);
        let tokens = grants.redeem_code(&code, now, &config).unwrap();
        assert_eq!(tokens.expires_in, 7200);
        assert_eq!(tokens.refresh_expires_in, 15_552_000);
        assert_eq!(grants.redeem_code(&code, now, &config).unwrap_err(), GrantError::AlreadyUsed);
        assert_eq!(grants.redeem_code("nope", now, &config).unwrap_err(), GrantError::Unknown);
    }

    #[test]
    fn codes_expire() {
        let config = SandboxConfig::default();
        let now = Instant::now();
        let mut grants = Grants::default();
        let code = code_for(&mut grants, now);
        let later = now + CODE_TTL + Duration::from_secs(1);
        assert_eq!(grants.redeem_code(&code, later, &config).unwrap_err(), GrantError::Expired);
    }

    #[test]
    fn lenient_rotation_keeps_the_old_refresh_token_alive() {
        let config = SandboxConfig { strict_rotation: false, ..SandboxConfig::default() };
        let now = Instant::now();
        let mut grants = Grants::default();
        let code = code_for(&mut grants, now);
        let first = grants.redeem_code(&code, now, &config).unwrap();
        assert_eq!(grants.refresh_token_used_at(&first.refresh_token), None);
        let second = grants.refresh(&first.refresh_token, now, &config).unwrap();
        assert_ne!(second.refresh_token, first.refresh_token);
        let used_at = grants.refresh_token_used_at(&first.refresh_token).expect("spent");
        assert!(grants.refresh(&first.refresh_token, now, &config).is_ok());
        assert_eq!(grants.refresh_token_used_at(&first.refresh_token), Some(used_at), "the first use is kept");
    }

    #[test]
    fn the_refresh_window_is_counted_from_first_issuance() {
        let config = SandboxConfig::default();
        let now = Instant::now();
        let mut grants = Grants::default();
        let code = code_for(&mut grants, now);
        let first = grants.redeem_code(&code, now, &config).unwrap();
        let later = now + Duration::from_secs(1000);
        let second = grants.refresh(&first.refresh_token, later, &config).unwrap();
        assert_eq!(second.refresh_expires_in, 15_552_000 - 1000);
        let expired = now + config.refresh_token_ttl;
        assert_eq!(grants.refresh(&second.refresh_token, expired, &config).unwrap_err(), GrantError::Expired);
    }

    #[test]
    fn access_tokens_expire_and_die_with_their_grant() {
        let config = SandboxConfig::default();
        let now = Instant::now();
        let mut grants = Grants::default();
        let code = code_for(&mut grants, now);
        let tokens = grants.redeem_code(&code, now, &config).unwrap();
        assert!(grants.grant_for_access_token(&tokens.access_token, now).is_some());
        let expired = now + config.access_token_ttl;
        assert!(grants.grant_for_access_token(&tokens.access_token, expired).is_none());
        assert!(grants.revoke_creator("_000creator"));
        assert!(grants.grant_for_access_token(&tokens.access_token, now).is_none());
        assert_eq!(grants.refresh(&tokens.refresh_token, now, &config).unwrap_err(), GrantError::Revoked);
        assert!(!grants.revoke_creator("_000creator"), "nothing left to revoke");
    }
}
