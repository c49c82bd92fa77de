//! Sending the outbox over SMTP (lettre on tokio and rustls): claim due rows, send each with a
//! stable Message-ID, mark it sent, or schedule the next try.

use crate::{
    db::DbPool,
    error::AppResult,
    mail::{
        compose,
        outbox::{self, Claimed, FailureOutcome},
        settings::{SmtpConfig, SmtpTls},
    },
};
use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Message, Tokio1Executor,
    message::{Mailbox, header::ContentType},
    transport::smtp::{authentication::Credentials, extension::ClientId},
};
use secrecy::ExposeSecret as _;
use std::time::Duration;

/// Rows one run claims at most.
const BATCH: i64 = 20;
/// How long one SMTP conversation may take; far below the outbox lease, so a claim never lapses
/// while its e-mail is still being sent.
const SEND_TIMEOUT: Duration = Duration::from_secs(30);

/// An SMTP connection's settings and what every e-mail shares.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// e.g. `https://cadence.example.com`: links in e-mails start with it.
    base_url: String,
    /// The right-hand side of every Message-ID.
    domain: String,
}

impl Mailer {
    /// A mailer for `config`; `base_url` is the origin people open Cadence at.
    pub fn new(config: &SmtpConfig, base_url: &str) -> Result<Self, lettre::transport::smtp::Error> {
        let builder = match config.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(config.host.as_str()),
            SmtpTls::StartTls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&config.host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&config.host)?,
        };
        let host = base_url.split("://").nth(1).unwrap_or("localhost").split(':').next().unwrap_or("localhost");
        let mut builder = builder.port(config.port).timeout(Some(SEND_TIMEOUT)).hello_name(ClientId::Domain(host.to_owned()));
        if let (Some(username), Some(password)) = (&config.username, &config.password) {
            builder = builder.credentials(Credentials::new(username.clone(), password.expose_secret().to_owned()));
        }
        Ok(Self {
            transport: builder.build(),
            from: config.from.clone(),
            base_url: base_url.trim_end_matches('/').to_owned(),
            domain: config.from.email.domain().to_owned(),
        })
    }

    /// The message for an outbox row; the same row always gives the same Message-ID.
    fn message(&self, row: &Claimed) -> Result<Message, String> {
        let to: Mailbox = row.recipient.parse().map_err(|e| format!("the recipient address is not valid: {e}"))?;
        let link = format!("{}{}", self.base_url, row.link_path);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(row.subject.clone())
            .message_id(Some(format!("<{}@{}>", row.message_id, self.domain)))
            .header(ContentType::TEXT_PLAIN)
            .body(compose::final_text(&row.body, &link, &row.kind))
            .map_err(|e| format!("the message could not be built: {e}"))
    }
}

/// Sends what is due; returns how many went out. Several servers may run this at once: each
/// row is claimed by one of them under a lease.
pub async fn send_due(pool: &DbPool, mailer: &Mailer) -> AppResult<usize> {
    let claimed = outbox::claim(&mut *pool.get().await?, BATCH).await?;
    let mut sent = 0;
    for row in claimed {
        // A database error after sending leaves the row claimed; its lease runs out and it is
        // sent again with the same Message-ID, which the receiving side treats as one message.
        let result = match mailer.message(&row) {
            Ok(message) => mailer.transport.send(message).await.map(|_| ()).map_err(|e| (smtp_reason(&e), e.is_permanent())),
            Err(reason) => Err((reason, true)),
        };
        let mut conn = pool.get().await?;
        match result {
            Ok(()) => {
                outbox::mark_sent(&mut conn, &row).await?;
                crate::metrics::email("sent");
                sent += 1;
            }
            Err((reason, permanent)) => match outbox::mark_failed(&mut conn, &row, &reason, permanent).await? {
                FailureOutcome::Retrying(wait) => {
                    crate::metrics::email("retrying");
                    tracing::warn!(email.id = row.id, attempt = row.attempts, retry_in_secs = wait.as_secs(), reason = %reason, "an e-mail could not be sent; will retry");
                }
                FailureOutcome::GaveUp => {
                    crate::metrics::email("gave_up");
                    tracing::error!(email.id = row.id, attempt = row.attempts, reason = %reason, "an e-mail could not be sent; giving up");
                }
                FailureOutcome::Lost => {}
            },
        }
    }
    Ok(sent)
}

/// What went wrong, for the outbox row and the log: lettre's description (the server's code
/// and reply, or the connection error), which never carries the credentials.
fn smtp_reason(error: &lettre::transport::smtp::Error) -> String {
    error.to_string()
}
