//! What each e-mail says: short plain text for people, with a link back to Cadence added by
//! the sender. Nothing secret goes in: no tokens, no passwords, no session ids.

use crate::{mail::outbox::{EmailKind, Letter}, notifications::types::NotificationKind};

/// Kind, subject and body of the e-mail for an in-app notification of `team`.
pub fn for_notification(kind: NotificationKind, team: &str, message: &str) -> (EmailKind, String, String) {
    let (email_kind, what) = match kind {
        NotificationKind::PostFailed => (EmailKind::PostFailed, "A post failed"),
        NotificationKind::PostUnconfirmed => (EmailKind::PostUnconfirmed, "A post needs checking"),
        NotificationKind::AccountNeedsReconnect => (EmailKind::AccountReconnect, "A TikTok account needs reconnecting"),
        NotificationKind::AwaitingApproval => (EmailKind::ApprovalRequested, "A post's time came before it was approved"),
    };
    let subject = format!("{what} in {team}");
    let body = format!("{what} in the Cadence team \"{team}\":\n\n{message}\n");
    (email_kind, subject, body)
}

/// What an approval e-mail says about its post.
pub struct PostSummary<'a> {
    pub team: &'a str,
    pub account: &'a str,
    pub caption: &'a str,
    /// e.g. "2026-12-03 14:00 UTC".
    pub due: &'a str,
}

impl PostSummary<'_> {
    fn lines(&self) -> String {
        let caption = crate::text::opening(self.caption, 120);
        let caption = if caption.is_empty() { "(no caption)".to_owned() } else { format!("\"{caption}\"") };
        format!("Account: {}\nDue: {}\nCaption: {caption}\n", self.account, self.due)
    }
}

/// To approvers: `author` changed or scheduled a post that now waits for one of them.
pub fn approval_requested(post: &PostSummary<'_>, author: &str) -> (String, String) {
    let subject = format!("{author} asks for approval of a post in {}", post.team);
    let body = format!(
        "{author} scheduled a post in the Cadence team \"{}\" that needs an approver before it goes out:\n\n{}\n\
         Approve it or ask for changes on the post's page. Until then it is not sent, even when its time comes.\n",
        post.team,
        post.lines()
    );
    (subject, body)
}

/// To the post's author: `approver` approved it, or asked for changes with `comment`.
pub fn approval_answered(post: &PostSummary<'_>, approver: &str, comment: Option<&str>) -> (String, String) {
    match comment {
        None => (
            format!("{approver} approved your post in {}", post.team),
            format!(
                "{approver} approved your post in the Cadence team \"{}\". It goes out at its time, as approved; \
                 any change asks for approval again.\n\n{}",
                post.team,
                post.lines()
            ),
        ),
        Some(comment) => (
            format!("{approver} asks for changes to your post in {}", post.team),
            format!(
                "{approver} asks for changes before your post in the Cadence team \"{}\" may go out:\n\n\
                 \"{}\"\n\n{}\nEdit the post; it then waits for an approver again.\n",
                post.team,
                comment.trim(),
                post.lines()
            ),
        ),
    }
}


/// A connected account whose TikTok grant ends soon (`days` whole days left).
pub fn grant_ending(team: &str, account: &str, days: i64) -> (String, String) {
    let when = match days {
        ..=0 => "within a day".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    };
    let subject = format!("{account}'s TikTok connection ends {when}");
    let body = format!(
        "TikTok ends Cadence's access to {account} (team \"{team}\") {when}. Renewing does not extend it: \
         reconnect the account on the Accounts page before then, or its scheduled posts cannot go out.\n"
    );
    (subject, body)
}

/// An invitation to join `team` as `role`, from `inviter`.
pub fn invite(team: &str, inviter: &str, role: &str) -> (String, String) {
    let subject = format!("{inviter} invites you to {team} on Cadence");
    let body = format!(
        "{inviter} invites you to join the team \"{team}\" on Cadence as {role}. Cadence is where the team \
         schedules and publishes its TikTok videos.\n\nThe link below works once and for seven days.\n"
    );
    (subject, body)
}

/// The figures of one member's daily digest.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DigestFigures {
    pub published: i64,
    pub failed: i64,
    pub scheduled_next_day: i64,
    pub open_notifications: i64,
}

/// A member's daily summary of `team`.
pub fn digest(team: &str, date: &str, figures: &DigestFigures) -> (String, String) {
    let subject = format!("{team} on {date}: {} published, {} failed", figures.published, figures.failed);
    let body = format!(
        "The last 24 hours in \"{team}\":\n\n- published: {}\n- failed: {}\n- scheduled for the next 24 hours: {}\n- notifications waiting for someone: {}\n",
        figures.published, figures.failed, figures.scheduled_next_day, figures.open_notifications
    );
    (subject, body)
}

/// The text that goes out: the body, the link and why the person gets it.
pub fn final_text(body: &str, link: &str, kind: &str) -> String {
    let why = if kind == EmailKind::Invite.as_str() {
        "You get this e-mail because a team member entered your address in Cadence.".to_owned()
    } else {
        "You get this e-mail because of your notification choices; change them in Cadence's settings.".to_owned()
    };
    // The link on a line of its own, so mail clients can open it whatever its length.
    wrap(&format!("{body}\nOpen in Cadence:\n{link}\n\n-- \n{why}\n"), LINE_WIDTH)
}

/// Lines stay below 76 characters, so plain-ASCII e-mails go out as readable 7-bit text
/// rather than quoted-printable.
const LINE_WIDTH: usize = 72;

/// Wraps each line of `text` at spaces to at most `width` characters; a longer word (a link)
/// stands on a line of its own.
pub fn wrap(text: &str, width: usize) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width);
    for (index, line) in text.split('\n').enumerate() {
        if index > 0 {
            out.push('\n');
        }
        let mut column = 0;
        for (position, word) in line.split(' ').enumerate() {
            let length = word.chars().count();
            if position > 0 {
                if column > 0 && column + 1 + length > width {
                    out.push('\n');
                    column = 0;
                } else {
                    out.push(' ');
                    column += 1;
                }
            }
            out.push_str(word);
            column += length;
        }
    }
    out
}

/// Shorthand for building a [`Letter`] from owned parts.
pub fn letter<'a>(kind: EmailKind, subject: &'a str, body: &'a str, link_path: &'a str) -> Letter<'a> {
    Letter { kind, subject, body, link_path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lines_wrap_at_spaces_and_links_stay_whole() {
        let link = format!("https://cadence.example.com/invite/{}", "x".repeat(80));
        let text = wrap(&format!("one two three four five six seven eight nine ten\n\n{link}\n-- \nend"), 20);
        assert_eq!(text, format!("one two three four\nfive six seven eight\nnine ten\n\n{link}\n-- \nend"));
    }

    #[test]
    fn texts_name_the_team_and_what_to_do() {
        let (kind, subject, body) = for_notification(NotificationKind::PostFailed, "Acme", "TikTok refused the video.");
        assert_eq!(kind, EmailKind::PostFailed);
        assert_eq!(subject, "A post failed in Acme");
        assert!(body.contains("TikTok refused the video."));
        assert_eq!(grant_ending("Acme", "Maya", 3).0, "Maya's TikTok connection ends in 3 days");
        assert_eq!(grant_ending("Acme", "Maya", 0).0, "Maya's TikTok connection ends within a day");
        let text = final_text(&body, "https://cadence.example.com/posts/1", "post_failed");
        assert!(text.contains("Open in Cadence:\nhttps://cadence.example.com/posts/1\n"));
        assert!(text.lines().all(|line| line.chars().count() < 76), "{text}");
        assert!(text.contains("notification choices"));
        let (subject, _) = digest("Acme", "2026-12-01", &DigestFigures { published: 3, failed: 1, ..Default::default() });
        assert_eq!(subject, "Acme on 2026-12-01: 3 published, 1 failed");
    }

    #[test]
    fn approval_emails_say_who_what_and_what_to_do() {
        let post = PostSummary { team: "Acme", account: "Maya", caption: "Launch day!\nSee you there", due: "2026-12-03 14:00 UTC" };
        let (subject, body) = approval_requested(&post, "Eddie");
        assert_eq!(subject, "Eddie asks for approval of a post in Acme");
        assert!(body.contains("Caption: \"Launch day! See you there\"") && body.contains("Due: 2026-12-03 14:00 UTC"), "{body}");
        let (subject, body) = approval_answered(&post, "Ana", Some(" Fix the date "));
        assert_eq!(subject, "Ana asks for changes to your post in Acme");
        assert!(body.contains("\"Fix the date\"") && body.contains("Edit the post"), "{body}");
        let (subject, _) = approval_answered(&post, "Ana", None);
        assert_eq!(subject, "Ana approved your post in Acme");
        let (kind, _, _) = for_notification(NotificationKind::AwaitingApproval, "Acme", "Its time has come");
        assert_eq!(kind, EmailKind::ApprovalRequested, "an overdue post goes to approvers under their choice");
    }
}
