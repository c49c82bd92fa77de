//! Server side of teams: membership rows, the caller check, invites.
//!
//! [`require_role`] is the front door of every server function that touches team data: it reads
//! the session, loads the caller's membership in the current team fresh from the database (so a
//! role change or removal takes effect on the next request) and checks the role.

use crate::{
    auth::{live::LiveAccount, ssr::SESSION_TEAM_ID},
    crypto::{random_token, sha256_hex},
    db::schema::{invites, memberships, teams, users},
    error::{AppError, AppResult},
    state::session,
    teams::types::{InvitePreview, InviteView, MemberView, Role, TeamView},
};
use crate::audit::{ssr::Change, types::Subject};
use diesel::prelude::*;
use serde_json::json;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

/// How long an invite link stays valid.
pub const INVITE_LIFETIME: Duration = Duration::days(7);

/// Who is calling, in which team, with which role — proven, not claimed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    pub user_id: Uuid,
    pub team_id: Uuid,
    pub role: Role,
}

impl Caller {
    /// Refuses with a sentence naming the role the action needs.
    pub fn require(&self, min: Role) -> AppResult<()> {
        if self.role >= min {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "This needs the {} role or higher; you are a {} in this team.",
                min.label().to_lowercase(),
                self.role.label().to_lowercase()
            )))
        }
    }
}

/// The logged-in caller with at least `min` in their current team, or the reason they are not.
pub async fn require_role(conn: &mut AsyncPgConnection, min: Role) -> AppResult<Caller> {
    let caller = current_caller(conn).await?.ok_or(AppError::Unauthorized)?;
    caller.require(min)?;
    Ok(caller)
}

/// The caller, if logged in. When the session's team no longer has them as a member (they were
/// removed), their oldest remaining membership is used instead.
pub async fn current_caller(conn: &mut AsyncPgConnection) -> AppResult<Option<Caller>> {
    caller_of_session(conn, &session().await?).await
}

/// [`current_caller`] for a request outside Leptos (a plain axum route), given its session.
pub async fn caller_of_session(conn: &mut AsyncPgConnection, session: &tower_sessions::Session) -> AppResult<Option<Caller>> {
    let Some(user_id) = crate::auth::ssr::session_user_id(conn, session).await? else {
        return Ok(None);
    };
    let session_team = session.get::<Uuid>(SESSION_TEAM_ID).await?;
    // The memberships read with the session when it came from the store and lists the
    // session's team; asked for otherwise (a team joined or created in this request).
    let live = LiveAccount::of(session).await?.filter(|account| account.user.id == user_id);
    let teams = match live.map(|account| account.teams()).transpose()? {
        Some(teams) if session_team.is_none_or(|id| teams.iter().any(|(team, _)| team.id == id)) => teams,
        _ => teams_of(conn, user_id).await?,
    };
    let current = teams.iter().find(|(team, _)| Some(team.id) == session_team).or_else(|| teams.iter().next());
    match current {
        Some((team, role)) => Ok(Some(Caller { user_id, team_id: team.id, role: *role })),
        None => Err(AppError::Forbidden(
            "You are not a member of any team any more. Create a team or ask for an invite.".into(),
        )),
    }
}

/// The user's role in a team, if they are a member.
pub async fn role_in(conn: &mut AsyncPgConnection, team_id: Uuid, user_id: Uuid) -> AppResult<Option<Role>> {
    let role: Option<String> = memberships::table
        .find((team_id, user_id))
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?;
    role.map(|role| parse_role(&role)).transpose()
}

/// Every team of a user with their role, oldest membership first.
pub async fn teams_of(conn: &mut AsyncPgConnection, user_id: Uuid) -> AppResult<Vec<(TeamView, Role)>> {
    let rows: Vec<(Uuid, String, String)> = memberships::table
        .inner_join(teams::table)
        .filter(memberships::user_id.eq(user_id))
        .order((memberships::created_at.asc(), teams::name.asc()))
        .select((teams::id, teams::name, memberships::role))
        .load(conn)
        .await?;
    rows.into_iter()
        .map(|(id, name, role)| Ok((TeamView { id, name }, parse_role(&role)?)))
        .collect()
}

/// Creates a team and makes `owner` its owner, in the caller's transaction.
pub async fn create_team_with_owner(
    conn: &mut AsyncPgConnection,
    name: &str,
    owner: Uuid,
) -> AppResult<TeamView> {
    let id: Uuid = diesel::insert_into(teams::table)
        .values(teams::name.eq(name))
        .returning(teams::id)
        .get_result(conn)
        .await?;
    add_member(conn, id, owner, Role::Owner).await?;
    Ok(TeamView { id, name: name.to_owned() })
}

async fn add_member(conn: &mut AsyncPgConnection, team_id: Uuid, user_id: Uuid, role: Role) -> AppResult<()> {
    diesel::insert_into(memberships::table)
        .values((
            memberships::team_id.eq(team_id),
            memberships::user_id.eq(user_id),
            memberships::role.eq(role.as_str()),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// The members of a team, owners first.
pub async fn list_members(conn: &mut AsyncPgConnection, team_id: Uuid) -> AppResult<Vec<MemberView>> {
    let rows: Vec<(Uuid, String, String, String, OffsetDateTime, Option<bool>)> = memberships::table
        .inner_join(users::table)
        .filter(memberships::team_id.eq(team_id))
        .order((memberships::created_at.asc(), users::display_name.asc()))
        .select((users::id, users::display_name, users::email, memberships::role, memberships::created_at, memberships::can_approve))
        .load(conn)
        .await?;
    let mut members = rows
        .into_iter()
        .map(|(user_id, display_name, email, role, joined_at, explicit)| {
            let role = parse_role(&role)?;
            let can_approve = crate::approvals::types::may_approve(role, explicit);
            Ok(MemberView { user_id, display_name, email, role, joined_at, can_approve })
        })
        .collect::<AppResult<Vec<_>>>()?;
    members.sort_by_key(|member| std::cmp::Reverse(member.role));
    Ok(members)
}

/// Locks the team's owner memberships and counts them, so two concurrent demotions cannot
/// both see "another owner remains" and leave the team without one.
async fn lock_owner_count(conn: &mut AsyncPgConnection, team_id: Uuid) -> AppResult<usize> {
    let owners: Vec<Uuid> = memberships::table
        .filter(memberships::team_id.eq(team_id))
        .filter(memberships::role.eq(Role::Owner.as_str()))
        .select(memberships::user_id)
        .for_update()
        .load(conn)
        .await?;
    Ok(owners.len())
}

/// Changes `target`'s role in the caller's team, within a transaction.
pub async fn change_role(conn: &mut AsyncPgConnection, caller: Caller, target: Uuid, new_role: Role) -> AppResult<()> {
    conn.transaction(async |conn| {
        let owners = lock_owner_count(conn, caller.team_id).await?;
        let current = role_in(conn, caller.team_id, target)
            .await?
            .ok_or_else(|| AppError::NotFound("Member".into()))?;
        if !caller.role.may_assign(current) || !caller.role.may_assign(new_role) {
            return Err(AppError::Forbidden("Only owners can change an owner's role or make someone an owner.".into()));
        }
        if current == Role::Owner && new_role != Role::Owner && owners <= 1 {
            return Err(AppError::Conflict(
                "A team needs at least one owner. Make someone else an owner first.".into(),
            ));
        }
        diesel::update(memberships::table.find((caller.team_id, target)))
            .set(memberships::role.eq(new_role.as_str()))
            .execute(conn)
            .await?;
        let name = display_name(conn, target).await?;
        let change = Change::new(
            Subject::Member,
            target,
            "member.role_changed",
            format!("Changed {name}'s role from {} to {}.", current.label().to_lowercase(), new_role.label().to_lowercase()),
        )
        .values(Some(json!({ "role": current.as_str() })), Some(json!({ "role": new_role.as_str() })));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok(())
    })
    .await
}

/// Removes `target` from the caller's team. Anyone may remove themselves (leave); removing
/// others needs a role that may assign theirs.
pub async fn remove_member(conn: &mut AsyncPgConnection, caller: Caller, target: Uuid) -> AppResult<()> {
    conn.transaction(async |conn| {
        let owners = lock_owner_count(conn, caller.team_id).await?;
        let current = role_in(conn, caller.team_id, target)
            .await?
            .ok_or_else(|| AppError::NotFound("Member".into()))?;
        if target != caller.user_id && !caller.role.may_assign(current) {
            return Err(AppError::Forbidden(if caller.role.manages_members() {
                "Only owners can remove an owner.".into()
            } else {
                "Only admins and owners can remove members.".into()
            }));
        }
        if current == Role::Owner && owners <= 1 {
            return Err(AppError::Conflict(
                "A team needs at least one owner. Make someone else an owner first.".into(),
            ));
        }
        diesel::delete(memberships::table.find((caller.team_id, target))).execute(conn).await?;
        let name = display_name(conn, target).await?;
        let change = if target == caller.user_id {
            Change::new(Subject::Member, target, "member.left", format!("{name} left the team."))
        } else {
            Change::new(Subject::Member, target, "member.removed", format!("Removed {name} from the team."))
        }
        .values(Some(json!({ "role": current.as_str() })), None);
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok(())
    })
    .await
}

/// A fresh invite token (shown once) and the hash that is stored.
pub fn new_invite_token() -> (String, String) {
    let token = random_token(24);
    let hash = hash_invite_token(&token);
    (token, hash)
}

/// The stored form of an invite token.
pub fn hash_invite_token(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

/// Creates a single-use invite into the caller's team; returns the view and the token.
pub async fn create_invite(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    role: Role,
    now: OffsetDateTime,
) -> AppResult<(InviteView, String)> {
    if role == Role::Owner {
        return Err(AppError::invalid(
            "role",
            "Invite as admin, editor or viewer; make someone an owner after they join.",
        ));
    }
    if !caller.role.may_assign(role) {
        return Err(AppError::Forbidden("Only admins and owners can invite people.".into()));
    }
    let (token, token_hash) = new_invite_token();
    let expires_at = now + INVITE_LIFETIME;
    conn.transaction(async |conn| {
        let id: Uuid = diesel::insert_into(invites::table)
            .values((
                invites::team_id.eq(caller.team_id),
                invites::token_hash.eq(&token_hash),
                invites::role.eq(role.as_str()),
                invites::created_by.eq(caller.user_id),
                invites::expires_at.eq(expires_at),
            ))
            .returning(invites::id)
            .get_result(conn)
            .await?;
        let change = Change::new(Subject::Invite, id, "invite.created", format!("Created an invite to join as {}.", role.label().to_lowercase()))
            .values(None, Some(json!({ "role": role.as_str() })));
        crate::audit::ssr::record(conn, caller, change).await?;
        let created_by = display_name(conn, caller.user_id).await?;
        Ok((InviteView { id, role, created_by, expires_at }, token))
    })
    .await
}

/// Creates an invite like [`create_invite`] and queues an e-mail with its link to `email`, in
/// one transaction. Refused where no SMTP server is set up, so nobody waits for an e-mail that
/// never comes.
pub async fn email_invite(
    conn: &mut AsyncPgConnection,
    caller: Caller,
    email: &str,
    role: Role,
    now: OffsetDateTime,
) -> AppResult<InviteView> {
    use crate::mail::{compose, outbox};
    let email = crate::auth::types::normalize_email(email).map_err(|message| AppError::invalid("email", message))?;
    if !outbox::delivery_enabled(conn).await? {
        return Err(AppError::Conflict(
            "This server does not send e-mail (no SMTP server is set up). Create an invite link and send it yourself.".into(),
        ));
    }
    conn.transaction(async |conn| {
        let (invite, token) = create_invite(conn, caller, role, now).await?;
        let team: String = teams::table.find(caller.team_id).select(teams::name).first(conn).await?;
        let (subject, body) = compose::invite(&team, &invite.created_by, &role.label().to_lowercase());
        let path = format!("/invite/{token}");
        let letter = compose::letter(outbox::EmailKind::Invite, &subject, &body, &path);
        outbox::enqueue_to(conn, caller.team_id, &email, &letter, None).await?;
        Ok::<_, AppError>(invite)
    })
    .await
}

/// Open (unused, unrevoked, unexpired) invites of a team, newest first. Takes the connection
/// shared, so the team page sends this with its other query (pipelined).
pub async fn list_open_invites(
    conn: &AsyncPgConnection,
    team_id: Uuid,
    now: OffsetDateTime,
) -> AppResult<Vec<InviteView>> {
    let rows: Vec<(Uuid, String, String, OffsetDateTime)> = invites::table
        .inner_join(users::table.on(users::id.eq(invites::created_by)))
        .filter(invites::team_id.eq(team_id))
        .filter(invites::used_at.is_null())
        .filter(invites::revoked_at.is_null())
        .filter(invites::expires_at.gt(now))
        .order(invites::created_at.desc())
        .select((invites::id, invites::role, users::display_name, invites::expires_at))
        .load(&mut &*conn)
        .await?;
    rows.into_iter()
        .map(|(id, role, created_by, expires_at)| {
            Ok(InviteView { id, role: parse_role(&role)?, created_by, expires_at })
        })
        .collect()
}

/// Revokes an open invite of the caller's team (another team's invite is "not found").
pub async fn revoke_invite(conn: &mut AsyncPgConnection, caller: Caller, invite_id: Uuid, now: OffsetDateTime) -> AppResult<()> {
    conn.transaction(async |conn| {
        let updated = diesel::update(
            invites::table
                .filter(invites::id.eq(invite_id))
                .filter(invites::team_id.eq(caller.team_id))
                .filter(invites::used_at.is_null())
                .filter(invites::revoked_at.is_null()),
        )
        .set(invites::revoked_at.eq(now))
        .execute(conn)
        .await?;
        if updated == 0 {
            return Err(AppError::NotFound("Open invite".into()));
        }
        crate::audit::ssr::record(conn, caller, Change::new(Subject::Invite, invite_id, "invite.revoked", "Revoked an invite link.")).await?;
        Ok(())
    })
    .await
}

const INVITE_UNUSABLE: &str =
    "This invite link is not valid any more: it was used, revoked or has expired. Ask for a new one.";

/// What an invite token leads to, if it is still usable.
pub async fn preview_invite(conn: &mut AsyncPgConnection, token: &str, now: OffsetDateTime) -> AppResult<InvitePreview> {
    let row: Option<(String, String, String, OffsetDateTime)> = invites::table
        .inner_join(teams::table)
        .inner_join(users::table.on(users::id.eq(invites::created_by)))
        .filter(invites::token_hash.eq(hash_invite_token(token)))
        .filter(invites::used_at.is_null())
        .filter(invites::revoked_at.is_null())
        .filter(invites::expires_at.gt(now))
        .select((teams::name, invites::role, users::display_name, invites::expires_at))
        .first(conn)
        .await
        .optional()?;
    let (team_name, role, invited_by, expires_at) =
        row.ok_or_else(|| AppError::invalid("invite", INVITE_UNUSABLE))?;
    Ok(InvitePreview { team_name, role: parse_role(&role)?, invited_by, expires_at })
}

/// Uses up an invite for `user_id` and adds them to its team, in one transaction. An existing
/// member keeps their role and the invite stays open for someone else.
pub async fn accept_invite(
    conn: &mut AsyncPgConnection,
    token: &str,
    user_id: Uuid,
    now: OffsetDateTime,
) -> AppResult<TeamView> {
    let token_hash = hash_invite_token(token);
    conn.transaction(async |conn| {
        let invite: Option<(Uuid, Uuid, String)> = invites::table
            .filter(invites::token_hash.eq(&token_hash))
            .filter(invites::used_at.is_null())
            .filter(invites::revoked_at.is_null())
            .filter(invites::expires_at.gt(now))
            .select((invites::id, invites::team_id, invites::role))
            .for_update()
            .first(conn)
            .await
            .optional()?;
        let (invite_id, team_id, role) = invite.ok_or_else(|| AppError::invalid("invite", INVITE_UNUSABLE))?;
        if role_in(conn, team_id, user_id).await?.is_some() {
            return Err(AppError::Conflict("You are already a member of this team.".into()));
        }
        diesel::update(invites::table.find(invite_id))
            .set((invites::used_at.eq(now), invites::used_by.eq(user_id)))
            .execute(conn)
            .await?;
        add_member(conn, team_id, user_id, parse_role(&role)?).await?;
        let joined = display_name(conn, user_id).await?;
        let change = Change::new(Subject::Member, user_id, "member.joined", format!("{joined} joined through an invite as {}.", parse_role(&role)?.label().to_lowercase()))
            .values(None, Some(json!({ "role": role, "invite": invite_id })));
        crate::audit::ssr::record_for(conn, team_id, Some(user_id), change).await?;
        let name: String = teams::table.find(team_id).select(teams::name).first(conn).await?;
        Ok(TeamView { id: team_id, name })
    })
    .await
}

/// Renames the caller's team.
pub async fn rename_team(conn: &mut AsyncPgConnection, caller: Caller, name: &str) -> AppResult<()> {
    conn.transaction(async |conn| {
        let before: String = teams::table.find(caller.team_id).select(teams::name).for_update().first(conn).await?;
        diesel::update(teams::table.find(caller.team_id)).set(teams::name.eq(name)).execute(conn).await?;
        let change = Change::new(Subject::Team, caller.team_id, "team.renamed", format!("Renamed the team from {before} to {name}."))
            .values(Some(json!({ "name": before })), Some(json!({ "name": name })));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok(())
    })
    .await
}

/// A member's name as it reads now.
pub async fn display_name(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<String> {
    users::table.find(user_id).select(users::display_name).first(conn).await
}

fn parse_role(role: &str) -> AppResult<Role> {
    role.parse().map_err(|e| AppError::internal("unknown role stored in the database", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_tokens_are_random_and_only_their_hash_is_kept() {
        let (token, hash) = new_invite_token();
        let (other, _) = new_invite_token();
        assert_ne!(token, other);
        assert_eq!(token.len(), 32);
        assert_eq!(hash, hash_invite_token(&token));
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&token));
    }

    #[test]
    fn caller_require_names_the_needed_role() {
        let caller = Caller { user_id: Uuid::nil(), team_id: Uuid::nil(), role: Role::Viewer };
        assert!(caller.require(Role::Viewer).is_ok());
        let error = caller.require(Role::Editor).unwrap_err();
        assert_eq!(
            error,
            AppError::Forbidden("This needs the editor role or higher; you are a viewer in this team.".into())
        );
    }
}
