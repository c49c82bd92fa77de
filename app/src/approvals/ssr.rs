//! Approvals in PostgreSQL: who may approve, the team's setting, deciding on a post, and the gate that keeps unapproved posts back (on the scheduler's claim, under its row lock).

use crate::{
    audit::{ssr::Change, types::Subject},
    approvals::{fingerprint::fingerprint, types::{Approval, may_approve}},
    db::schema::{memberships, post_events, posts, teams},
    error::{AppError, AppResult},
    notifications::{ssr::notify_post, types::NotificationKind},
    posts::{ssr::{Post, record_event}, types::PostState},
    teams::{ssr::Caller, types::Role},
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// What the caller's team asks and what the caller may do.
#[derive(Clone, Copy, Debug)]
pub struct Rights {
    pub required: bool,
    pub may_approve: bool,
}

pub async fn rights(conn: &mut AsyncPgConnection, caller: Caller) -> AppResult<Rights> {
    rights_of(conn, caller).await
}

/// [`rights`] on a shared connection, so it can go out pipelined with a page's other queries.
pub async fn rights_of(conn: &AsyncPgConnection, caller: Caller) -> AppResult<Rights> {
    let (required, explicit): (bool, Option<bool>) = memberships::table
        .inner_join(teams::table)
        .filter(memberships::team_id.eq(caller.team_id))
        .filter(memberships::user_id.eq(caller.user_id))
        .select((teams::approval_required, memberships::can_approve))
        .first(&mut &*conn)
        .await?;
    Ok(Rights { required, may_approve: may_approve(caller.role, explicit) })
}

/// Posting at once skips the review, so in a team that needs approval only approvers may.
pub async fn refuse_immediate_unless_approver(conn: &mut AsyncPgConnection, caller: Caller) -> AppResult<()> {
    let rights = rights(conn, caller).await?;
    if rights.required && !rights.may_approve {
        return Err(AppError::invalid(
            "mode",
            "This team needs an approver to approve each post before it goes out. Schedule it instead; an approver will review it.",
        ));
    }
    Ok(())
}

/// After `post` was composed or changed by `caller` (in the same transaction): in a team that
/// needs approval it waits for an approver, unless the caller is one (their own hand is their
/// approval, of exactly this content). An unchanged post keeps its approval.
pub async fn after_change(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid) -> AppResult<()> {
    let rights = rights(conn, caller).await?;
    // A team that needs no approval has nothing to update: the post is not read again.
    if !rights.required {
        return Ok(());
    }
    let post: Post = posts::table.find(post_id).select(Post::as_select()).for_update().first(conn).await?;
    let now = fingerprint(&post);
    let was = Approval::parse(&post.approval).unwrap_or(Approval::None);
    if was == Approval::Approved && post.approved_fingerprint.as_deref() == Some(now.as_str()) {
        return Ok(());
    }
    if rights.may_approve {
        approve_as(conn, caller, &post, &now, "as its author").await
    } else {
        diesel::update(posts::table.find(post_id))
            .set((posts::approval.eq(Approval::Pending.as_str()), posts::approved_fingerprint.eq(None::<String>)))
            .execute(conn)
            .await?;
        let message = if was == Approval::Approved {
            "Changed after it was approved: waiting for an approver again."
        } else {
            "Waiting for an approver."
        };
        record_event(conn, post_id, "approval_pending", message).await?;
        super::emails::tell_approvers(conn, &post, caller.user_id, &now).await?;
        Ok(())
    }
}

async fn approve_as(conn: &mut AsyncPgConnection, caller: Caller, post: &Post, print: &str, how: &str) -> AppResult<()> {
    let name = crate::teams::ssr::display_name(conn, caller.user_id).await?;
    diesel::update(posts::table.find(post.id))
        .set((
            posts::approval.eq(Approval::Approved.as_str()),
            posts::approved_fingerprint.eq(Some(print)),
            posts::approved_by.eq(Some(caller.user_id)),
            posts::approved_at.eq(Some(OffsetDateTime::now_utc())),
        ))
        .execute(conn)
        .await?;
    let message = if how.is_empty() { format!("Approved by {name}.") } else { format!("Approved by {name}, {how}.") };
    record_event(conn, post.id, "approved", &message).await?;
    let change = Change::new(Subject::Post, post.id, "post.approved", message).values(None, Some(serde_json::json!({ "fingerprint": print })));
    crate::audit::ssr::record(conn, caller, change).await?;
    Ok(())
}

fn not_an_approver(caller: Caller) -> AppError {
    AppError::Forbidden(if caller.role == Role::Viewer {
        "Viewers cannot approve posts.".into()
    } else {
        "Only approvers can decide on posts; an owner or admin can make you one on the Team page.".into()
    })
}

/// A scheduled post of the caller's team, locked for the decision.
async fn lock_scheduled(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid) -> AppResult<Post> {
    let post: Post = posts::table
        .filter(posts::id.eq(post_id))
        .filter(posts::team_id.eq(caller.team_id))
        .select(Post::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("Post".into()))?;
    ensure_decidable(&post)?;
    Ok(post)
}

/// Approving or sending back is for a post still waiting to go out (by an approver or a client).
pub fn ensure_decidable(post: &Post) -> AppResult<()> {
    if post.state() != PostState::Scheduled {
        return Err(AppError::Conflict(format!(
            "This post is {} and no longer waits for a decision.",
            post.state().label().to_lowercase()
        )));
    }
    Ok(())
}

/// Approves the post as it was when the approver saw it (`seen`, its fingerprint then): if it
/// changed meanwhile, nothing is approved and the approver is asked to look again.
pub async fn approve(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid, seen: &str) -> AppResult<()> {
    if !rights(conn, caller).await?.may_approve {
        return Err(not_an_approver(caller));
    }
    conn.transaction(async |conn| {
        let post = lock_scheduled(conn, caller, post_id).await?;
        let now = fingerprint(&post);
        if now != seen {
            return Err(AppError::Conflict("The post changed while you were looking at it. Look at it again before approving.".into()));
        }
        if post.approval == Approval::Approved.as_str() && post.approved_fingerprint.as_deref() == Some(now.as_str()) {
            return Ok(()); // approved already, exactly so: a second click changes nothing
        }
        approve_as(conn, caller, &post, &now, "").await?;
        let name = crate::teams::ssr::display_name(conn, caller.user_id).await?;
        super::emails::tell_author(conn, &post, Some(caller.user_id), &name, None).await?;
        Ok(())
    })
    .await
}

/// Sends the post back to its editors with `comment` (also put in the post's thread).
pub async fn request_changes(conn: &mut AsyncPgConnection, caller: Caller, post_id: Uuid, comment: &str) -> AppResult<()> {
    if !rights(conn, caller).await?.may_approve {
        return Err(not_an_approver(caller));
    }
    if let Some(problem) = crate::comments::types::comment_problem(comment) {
        return Err(AppError::invalid("comment", format!("Say what should change. {problem}")));
    }
    conn.transaction(async |conn| {
        let post = lock_scheduled(conn, caller, post_id).await?;
        diesel::update(posts::table.find(post.id))
            .set((posts::approval.eq(Approval::ChangesRequested.as_str()), posts::approved_fingerprint.eq(None::<String>)))
            .execute(conn)
            .await?;
        crate::comments::ssr::add(conn, caller, post.id, comment).await?;
        let name = crate::teams::ssr::display_name(conn, caller.user_id).await?;
        record_event(conn, post.id, "changes_requested", &format!("{name} asked for changes (see the comments).")).await?;
        let change = Change::new(Subject::Post, post.id, "post.changes_requested", format!("Asked for changes: {}", comment.trim()));
        crate::audit::ssr::record(conn, caller, change).await?;
        super::emails::tell_author(conn, &post, Some(caller.user_id), &name, Some(comment)).await?;
        Ok(())
    })
    .await
}

/// Turns the team's "posts need approval" on or off. Turning it on puts every scheduled post
/// not yet approved in the queue for approvers; turning it off takes them out of it.
pub async fn set_required(conn: &mut AsyncPgConnection, caller: Caller, required: bool) -> AppResult<()> {
    caller.require(Role::Admin)?;
    conn.transaction(async |conn| {
        let before: bool = teams::table.find(caller.team_id).select(teams::approval_required).for_update().first(conn).await?;
        diesel::update(teams::table.find(caller.team_id)).set(teams::approval_required.eq(required)).execute(conn).await?;
        let summary = if required { "Turned on: posts need approval before they go out." } else { "Turned off: posts no longer need approval." };
        let change = Change::new(Subject::Team, caller.team_id, "team.approval_required", summary)
            .values(Some(serde_json::json!({ "approval_required": before })), Some(serde_json::json!({ "approval_required": required })));
        crate::audit::ssr::record(conn, caller, change).await?;
        // On: what is scheduled and not approved waits for approvers. Off: nothing waits.
        let (from, to) = if required {
            (vec![Approval::None.as_str()], Approval::Pending)
        } else {
            (vec![Approval::Pending.as_str(), Approval::ChangesRequested.as_str()], Approval::None)
        };
        diesel::update(
            posts::table
                .filter(posts::team_id.eq(caller.team_id))
                .filter(posts::state.eq(PostState::Scheduled.as_str()))
                .filter(posts::approval.eq_any(from)),
        )
        .set(posts::approval.eq(to.as_str()))
        .execute(conn)
        .await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// Gives or takes a member's right to approve (admins and owners).
pub async fn set_member_right(conn: &mut AsyncPgConnection, caller: Caller, user_id: Uuid, can_approve: bool) -> AppResult<()> {
    caller.require(Role::Admin)?;
    let role: String = memberships::table
        .filter(memberships::team_id.eq(caller.team_id))
        .filter(memberships::user_id.eq(user_id))
        .select(memberships::role)
        .first(conn)
        .await
        .optional()?
        .ok_or_else(|| AppError::NotFound("Member".into()))?;
    if can_approve && role.parse::<Role>().ok() == Some(Role::Viewer) {
        return Err(AppError::invalid("can_approve", "Viewers cannot approve posts. Make them an editor first."));
    }
    conn.transaction(async |conn| {
        diesel::update(memberships::table.find((caller.team_id, user_id)))
            .set(memberships::can_approve.eq(Some(can_approve)))
            .execute(conn)
            .await?;
        let name = crate::teams::ssr::display_name(conn, user_id).await?;
        let summary = if can_approve { format!("{name} may now approve posts.") } else { format!("{name} may no longer approve posts.") };
        let change = Change::new(Subject::Member, user_id, "member.approver", summary)
            .values(None, Some(serde_json::json!({ "can_approve": can_approve })));
        crate::audit::ssr::record(conn, caller, change).await?;
        Ok::<_, AppError>(())
    })
    .await
}

/// Of `claimed` (locked by the claim's transaction), the posts that may go out: those of teams
/// that need no approval, and approved posts whose content is still what was approved. The
/// others go back to waiting, with a line in their timeline, inside the same transaction.
pub async fn gate(conn: &mut AsyncPgConnection, claimed: Vec<Post>) -> QueryResult<Vec<Post>> {
    let team_ids: Vec<Uuid> = claimed.iter().map(|p| p.team_id).collect();
    let requiring: Vec<Uuid> = teams::table
        .filter(teams::id.eq_any(&team_ids))
        .filter(teams::approval_required.eq(true))
        .select(teams::id)
        .load(conn)
        .await?;
    let mut going = Vec::with_capacity(claimed.len());
    for post in claimed {
        let approved = post.approval == Approval::Approved.as_str()
            && post.approved_fingerprint.as_deref() == Some(fingerprint(&post).as_str());
        if !requiring.contains(&post.team_id) || approved {
            going.push(post);
            continue;
        }
        diesel::update(posts::table.find(post.id))
            .set((posts::approval.eq(Approval::Pending.as_str()), posts::approved_fingerprint.eq(None::<String>)))
            .execute(conn)
            .await?;
        record_event(conn, post.id, "approval_pending", "Changed since it was approved: held back until an approver approves it again.")
            .await?;
    }
    Ok(going)
}

/// Tells each team, once per post, about scheduled posts that are due but still wait for an
/// approver: a line in the timeline and a notification. Returns how many were told about.
pub async fn flag_overdue(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        // Locked and skipped when locked, so two servers never tell about one post twice.
        let requiring = teams::table.filter(teams::approval_required.eq(true)).select(teams::id);
        let overdue: Vec<Uuid> = posts::table
            .filter(posts::team_id.eq_any(requiring))
            .filter(posts::state.eq(PostState::Scheduled.as_str()))
            .filter(posts::scheduled_at.le(now))
            .filter(posts::approval.ne(Approval::Approved.as_str()))
            .filter(diesel::dsl::not(diesel::dsl::exists(
                post_events::table.filter(post_events::post_id.eq(posts::id)).filter(post_events::kind.eq("approval_overdue")),
            )))
            .select(posts::id)
            .limit(500)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        let message = "Its time has come, but it is not approved: it waits until an approver approves it, then goes out.";
        for post_id in &overdue {
            record_event(conn, *post_id, "approval_overdue", message).await?;
            notify_post(conn, *post_id, NotificationKind::AwaitingApproval, message).await?;
        }
        Ok(overdue.len())
    })
    .await
}
