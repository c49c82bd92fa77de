//! The audit log in PostgreSQL: entries written on the changing transaction's connection, read a page at a time, and pruned after the retention time.

use crate::{
    audit::types::{AuditEntry, AuditPage, Subject},
    calendar::zone,
    db::schema::{audit_events, users},
    error::AppResult,
    teams::ssr::Caller,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, AsyncPgConnection, RunQueryDsl};
use jiff::tz::TimeZone;
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

/// Entries a page shows.
pub const PAGE: i64 = 50;
/// Most entries one CSV holds.
pub const CSV_MAX: i64 = 50_000;

/// One change to write down.
#[derive(Clone, Debug)]
pub struct Change {
    pub subject: Subject,
    pub subject_id: Option<String>,
    pub action: &'static str,
    pub summary: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn new(subject: Subject, subject_id: impl ToString, action: &'static str, summary: impl Into<String>) -> Self {
        Self { subject, subject_id: Some(subject_id.to_string()), action, summary: summary.into(), before: None, after: None }
    }

    pub fn values(mut self, before: Option<Value>, after: Option<Value>) -> Self {
        (self.before, self.after) = (before, after);
        self
    }
}

/// Writes `change` by `caller` into their team's log, on `conn`: call it inside the
/// transaction that makes the change, so there is never one without the other.
pub async fn record(conn: &mut AsyncPgConnection, caller: Caller, change: Change) -> QueryResult<()> {
    record_for(conn, caller.team_id, Some(caller.user_id), change).await
}

/// [`record`] for a team and an actor given apart (`None`: Cadence itself, e.g. a webhook).
pub async fn record_for(conn: &mut AsyncPgConnection, team_id: Uuid, actor: Option<Uuid>, change: Change) -> QueryResult<()> {
    let actor_name = match actor {
        Some(id) => users::table.find(id).select(users::display_name).first::<String>(conn).await.optional()?,
        None => None,
    }
    .unwrap_or_else(|| "Cadence".into());
    record_named(conn, team_id, actor, &actor_name, change).await
}

/// [`record_for`] with the actor's name given: someone without a user (a client deciding
/// through a preview link) is named as they signed.
pub async fn record_named(conn: &mut AsyncPgConnection, team_id: Uuid, actor: Option<Uuid>, actor_name: &str, change: Change) -> QueryResult<()> {
    diesel::insert_into(audit_events::table)
        .values((
            audit_events::team_id.eq(team_id),
            audit_events::actor_id.eq(actor),
            audit_events::actor_name.eq(actor_name),
            audit_events::subject.eq(change.subject.as_str()),
            audit_events::subject_id.eq(change.subject_id),
            audit_events::action.eq(change.action),
            audit_events::summary.eq(change.summary),
            audit_events::before.eq(change.before),
            audit_events::after.eq(change.after),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// Which entries to show.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub subject: Option<Subject>,
    pub actor: Option<Uuid>,
}

type Row = (i64, OffsetDateTime, String, String, Option<String>, String, String, Option<Value>, Option<Value>);

async fn load(conn: &mut AsyncPgConnection, team_id: Uuid, filter: &AuditFilter, before: Option<i64>, limit: i64) -> AppResult<Vec<Row>> {
    let mut query = audit_events::table
        .filter(audit_events::team_id.eq(team_id))
        .order(audit_events::id.desc())
        .limit(limit)
        .select((
            audit_events::id,
            audit_events::at,
            audit_events::actor_name,
            audit_events::subject,
            audit_events::subject_id,
            audit_events::action,
            audit_events::summary,
            audit_events::before,
            audit_events::after,
        ))
        .into_boxed();
    if let Some(subject) = filter.subject {
        query = query.filter(audit_events::subject.eq(subject.as_str()));
    }
    if let Some(actor) = filter.actor {
        query = query.filter(audit_events::actor_id.eq(actor));
    }
    if let Some(before) = before {
        query = query.filter(audit_events::id.lt(before));
    }
    Ok(query.load(conn).await?)
}

fn entry((id, at, actor, subject, subject_id, action, summary, before, after): Row, tz: &TimeZone) -> AuditEntry {
    AuditEntry {
        id,
        at,
        when_label: zone::label(at, tz),
        actor,
        subject: Subject::parse(&subject).unwrap_or(Subject::Team),
        subject_id,
        action,
        summary,
        before: before.map(|v| v.to_string()),
        after: after.map(|v| v.to_string()),
    }
}

/// A page of the team's log, newest first, from before the entry `before` on.
pub async fn page(conn: &mut AsyncPgConnection, team_id: Uuid, filter: &AuditFilter, before: Option<i64>, tz: &TimeZone) -> AppResult<AuditPage> {
    let mut rows = load(conn, team_id, filter, before, PAGE + 1).await?;
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let entries: Vec<AuditEntry> = rows.into_iter().map(|row| entry(row, tz)).collect();
    let older = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok(AuditPage { entries, older })
}

/// Every matching entry (up to [`CSV_MAX`]), newest first.
pub async fn all(conn: &mut AsyncPgConnection, team_id: Uuid, filter: &AuditFilter, tz: &TimeZone) -> AppResult<Vec<AuditEntry>> {
    Ok(load(conn, team_id, filter, None, CSV_MAX).await?.into_iter().map(|row| entry(row, tz)).collect())
}

/// Removes entries older than `cutoff` (the retention job; the table refuses any other delete).
pub async fn prune(conn: &mut AsyncPgConnection, cutoff: OffsetDateTime) -> QueryResult<usize> {
    conn.transaction(async |conn| {
        diesel::sql_query("SET LOCAL cadence.audit_prune = 'on'").execute(conn).await?;
        diesel::delete(audit_events::table.filter(audit_events::at.lt(cutoff))).execute(conn).await
    })
    .await
}
