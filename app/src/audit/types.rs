//! Audit entries as the browser sees them, what they are about, and their CSV.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// What an entry is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    Post,
    Account,
    Member,
    Invite,
    Team,
    PreviewLink,
}

impl Subject {
    pub const ALL: [Self; 6] = [Self::Post, Self::Account, Self::Member, Self::Invite, Self::Team, Self::PreviewLink];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Account => "account",
            Self::Member => "member",
            Self::Invite => "invite",
            Self::Team => "team",
            Self::PreviewLink => "preview_link",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == value)
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Post => "Posts",
            Self::Account => "TikTok accounts",
            Self::Member => "Members and roles",
            Self::Invite => "Invites",
            Self::Team => "Team settings",
            Self::PreviewLink => "Client preview links",
        }
    }
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: OffsetDateTime,
    /// When, on the reader's wall clock.
    pub when_label: String,
    /// Who, by their name when they made the change ("Cadence" for the server's own jobs).
    pub actor: String,
    pub subject: Subject,
    pub subject_id: Option<String>,
    /// What happened, e.g. `post.edited`.
    pub action: String,
    /// In words: "Edited the caption and time of the post to Maya Public."
    pub summary: String,
    /// The values before and after, as compact JSON, when the change had any.
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A page of the log, newest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    /// Where the next, older page starts (an entry id), if there is one.
    pub older: Option<i64>,
}

/// The entries as CSV, one line each, newest first.
pub fn csv(entries: &[AuditEntry], time_zone: &str) -> String {
    let mut out = format!("time ({time_zone}),unix_seconds,who,subject,subject_id,action,summary,before,after\n");
    for e in entries {
        let fields = [
            e.when_label.clone(),
            e.at.unix_timestamp().to_string(),
            e.actor.clone(),
            e.subject.as_str().to_owned(),
            e.subject_id.clone().unwrap_or_default(),
            e.action.clone(),
            e.summary.clone(),
            e.before.clone().unwrap_or_default(),
            e.after.clone().unwrap_or_default(),
        ];
        out.push_str(&fields.iter().map(|f| field(f)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` gets a `'` so a spreadsheet never runs it as a formula.
fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) { format!("'{value}") } else { value.to_owned() };
    if value.contains([',', '"', '\n', '\r']) { format!("\"{}\"", value.replace('"', "\"\"")) } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_it_and_never_starts_a_formula() {
        let entry = AuditEntry {
            id: 1,
            at: time::macros::datetime!(2026-12-01 09:00 UTC),
            when_label: "Tue 1 Dec 2026, 10:00 CET".into(),
            actor: "=HYPERLINK(\"x\")".into(),
            subject: Subject::Post,
            subject_id: None,
            action: "post.edited".into(),
            summary: "Edited: caption.".into(),
            before: Some("{\"caption\":\"a, b\"}".into()),
            after: None,
        };
        let text = csv(&[entry], "Europe/Berlin");
        let line = text.lines().nth(1).unwrap();
        assert_eq!(
            line,
            "\"Tue 1 Dec 2026, 10:00 CET\",1796115600,\"'=HYPERLINK(\"\"x\"\")\",post,,post.edited,Edited: caption.,\"{\"\"caption\"\":\"\"a, b\"\"}\","
        );
        for subject in Subject::ALL {
            assert_eq!(Subject::parse(subject.as_str()), Some(subject));
        }
    }
}
