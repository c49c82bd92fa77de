//! Who may create an account, and how fast: the sign-up policy (`CADENCE_SIGNUP`) and the
//! per-address sign-up limit, both decided before any password is hashed.
//!
//! An open sign-up lets anyone create teams and connect their own TikTok accounts through the
//! operator's TikTok app (its quotas, the operator's name on their posts), so once the first team
//! exists the default is "by invitation only".

use crate::{
    auth::ssr::{LimitKind, address_group, begin_login_attempt},
    config::LoginLimits,
    db::schema::teams,
    error::{AppError, AppResult},
};
use diesel::{dsl::exists, prelude::*};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::net::IpAddr;
use time::OffsetDateTime;

/// `CADENCE_SIGNUP`: who may create an account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignupPolicy {
    /// Anyone.
    Open,
    /// Only someone holding an invite link.
    Invite,
    /// Nobody (accounts exist already; people join teams with the accounts they have).
    Closed,
}

impl SignupPolicy {
    /// Reads the setting; `None` (unset) means open until the first team exists, then invite.
    pub fn parse(value: Option<&str>) -> Result<Option<Self>, String> {
        match value {
            None | Some("") => Ok(None),
            Some("open") => Ok(Some(Self::Open)),
            Some("invite") => Ok(Some(Self::Invite)),
            Some("closed") => Ok(Some(Self::Closed)),
            Some(other) => Err(format!("unknown value {other:?}; expected open, invite or closed")),
        }
    }
}

/// Refuses a sign-up the policy or the address's limit does not allow, with a sentence. The
/// attempt is counted against the address whether or not the sign-up then succeeds.
pub async fn check_signup_allowed(
    conn: &mut AsyncPgConnection,
    policy: Option<SignupPolicy>,
    limits: &LoginLimits,
    has_invite: bool,
    ip: Option<IpAddr>,
    now: OffsetDateTime,
) -> AppResult<()> {
    let policy = match policy {
        Some(policy) => policy,
        None => {
            let any_team: bool = diesel::select(exists(teams::table.select(teams::id))).get_result(conn).await?;
            if any_team { SignupPolicy::Invite } else { SignupPolicy::Open }
        }
    };
    match policy {
        SignupPolicy::Closed => {
            return Err(AppError::Forbidden("This Cadence does not accept new accounts. Ask its operator.".into()));
        }
        SignupPolicy::Invite if !has_invite => {
            return Err(AppError::invalid(
                "invite",
                "Sign-up is by invitation only. Ask a team admin for an invite link and open it to sign up.",
            ));
        }
        _ => {}
    }
    if let Some(ip) = ip {
        let subjects = [(format!("signup:ip:{}", address_group(ip)), LimitKind::SignupFromAddress)];
        // The attempt stays recorded: it is the sign-up counted, not a failure to forgive.
        begin_login_attempt(conn, limits, &subjects, now).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_reads_three_words_and_defaults_to_automatic() {
        assert_eq!(SignupPolicy::parse(None), Ok(None));
        assert_eq!(SignupPolicy::parse(Some("")), Ok(None), "an empty variable is unset");
        assert_eq!(SignupPolicy::parse(Some("invite")), Ok(Some(SignupPolicy::Invite)));
        assert_eq!(SignupPolicy::parse(Some("closed")), Ok(Some(SignupPolicy::Closed)));
        assert!(SignupPolicy::parse(Some("first-only")).unwrap_err().contains("open, invite or closed"));
    }
}
