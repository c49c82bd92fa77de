//! The one error type every server function returns, shaped for people rather than for logs.

use leptos::server_fn::{
    codec::JsonEncoding,
    error::{FromServerFnError, ServerFnErrorErr},
};
use serde::{Deserialize, Serialize};

/// What went wrong, in words a person can act on.
///
/// Internal detail (SQL errors, stack traces, tokens) never goes into a variant: it is logged once
/// on the server, and the client gets [`AppError::Internal`] with a generic sentence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// Nobody is logged in, or the session expired.
    #[error("Please log in to continue.")]
    Unauthorized,
    /// Logged in, but the role or team does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// The thing does not exist, or belongs to another team (indistinguishable on purpose).
    #[error("{0} not found.")]
    NotFound(String),
    /// One form field is wrong; `field` names the input so the form can show it inline.
    #[error("{message}")]
    Validation { field: String, message: String },
    /// The request clashes with what is stored (e.g. the e-mail is taken).
    #[error("{0}")]
    Conflict(String),
    /// Too many attempts; try again after `retry_after_secs`.
    #[error("Too many attempts. Try again in {} minute(s).", retry_after_secs.div_ceil(60).max(1))]
    RateLimited { retry_after_secs: u64 },
    /// A dependency (the database) is unavailable right now.
    #[error("Cadence is briefly unavailable. Please try again in a moment.")]
    Unavailable,
    /// Anything unexpected. The detail is in the server log, not here.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// The server function machinery failed (network, bad arguments).
    #[error("{0}")]
    Transport(String),
}

impl AppError {
    /// A validation error for one form field.
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Validation { field: field.to_owned(), message: message.into() }
    }

    /// The message for `field`, if this error is about that field (for inline form errors).
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            Self::Validation { field: f, message } if f == field => Some(message.clone()),
            _ => None,
        }
    }

    /// Logs an unexpected error once and turns it into the generic [`AppError::Internal`].
    #[cfg(feature = "ssr")]
    pub fn internal(context: &str, error: impl std::fmt::Display) -> Self {
        tracing::error!(error = %error, "{context}");
        Self::Internal
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(_) => {
                Self::Transport("Could not reach Cadence. Check your connection and try again.".into())
            }
            ServerFnErrorErr::Args(detail) | ServerFnErrorErr::MissingArg(detail) => {
                Self::Transport(format!("The form was incomplete: {detail}"))
            }
            other => Self::Transport(other.to_string()),
        }
    }
}

#[cfg(feature = "ssr")]
impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        match error {
            diesel::result::Error::NotFound => Self::NotFound("Record".into()),
            lost if lost_database(&lost) => {
                tracing::warn!(error = %lost, "the database went away during a query");
                Self::unavailable()
            }
            other => Self::internal("database query failed", other),
        }
    }
}

/// A query that failed because the database stopped answering (a restart, a dropped
/// connection), not because of what it asked: the person should try again, not see a 500.
#[cfg(feature = "ssr")]
fn lost_database(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        // diesel-async reports a connection error without an SQLSTATE (closed socket, I/O)
        // as "unable to send command".
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => true,
        // 57P01..57P03: the server is shutting down or starting (its message names it).
        Error::DatabaseError(DatabaseErrorKind::Unknown, info) => {
            let message = info.message();
            message.starts_with("terminating connection") || message.contains("the database system is")
        }
        _ => false,
    }
}

#[cfg(feature = "ssr")]
impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::error!(error = %error, "database pool unavailable");
        crate::metrics::pool_wait_timeout();
        Self::unavailable()
    }
}

#[cfg(feature = "ssr")]
impl From<tower_sessions::session::Error> for AppError {
    fn from(error: tower_sessions::session::Error) -> Self {
        use tower_sessions::{session::Error, session_store::Error as StoreError};
        match &error {
            Error::Store(StoreError::Backend(message)) if message.starts_with(crate::db::POOL_UNAVAILABLE) => {
                tracing::error!(error = %error, "session store has no database connection");
                Self::unavailable()
            }
            _ => Self::internal("session store failed", error),
        }
    }
}

#[cfg(feature = "ssr")]
impl AppError {
    /// [`AppError::Unavailable`]; while a page renders it also makes the page's status 503, so
    /// a browser, proxy or monitor sees "try again" and not a healthy page with an error in it.
    fn unavailable() -> Self {
        if let Some(response) = leptos::prelude::use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::SERVICE_UNAVAILABLE);
        }
        Self::Unavailable
    }
}

/// Shorthand for server-function results.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limited_message_rounds_up_to_whole_minutes() {
        assert_eq!(
            AppError::RateLimited { retry_after_secs: 61 }.to_string(),
            "Too many attempts. Try again in 2 minute(s)."
        );
        assert_eq!(
            AppError::RateLimited { retry_after_secs: 0 }.to_string(),
            "Too many attempts. Try again in 1 minute(s)."
        );
    }

    #[cfg(feature = "ssr")]
    #[test]
    fn a_database_that_went_away_is_unavailable_not_internal() {
        use diesel::result::{DatabaseErrorKind, Error};
        let error = |kind, message: &str| Error::DatabaseError(kind, Box::new(message.to_owned()));
        assert!(lost_database(&error(DatabaseErrorKind::UnableToSendCommand, "connection closed")));
        assert!(lost_database(&error(DatabaseErrorKind::ClosedConnection, "closed")));
        assert!(lost_database(&error(
            DatabaseErrorKind::Unknown,
            "terminating connection due to administrator command"
        )));
        assert!(lost_database(&error(DatabaseErrorKind::Unknown, "the database system is starting up")));
        assert!(!lost_database(&error(DatabaseErrorKind::UniqueViolation, "duplicate key")));
        assert!(!lost_database(&error(DatabaseErrorKind::Unknown, "syntax error at or near")));
        assert!(!lost_database(&Error::NotFound));
        assert!(matches!(AppError::from(error(DatabaseErrorKind::UnableToSendCommand, "closed")), AppError::Unavailable));
    }

    #[test]
    fn field_message_only_matches_its_field() {
        let error = AppError::invalid("email", "Enter an e-mail address.");
        assert_eq!(error.field_message("email").as_deref(), Some("Enter an e-mail address."));
        assert_eq!(error.field_message("password"), None);
    }

    #[test]
    fn errors_round_trip_through_the_wire_encoding() {
        let error = AppError::invalid("password", "Too short.");
        let bytes = error.ser();
        assert_eq!(AppError::de(bytes), error);
    }
}
