//! The audit log: each change to posts, accounts, members, roles, invites and team settings is
//! written with it (a refused change leaves none), says who and what before and after, filters,
//! pages and exports as CSV for owners and admins only, cannot be altered, and is pruned after
//! its retention.

use crate::util::{sandbox::owner_with_account, upload::Upload};
use app::{audit::types::AuditPage, db::schema::audit_events, error::AppError};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use sandbox::synthetic::SyntheticVideo;
use time::OffsetDateTime;

#[tokio::test(flavor = "multi_thread")]
async fn every_change_is_logged_with_who_and_what_and_only_admins_read_it() {
    let (_sandbox, app, mut owner, account) = owner_with_account().await;
    let mut editor = app.joined(&mut owner, "editor", "Eddie").await;
    let members: Vec<app::teams::types::MemberView> = owner.call("teams/members", &[]).await.unwrap();
    let eddie = members.iter().find(|m| m.display_name == "Eddie").unwrap().user_id.to_string();
    let olga = members.iter().find(|m| m.display_name == "Olga").unwrap().user_id.to_string();

    owner.call::<()>("teams/rename", &[("name", "Acme Social")]).await.unwrap();
    owner.call::<()>("teams/approval-required", &[("required", "true")]).await.unwrap();
    owner.call::<()>("teams/members/approver", &[("user_id", &eddie), ("can_approve", "true")]).await.unwrap();
    let at = OffsetDateTime::now_utc() + time::Duration::days(1);
    let post = Upload::scheduled(&account, "SELF_ONLY", SyntheticVideo::mp4(20, 200_000), at).send(&mut editor).await.unwrap().post_id;
    owner.call::<()>("posts/cancel", &[("post_id", &post.to_string())]).await.unwrap();
    owner.call::<()>("teams/members/role", &[("user_id", &eddie), ("role", "admin")]).await.unwrap();
    // Refused changes write nothing: the last owner cannot step down.
    let refused = owner.call::<()>("teams/members/role", &[("user_id", &olga), ("role", "editor")]).await.unwrap_err();
    assert!(matches!(refused, AppError::Conflict(_)), "{refused:?}");
    owner.call::<()>("accounts/disconnect", &[("account_id", &account)]).await.unwrap();

    let log: AuditPage = owner.call("audit/list", &[]).await.unwrap();
    let seen: Vec<(&str, &str)> = log.entries.iter().rev().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(
        seen,
        [
            ("Olga", "account.connected"),
            ("Olga", "invite.created"),
            ("Eddie", "member.joined"),
            ("Olga", "team.renamed"),
            ("Olga", "team.approval_required"),
            ("Olga", "member.approver"),
            ("Eddie", "post.scheduled"),
            ("Eddie", "post.approved"),
            ("Olga", "post.cancelled"),
            ("Olga", "member.role_changed"),
            ("Olga", "account.disconnected"),
        ],
        "oldest last on the page, each change once, nothing for the refused one"
    );
    let renamed = log.entries.iter().find(|e| e.action == "team.renamed").unwrap();
    assert_eq!(renamed.summary, "Renamed the team from Olga's team to Acme Social.");
    assert_eq!(renamed.before.as_deref(), Some(r#"{"name":"Olga's team"}"#));
    assert_eq!(renamed.after.as_deref(), Some(r#"{"name":"Acme Social"}"#));
    let role = log.entries.iter().find(|e| e.action == "member.role_changed").unwrap();
    assert_eq!(role.summary, "Changed Eddie's role from editor to admin.");
    assert!(log.entries.iter().all(|e| !e.summary.contains("act.") && e.after.as_deref().is_none_or(|a| !a.contains("act."))), "no token");

    // Filters: what, and by whom.
    let members_only: AuditPage = owner.call("audit/list", &[("subject", "member")]).await.unwrap();
    assert!(members_only.entries.iter().all(|e| e.subject == app::audit::types::Subject::Member) && members_only.entries.len() == 3);
    let by_eddie: AuditPage = owner.call("audit/list", &[("actor", &eddie)]).await.unwrap();
    assert_eq!(by_eddie.entries.len(), 3);
    let bad = owner.call::<AuditPage>("audit/list", &[("subject", "everything")]).await.unwrap_err();
    assert!(bad.field_message("subject").is_some());

    let csv: String = owner.call("audit/csv", &[("subject", "team")]).await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0].starts_with("time (Europe/Berlin),unix_seconds,who,subject"), "{csv}");
    assert_eq!(lines.len(), 3, "a header and the two team settings changes: {csv}");
    assert!(lines[2].contains("Renamed the team from Olga's team to Acme Social."), "{csv}");

    // Eddie is an admin now and may read it; an editor or viewer may not.
    let _: AuditPage = editor.call("audit/list", &[]).await.unwrap();
    let mut viewer = app.joined(&mut owner, "viewer", "Vera").await;
    assert!(matches!(viewer.call::<AuditPage>("audit/list", &[]).await, Err(AppError::Forbidden(_))));
    assert!(matches!(viewer.call::<String>("audit/csv", &[]).await, Err(AppError::Forbidden(_))));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_log_pages_cannot_be_altered_and_is_pruned_only_past_its_retention() {
    let (_sandbox, app, mut owner, _account) = owner_with_account().await;
    for n in 0..55 {
        owner.call::<()>("teams/rename", &[("name", &format!("Team {n}"))]).await.unwrap();
    }
    let first: AuditPage = owner.call("audit/list", &[]).await.unwrap();
    assert_eq!(first.entries.len(), 50);
    assert_eq!(first.entries[0].summary, "Renamed the team from Team 53 to Team 54.");
    let older = first.older.expect("a second page").to_string();
    let second: AuditPage = owner.call("audit/list", &[("before", &older)]).await.unwrap();
    assert_eq!(second.entries.len(), 6, "the rest: five renames and the connect");
    assert!(second.older.is_none());

    let mut conn = app.conn().await;
    let changed = diesel::update(audit_events::table).set(audit_events::summary.eq("nothing happened")).execute(&mut conn).await;
    assert!(changed.unwrap_err().to_string().contains("append-only"));
    let deleted = diesel::delete(audit_events::table).execute(&mut conn).await;
    assert!(deleted.unwrap_err().to_string().contains("append-only"));

    let yesterday = OffsetDateTime::now_utc() - time::Duration::days(1);
    assert_eq!(app::audit::ssr::prune(&mut conn, yesterday).await.unwrap(), 0, "nothing is past its retention yet");
    let tomorrow = OffsetDateTime::now_utc() + time::Duration::days(1);
    assert_eq!(app::audit::ssr::prune(&mut conn, tomorrow).await.unwrap(), 56);
    let count: i64 = audit_events::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 0);
}
