//! Roles, members and invites as the browser sees them.

use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};
use time::OffsetDateTime;
use uuid::Uuid;

/// What a member may do. Ordered: each role can do everything the roles below it can.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Looks at accounts, posts and the calendar, and comments on posts; changes nothing else.
    Viewer,
    /// Composes, schedules and publishes posts; connects TikTok accounts.
    Editor,
    /// Everything an editor does, plus invites, role changes and removals (not of owners).
    Admin,
    /// Everything, including managing other owners.
    Owner,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Admin, Role::Editor, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Editor => "editor",
            Role::Admin => "admin",
            Role::Owner => "owner",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Viewer => "Viewer",
            Role::Editor => "Editor",
            Role::Admin => "Admin",
            Role::Owner => "Owner",
        }
    }

    /// Admins and owners manage members and invites.
    pub fn manages_members(self) -> bool {
        self >= Role::Admin
    }

    /// Whether a member with this role may give `target` to someone (or take it away):
    /// only owners touch the owner role.
    pub fn may_assign(self, target: Role) -> bool {
        self.manages_members() && (target < Role::Owner || self == Role::Owner)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == value)
            .ok_or_else(|| format!("{value:?} is not a role"))
    }
}

/// A team as listed in the switcher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub id: Uuid,
    pub name: String,
}

/// One member of the current team.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: Uuid,
    pub display_name: String,
    pub email: String,
    pub role: Role,
    pub joined_at: OffsetDateTime,
    /// May approve posts (see `approvals::types::may_approve`).
    pub can_approve: bool,
}

/// An open invite link (the token is shown only once, when created).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InviteView {
    pub id: Uuid,
    pub role: Role,
    pub created_by: String,
    pub expires_at: OffsetDateTime,
}

/// A freshly created invite, including the link to hand out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedInvite {
    pub invite: InviteView,
    /// Path of the join page, e.g. `/invite/AbC…`; the token is not stored, only its hash.
    pub path: String,
}

/// What the join page shows about an invite before it is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitePreview {
    pub team_name: String,
    pub role: Role,
    pub invited_by: String,
    pub expires_at: OffsetDateTime,
}

/// Trims a team name and checks it is 1–80 characters.
pub fn normalize_team_name(name: &str) -> Result<String, String> {
    if let Some(problem) = crate::text::control_character_problem(name, false) {
        return Err(problem);
    }
    let name = name.trim();
    match name.chars().count() {
        0 => Err("Enter a team name.".into()),
        1..=80 => Ok(name.to_owned()),
        _ => Err("Use at most 80 characters.".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered_by_power() {
        assert!(Role::Owner > Role::Admin && Role::Admin > Role::Editor && Role::Editor > Role::Viewer);
        assert!(Role::Admin.manages_members() && !Role::Editor.manages_members());
    }

    #[test]
    fn only_owners_assign_the_owner_role() {
        assert!(Role::Owner.may_assign(Role::Owner));
        assert!(!Role::Admin.may_assign(Role::Owner));
        assert!(Role::Admin.may_assign(Role::Admin));
        assert!(!Role::Editor.may_assign(Role::Viewer));
    }

    #[test]
    fn team_names_refuse_control_characters() {
        assert_eq!(normalize_team_name("  Studio ").unwrap(), "Studio");
        assert!(normalize_team_name("Stu\0dio").unwrap_err().contains("U+0000"));
    }

    #[test]
    fn roles_round_trip_as_text() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>().unwrap(), role);
            assert_eq!(serde_json::to_string(&role).unwrap(), format!("\"{role}\""));
        }
        assert!("root".parse::<Role>().is_err());
    }
}

/// What those who manage a team see besides its members: open invites and storage use.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamAdministration {
    pub invites: Vec<InviteView>,
    pub storage: MediaUsage,
    /// Posts need an approver's approval before they go out.
    pub approval_required: bool,
}

/// How much of the team's storage for scheduled videos is in use (`CADENCE_TEAM_MEDIA_QUOTA`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaUsage {
    pub used_bytes: u64,
    pub quota_bytes: u64,
}
