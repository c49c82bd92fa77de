//! What the browser and server both know about a person, and the rules for their form fields.

use crate::teams::types::{Role, TeamView};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A logged-in person, as shown in the UI. Never carries the password hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserView {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub time_zone: String,
}

/// Everything the layout needs about the current visitor.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionInfo {
    pub user: UserView,
    /// The team the person is working in now.
    pub team: TeamView,
    pub role: Role,
    /// Every team the person belongs to, for the team switcher.
    pub teams: Vec<TeamView>,
}

/// Whether the server runs against the built-in TikTok sandbox (shown as a banner).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerMode {
    pub sandbox: bool,
}

pub const PASSWORD_MIN_CHARS: usize = 10;
pub const PASSWORD_MAX_CHARS: usize = 256;

/// Lower-cases and checks an e-mail address; returns the stored form.
pub fn normalize_email(email: &str) -> Result<String, String> {
    if let Some(problem) = crate::text::control_character_problem(email, false) {
        return Err(problem);
    }
    let email = email.trim().to_lowercase();
    let valid = email.len() <= 254
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        })
        && !email.chars().any(char::is_whitespace);
    if valid { Ok(email) } else { Err("Enter an e-mail address like name@example.com.".into()) }
}

/// Checks a new password's length (long passphrases beat complexity rules).
pub fn check_password(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < PASSWORD_MIN_CHARS {
        Err(format!("Use at least {PASSWORD_MIN_CHARS} characters."))
    } else if chars > PASSWORD_MAX_CHARS {
        Err(format!("Use at most {PASSWORD_MAX_CHARS} characters."))
    } else {
        Ok(())
    }
}

/// Trims a display name and checks it is 1–80 characters.
pub fn normalize_display_name(name: &str) -> Result<String, String> {
    if let Some(problem) = crate::text::control_character_problem(name, false) {
        return Err(problem);
    }
    let name = name.trim();
    match name.chars().count() {
        0 => Err("Enter your name.".into()),
        1..=80 => Ok(name.to_owned()),
        _ => Err("Use at most 80 characters.".into()),
    }
}

/// Accepts IANA-style zone names (`Europe/Berlin`, `UTC`, `America/Argentina/Buenos_Aires`).
pub fn normalize_time_zone(zone: &str) -> Result<String, String> {
    let zone = zone.trim();
    let shape_ok = !zone.is_empty()
        && zone.len() <= 64
        && zone.split('/').all(|part| {
            !part.is_empty()
                && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+'))
        });
    if shape_ok { Ok(zone.to_owned()) } else { Err("Pick a time zone such as Europe/Berlin.".into()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(normalize_email("  Ana@Example.COM ").unwrap(), "ana@example.com");
        for bad in ["", "ana", "ana@", "@example.com", "ana@example", "a na@example.com", "a@b@c.com", "ana@.com"] {
            assert!(normalize_email(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(normalize_email("ana\0@example.com").unwrap_err().contains("control character"));
    }

    #[test]
    fn passwords_need_ten_to_256_characters() {
        assert!(check_password("123456789").is_err());
        assert!(check_password("1234567890").is_ok());
        assert!(check_password(&"x".repeat(257)).is_err());
        // Counted in characters, not bytes.
        assert!(check_password("ééééééééé").is_err());
    }

    #[test]
    fn display_names_and_zones() {
        assert_eq!(normalize_display_name("  Ana  ").unwrap(), "Ana");
        assert!(normalize_display_name("   ").is_err());
        assert!(normalize_display_name(&"a".repeat(81)).is_err());
        assert!(normalize_display_name("Ana\0").unwrap_err().contains("U+0000"));
        assert!(normalize_display_name("Ana\u{1b}[31m").unwrap_err().contains("U+001B"));
        for good in ["UTC", "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+3"] {
            assert_eq!(normalize_time_zone(good).unwrap(), good);
        }
        for bad in ["", "Europe//Berlin", "Europe/Berlin; DROP", "/UTC"] {
            assert!(normalize_time_zone(bad).is_err(), "{bad:?}");
        }
    }
}
