//! The SMTP settings (`CADENCE_SMTP_*`), read with the rest of the configuration at start.

use crate::config::ConfigError;

/// How the connection to the SMTP server is protected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmtpTls {
    /// Plain text: only for a relay on the same machine or a test server.
    None,
    /// Plain connection upgraded with STARTTLS (usually port 587); refused if the server
    /// does not offer it.
    StartTls,
    /// TLS from the first byte (usually port 465).
    Tls,
}

/// Where and as whom Cadence sends e-mail. Without `CADENCE_SMTP_HOST` no e-mail is sent.
#[derive(Clone)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub username: Option<String>,
    /// Never logged: `SecretString` prints a mask.
    pub password: Option<secrecy::SecretString>,
    /// The `From:` address, e.g. `Cadence <cadence@example.com>`.
    pub from: lettre::message::Mailbox,
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "[redacted]"))
            .field("from", &self.from.to_string())
            .finish()
    }
}

/// Every SMTP variable, for the list of known settings.
pub const VARIABLES: &[&str] = &[
    "CADENCE_SMTP_HOST",
    "CADENCE_SMTP_PORT",
    "CADENCE_SMTP_TLS",
    "CADENCE_SMTP_USERNAME",
    "CADENCE_SMTP_PASSWORD",
    "CADENCE_SMTP_FROM",
];

fn error(variable: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError { variable: variable.to_owned(), problem: problem.into() }
}

/// Reads the SMTP settings through `get` (a trimmed, non-empty value or `None`).
pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Option<SmtpConfig>, ConfigError> {
    let Some(host) = get("CADENCE_SMTP_HOST") else {
        if let Some(other) = VARIABLES[1..].iter().find(|name| get(name).is_some()) {
            return Err(error(other, "is set but CADENCE_SMTP_HOST is not; set the host to send e-mail"));
        }
        return Ok(None);
    };
    let tls = match get("CADENCE_SMTP_TLS").as_deref() {
        None | Some("starttls") => SmtpTls::StartTls,
        Some("tls") => SmtpTls::Tls,
        Some("none") => SmtpTls::None,
        Some(other) => {
            return Err(error("CADENCE_SMTP_TLS", format!("unknown value {other:?}; expected none, starttls or tls")));
        }
    };
    let default_port = match tls {
        SmtpTls::None => 25,
        SmtpTls::StartTls => 587,
        SmtpTls::Tls => 465,
    };
    let port = match get("CADENCE_SMTP_PORT") {
        None => default_port,
        Some(value) => value
            .parse::<u16>()
            .ok()
            .filter(|port| *port > 0)
            .ok_or_else(|| error("CADENCE_SMTP_PORT", format!("{value:?} is not a port number")))?,
    };
    let username = get("CADENCE_SMTP_USERNAME");
    let password = get("CADENCE_SMTP_PASSWORD").map(secrecy::SecretString::from);
    if username.is_some() != password.is_some() {
        let missing = if username.is_some() { "CADENCE_SMTP_PASSWORD" } else { "CADENCE_SMTP_USERNAME" };
        return Err(error(missing, "SMTP log-in needs both CADENCE_SMTP_USERNAME and CADENCE_SMTP_PASSWORD"));
    }
    // Credentials over plain text would hand the password to anyone on the path.
    if username.is_some() && tls == SmtpTls::None {
        return Err(error("CADENCE_SMTP_TLS", "is none, but a password must never travel unencrypted; use starttls or tls"));
    }
    let from = get("CADENCE_SMTP_FROM")
        .ok_or_else(|| error("CADENCE_SMTP_FROM", "is required with CADENCE_SMTP_HOST, e.g. Cadence <cadence@example.com>"))?;
    let from = from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| error("CADENCE_SMTP_FROM", format!("{from:?} is not an e-mail address: {e}")))?;
    Ok(Some(SmtpConfig { host, port, tls, username, password, from }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<Option<SmtpConfig>, ConfigError> {
        from_vars(|name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned()))
    }

    #[test]
    fn without_a_host_nothing_is_sent_and_stray_settings_are_refused() {
        assert!(parse(&[]).unwrap().is_none());
        assert_eq!(parse(&[("CADENCE_SMTP_FROM", "a@b.example")]).unwrap_err().variable, "CADENCE_SMTP_FROM");
    }

    #[test]
    fn settings_parse_with_defaults_per_tls_mode() {
        let config = parse(&[("CADENCE_SMTP_HOST", "smtp.example.com"), ("CADENCE_SMTP_FROM", "Cadence <c@example.com>")])
            .unwrap()
            .unwrap();
        assert_eq!((config.tls, config.port), (SmtpTls::StartTls, 587));
        assert_eq!(config.from.email.to_string(), "c@example.com");
        let tls = parse(&[("CADENCE_SMTP_HOST", "h"), ("CADENCE_SMTP_TLS", "tls"), ("CADENCE_SMTP_FROM", "c@example.com")]);
        assert_eq!(tls.unwrap().unwrap().port, 465);
    }

    #[test]
    fn bad_values_name_their_variable_and_the_password_stays_hidden() {
        let base = [("CADENCE_SMTP_HOST", "h"), ("CADENCE_SMTP_FROM", "c@example.com")];
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut all = base.to_vec();
            all.extend_from_slice(extra);
            parse(&all)
        };
        assert_eq!(with(&[("CADENCE_SMTP_TLS", "ssl")]).unwrap_err().variable, "CADENCE_SMTP_TLS");
        assert_eq!(with(&[("CADENCE_SMTP_PORT", "0")]).unwrap_err().variable, "CADENCE_SMTP_PORT");
        assert_eq!(with(&[("CADENCE_SMTP_USERNAME", "u")]).unwrap_err().variable, "CADENCE_SMTP_PASSWORD");
        let plain = with(&[("CADENCE_SMTP_TLS", "none"), ("CADENCE_SMTP_USERNAME", "u"), ("CADENCE_SMTP_PASSWORD", "p")]);
        assert_eq!(plain.unwrap_err().variable, "CADENCE_SMTP_TLS");
        let mut no_from = base.to_vec();
        no_from.retain(|(k, _)| *k != "CADENCE_SMTP_FROM");
        assert_eq!(parse(&no_from).unwrap_err().variable, "CADENCE_SMTP_FROM");
        assert!(with(&[]).is_ok());
        let with_password = with(&[("CADENCE_SMTP_USERNAME", "u"), ("CADENCE_SMTP_PASSWORD", "hunter2-secret")]).unwrap().unwrap();
        assert!(!format!("{with_password:?}").contains("hunter2-secret"));
    }
}
