//! The e-mails of the approval flow: approvers hear of a post that waits for them, its author of the decision.

use crate::{
    db::schema::{teams, tiktok_accounts},
    mail::{compose::{self, PostSummary}, outbox::{self, Audience, EmailKind}},
    posts::ssr::Post,
    teams::ssr::display_name,
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// What the e-mails say about `post`: its team, account, caption and due time.
struct About {
    team: String,
    account: String,
    due: String,
}

async fn about(conn: &mut AsyncPgConnection, post: &Post) -> QueryResult<About> {
    let (team, account): (String, String) = teams::table
        .inner_join(tiktok_accounts::table.on(tiktok_accounts::team_id.eq(teams::id)))
        .filter(tiktok_accounts::id.eq(post.account_id))
        .select((teams::name, tiktok_accounts::display_name))
        .first(conn)
        .await?;
    Ok(About { team, account, due: post.scheduled_at.map_or_else(|| "not set".to_owned(), due_in_utc) })
}

/// A due time as every reader understands it, whatever their time zone: "2026-12-03 14:00 UTC".
fn due_in_utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", at.year(), u8::from(at.month()), at.day(), at.hour(), at.minute())
}

/// Tells the team's approvers that `post` (changed by `author`) waits for them. Once per
/// content: the same fingerprint asked about again sends nothing new.
pub async fn tell_approvers(conn: &mut AsyncPgConnection, post: &Post, author: Uuid, fingerprint: &str) -> QueryResult<()> {
    let about = about(conn, post).await?;
    let author = display_name(conn, author).await?;
    let summary = PostSummary { team: &about.team, account: &about.account, caption: &post.caption, due: &about.due };
    let (subject, body) = compose::approval_requested(&summary, &author);
    let link = format!("/posts/{}", post.id);
    let letter = compose::letter(EmailKind::ApprovalRequested, &subject, &body, &link);
    let key = format!("approval_requested:{}:{fingerprint}", post.id);
    outbox::enqueue_for_team(conn, post.team_id, Audience::Approvers, &letter, Some(&key)).await.map(|_| ())
}

/// Tells `post`'s author that `approver` (a member, or `None` for a client through a preview
/// link) named `approver_name` approved it (`comment` is `None`) or asked for changes. Nobody
/// is told of their own decision.
pub async fn tell_author(
    conn: &mut AsyncPgConnection,
    post: &Post,
    approver: Option<Uuid>,
    approver_name: &str,
    comment: Option<&str>,
) -> QueryResult<()> {
    let Some(author) = post.created_by.filter(|author| Some(*author) != approver) else { return Ok(()) };
    let about = about(conn, post).await?;
    let approver = approver_name;
    let summary = PostSummary { team: &about.team, account: &about.account, caption: &post.caption, due: &about.due };
    let (subject, body) = compose::approval_answered(&summary, approver, comment);
    let link = format!("/posts/{}", post.id);
    let letter = compose::letter(EmailKind::ApprovalAnswered, &subject, &body, &link);
    outbox::enqueue_for_team(conn, post.team_id, Audience::Member(author), &letter, None).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_times_are_written_in_utc_to_the_minute() {
        let at = time::macros::datetime!(2026-12-03 15:00:59 +01:00);
        assert_eq!(due_in_utc(at), "2026-12-03 14:00 UTC");
    }
}
