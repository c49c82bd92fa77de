//! The e-mail outbox: rows written in the same transaction as the notification they tell
//! about, claimed by the sender under a lease, marked sent, or retried with backoff.
//!
//! Rows are only written while `email_delivery.enabled` says a server will send them, so a
//! deployment without SMTP never accumulates an outbox.

use crate::db::schema::{email_delivery, email_outbox};
use diesel::{
    prelude::*,
    sql_types::{BigInt, Integer, Nullable, Text, Timestamptz, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// What an e-mail is about; each member chooses which of them they get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EmailKind {
    PostFailed,
    PostUnconfirmed,
    AccountReconnect,
    GrantEnding,
    DailyDigest,
    Invite,
    /// A post waits for an approver (sent to approvers).
    ApprovalRequested,
    /// An approver decided on a post (sent to its author).
    ApprovalAnswered,
}

impl EmailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PostFailed => "post_failed",
            Self::PostUnconfirmed => "post_unconfirmed",
            Self::AccountReconnect => "account_reconnect",
            Self::GrantEnding => "grant_ending",
            Self::DailyDigest => "daily_digest",
            Self::Invite => "invite",
            Self::ApprovalRequested => "approval_requested",
            Self::ApprovalAnswered => "approval_answered",
        }
    }

    /// The `email_preferences` column that says whether a member wants this kind, and its
    /// default when they never chose; `None` for invites, which go to whoever is invited.
    fn preference(self) -> Option<(&'static str, bool)> {
        match self {
            Self::PostFailed => Some(("post_failed", true)),
            Self::PostUnconfirmed => Some(("post_unconfirmed", true)),
            Self::AccountReconnect => Some(("account_reconnect", true)),
            Self::GrantEnding => Some(("grant_ending", true)),
            Self::DailyDigest => Some(("daily_digest", false)),
            Self::ApprovalRequested => Some(("approval_requested", true)),
            Self::ApprovalAnswered => Some(("approval_answered", true)),
            Self::Invite => None,
        }
    }
}

/// Which of a team's members an e-mail is for (each still only if they want its kind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    /// Members who may approve posts (see `approvals::types::may_approve`).
    Approvers,
    Member(Uuid),
}


/// Records whether this deployment sends e-mail; every server calls it at start.
pub async fn set_delivery(conn: &mut AsyncPgConnection, enabled: bool) -> QueryResult<()> {
    diesel::insert_into(email_delivery::table)
        .values((email_delivery::singleton.eq(true), email_delivery::enabled.eq(enabled)))
        .on_conflict(email_delivery::singleton)
        .do_update()
        .set((email_delivery::enabled.eq(enabled), email_delivery::updated_at.eq(diesel::dsl::now)))
        .execute(conn)
        .await
        .map(|_| ())
}

/// Whether e-mails are being sent at all.
pub async fn delivery_enabled(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    Ok(email_delivery::table.select(email_delivery::enabled).first::<bool>(conn).await.optional()?.unwrap_or(false))
}

/// One e-mail's content before it is addressed.
pub struct Letter<'a> {
    pub kind: EmailKind,
    pub subject: &'a str,
    pub body: &'a str,
    /// e.g. `/posts/<id>`; the sender puts the public origin in front.
    pub link_path: &'a str,
}

/// Queues `letter` for the members of `team_id` in `audience` who want its kind; `dedupe` (a
/// reminder's key) queues it once per member however often this runs. Returns the rows written.
pub async fn enqueue_for_team(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    audience: Audience,
    letter: &Letter<'_>,
    dedupe: Option<&str>,
) -> QueryResult<usize> {
    let Some((column, default)) = letter.kind.preference() else { return Ok(0) };
    // The same rule as `approvals::types::may_approve`: viewers never, otherwise the member's
    // own setting or, without one, owners and admins.
    let who = match audience {
        Audience::Approvers => " AND m.role <> 'viewer' AND COALESCE(m.can_approve, m.role IN ('owner', 'admin'))",
        Audience::Everyone | Audience::Member(_) => "",
    };
    let member = match audience {
        Audience::Member(user_id) => Some(user_id),
        Audience::Everyone | Audience::Approvers => None,
    };
    // `column` and `who` come from the fixed lists above, never from input.
    let query = format!(
        "INSERT INTO email_outbox (team_id, recipient, kind, subject, body, link_path, dedupe_key) \
         SELECT m.team_id, u.email, $2, $3, $4, $5, CASE WHEN $6::text IS NULL THEN NULL ELSE $6 || ':' || u.id::text END \
         FROM memberships m JOIN users u ON u.id = m.user_id \
         LEFT JOIN email_preferences p ON p.team_id = m.team_id AND p.user_id = m.user_id \
         WHERE m.team_id = $1 AND COALESCE(p.{column}, {default}){who} AND ($7::uuid IS NULL OR m.user_id = $7) \
         AND EXISTS (SELECT 1 FROM email_delivery WHERE enabled) \
         ON CONFLICT (dedupe_key) DO NOTHING"
    );
    diesel::sql_query(query)
        .bind::<SqlUuid, _>(team_id)
        .bind::<Text, _>(letter.kind.as_str())
        .bind::<Text, _>(letter.subject)
        .bind::<Text, _>(letter.body)
        .bind::<Text, _>(letter.link_path)
        .bind::<Nullable<Text>, _>(dedupe)
        .bind::<Nullable<SqlUuid>, _>(member)
        .execute(conn)
        .await
}

/// Queues `letter` for one address (an invite, a member's digest), if e-mail is being sent.
pub async fn enqueue_to(
    conn: &mut AsyncPgConnection,
    team_id: Uuid,
    recipient: &str,
    letter: &Letter<'_>,
    dedupe: Option<&str>,
) -> QueryResult<usize> {
    diesel::sql_query(
        "INSERT INTO email_outbox (team_id, recipient, kind, subject, body, link_path, dedupe_key) \
         SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM email_delivery WHERE enabled) \
         ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind::<SqlUuid, _>(team_id)
    .bind::<Text, _>(recipient)
    .bind::<Text, _>(letter.kind.as_str())
    .bind::<Text, _>(letter.subject)
    .bind::<Text, _>(letter.body)
    .bind::<Text, _>(letter.link_path)
    .bind::<Nullable<Text>, _>(dedupe)
    .execute(conn)
    .await
}

/// An outbox row claimed for sending.
#[derive(QueryableByName, Debug, Clone)]
pub struct Claimed {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = SqlUuid)]
    pub message_id: Uuid,
    #[diesel(sql_type = Text)]
    pub recipient: String,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub subject: String,
    #[diesel(sql_type = Text)]
    pub body: String,
    #[diesel(sql_type = Text)]
    pub link_path: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    /// The claim's end: the fence of the write that records the result.
    #[diesel(sql_type = Timestamptz)]
    pub locked_until: OffsetDateTime,
}

/// How long a claim lasts; sending one e-mail is given much less (see the sender's timeout).
pub const LEASE: Duration = Duration::from_secs(120);

/// Claims up to `limit` due e-mails that nobody holds (or whose holder's lease ran out).
pub async fn claim(conn: &mut AsyncPgConnection, limit: i64) -> QueryResult<Vec<Claimed>> {
    diesel::sql_query(
        "UPDATE email_outbox SET locked_until = now() + make_interval(secs => $2), attempts = attempts + 1 \
         WHERE id IN (SELECT id FROM email_outbox \
                      WHERE sent_at IS NULL AND gave_up_at IS NULL AND next_attempt_at <= now() \
                        AND (locked_until IS NULL OR locked_until < now()) \
                      ORDER BY next_attempt_at, id LIMIT $1 FOR UPDATE SKIP LOCKED) \
         RETURNING id, message_id, recipient, kind, subject, body, link_path, attempts, locked_until",
    )
    .bind::<BigInt, _>(limit)
    .bind::<diesel::sql_types::Double, _>(LEASE.as_secs_f64())
    .load(conn)
    .await
}

/// The SMTP server took the message. An invite's link carries its token, so it is erased
/// once it has gone out. Returns false when the claim was no longer this sender's.
pub async fn mark_sent(conn: &mut AsyncPgConnection, row: &Claimed) -> QueryResult<bool> {
    let updated = diesel::sql_query(
        "UPDATE email_outbox SET sent_at = now(), locked_until = NULL, last_error = NULL, \
           link_path = CASE WHEN kind = 'invite' THEN '' ELSE link_path END \
         WHERE id = $1 AND locked_until = $2 AND sent_at IS NULL",
    )
    .bind::<BigInt, _>(row.id)
    .bind::<Timestamptz, _>(row.locked_until)
    .execute(conn)
    .await?;
    Ok(updated > 0)
}

/// Attempts after which an e-mail is given up.
pub const MAX_ATTEMPTS: i32 = 8;

/// The wait after failed attempt `attempts` (1-based): 30 s, 2 min, 8 min, … capped at 6 h.
pub fn backoff(attempts: i32) -> Duration {
    let exponent = u32::try_from(attempts.clamp(1, 10) - 1).unwrap_or(0);
    Duration::from_secs(30u64.saturating_mul(4u64.saturating_pow(exponent))).min(Duration::from_secs(6 * 3600))
}

/// What became of a failed attempt.
#[derive(Debug, PartialEq, Eq)]
pub enum FailureOutcome {
    Retrying(Duration),
    GaveUp,
    /// The claim was no longer this sender's.
    Lost,
}

/// Records a failed attempt: tried again after [`backoff`], or given up when the failure is
/// permanent (the server refused the address) or the attempts are spent.
pub async fn mark_failed(conn: &mut AsyncPgConnection, row: &Claimed, error: &str, permanent: bool) -> QueryResult<FailureOutcome> {
    let give_up = permanent || row.attempts >= MAX_ATTEMPTS;
    let wait = backoff(row.attempts);
    let error: String = error.chars().take(500).collect();
    let updated = diesel::sql_query(
        "UPDATE email_outbox SET locked_until = NULL, last_error = $3, \
           gave_up_at = CASE WHEN $4 THEN now() ELSE NULL END, \
           next_attempt_at = now() + make_interval(secs => $5), \
           link_path = CASE WHEN $4 AND kind = 'invite' THEN '' ELSE link_path END \
         WHERE id = $1 AND locked_until = $2 AND sent_at IS NULL",
    )
    .bind::<BigInt, _>(row.id)
    .bind::<Timestamptz, _>(row.locked_until)
    .bind::<Text, _>(&error)
    .bind::<diesel::sql_types::Bool, _>(give_up)
    .bind::<diesel::sql_types::Double, _>(wait.as_secs_f64())
    .execute(conn)
    .await?;
    Ok(match (updated, give_up) {
        (0, _) => FailureOutcome::Lost,
        (_, true) => FailureOutcome::GaveUp,
        (_, false) => FailureOutcome::Retrying(wait),
    })
}

/// Sent and given-up rows older than `keep` are deleted.
pub async fn prune(conn: &mut AsyncPgConnection, older_than: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(
        email_outbox::table
            .filter(email_outbox::sent_at.lt(older_than).or(email_outbox::gave_up_at.lt(older_than))),
    )
    .execute(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(30));
        assert_eq!(backoff(2), Duration::from_secs(120));
        assert_eq!(backoff(3), Duration::from_secs(480));
        assert_eq!(backoff(MAX_ATTEMPTS), Duration::from_secs(6 * 3600));
        assert_eq!(backoff(0), Duration::from_secs(30));
    }

    #[test]
    fn every_kind_but_invites_is_a_member_choice() {
        let kinds = [
            EmailKind::PostFailed,
            EmailKind::PostUnconfirmed,
            EmailKind::AccountReconnect,
            EmailKind::GrantEnding,
            EmailKind::DailyDigest,
            EmailKind::ApprovalRequested,
            EmailKind::ApprovalAnswered,
        ];
        for kind in kinds {
            let (column, _) = kind.preference().unwrap();
            assert_eq!(column, kind.as_str(), "the column is named after the kind");
        }
        assert_eq!(EmailKind::DailyDigest.preference(), Some(("daily_digest", false)), "digests are opt-in");
        assert!(EmailKind::Invite.preference().is_none());
    }
}
