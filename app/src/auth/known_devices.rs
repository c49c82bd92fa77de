//! Browsers that logged in before, proven by a device cookie, so that a flood of wrong passwords
//! for an account (which pauses log-ins to it from everywhere) does not lock its owner out.
//!
//! The cookie holds a random token; the table keeps only its SHA-256 and whose it is. A known
//! browser is still limited: by its address, and by its own failures (a stolen device cookie
//! buys a handful of guesses per window, not the account-wide allowance).

use crate::{db::schema::known_devices, error::AppResult};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// The device cookie over plain http (a local run).
pub const DEVICE_COOKIE: &str = "cadence_device";
/// The device cookie over https: `__Host-` keeps sibling subdomains from planting one.
pub const SECURE_DEVICE_COOKIE: &str = "__Host-cadence_device";
/// A device unused for this long is forgotten (and its cookie expires with it).
pub const DEVICE_LIFETIME: time::Duration = time::Duration::days(180);

/// The device cookie's name for this configuration.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { SECURE_DEVICE_COOKIE } else { DEVICE_COOKIE }
}

fn token_hash(token: &str) -> String {
    use sha2::{Digest as _, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The device cookie's value from the request's `Cookie` headers, if any.
pub fn presented_token(headers: &http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
        .filter(|value| !value.is_empty())
}

/// The row key (the token's hash) when `token` is a device of `user_id` used within its
/// lifetime; the key names the device's own failure counter.
pub async fn recognise(
    conn: &mut AsyncPgConnection,
    token: &str,
    user_id: Uuid,
    now: OffsetDateTime,
) -> AppResult<Option<String>> {
    let hash = token_hash(token);
    let found: Option<String> = known_devices::table
        .find(hash.as_str())
        .filter(known_devices::user_id.eq(user_id))
        .filter(known_devices::last_used_at.gt(now - DEVICE_LIFETIME))
        .select(known_devices::token_hash)
        .first(conn)
        .await
        .optional()?;
    Ok(found)
}

/// After a successful log-in: keeps the browser's device (moving its expiry) or makes a new
/// one. Returns the token for the cookie.
pub async fn remember(
    conn: &mut AsyncPgConnection,
    presented: Option<&str>,
    user_id: Uuid,
    now: OffsetDateTime,
) -> AppResult<String> {
    if let Some(token) = presented
        && recognise(conn, token, user_id, now).await?.is_some()
    {
        diesel::update(known_devices::table.find(token_hash(token)))
            .set(known_devices::last_used_at.eq(now))
            .execute(conn)
            .await?;
        return Ok(token.to_owned());
    }
    let token = crate::crypto::random_token(32);
    diesel::insert_into(known_devices::table)
        .values((
            known_devices::token_hash.eq(token_hash(&token)),
            known_devices::user_id.eq(user_id),
            known_devices::created_at.eq(now),
            known_devices::last_used_at.eq(now),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// After a successful log-in or sign-up: remembers the browser of this request for `user_id`
/// and sends it the device cookie.
pub async fn remember_this_browser(conn: &mut AsyncPgConnection, user_id: Uuid, secure: bool, now: OffsetDateTime) -> AppResult<()> {
    use leptos::prelude::use_context;
    let name = cookie_name(secure);
    let presented = use_context::<http::request::Parts>().and_then(|parts| presented_token(&parts.headers, name));
    let token = remember(conn, presented.as_deref(), user_id, now).await?;
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>()
        && let Ok(value) = http::HeaderValue::from_str(&set_cookie_header(name, &token, secure))
    {
        response.append_header(http::header::SET_COOKIE, value);
    }
    Ok(())
}

/// The `Set-Cookie` value for a device token: long-lived, script-proof, first-party only.
pub fn set_cookie_header(name: &str, token: &str, secure: bool) -> String {
    format!(
        "{name}={token}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        DEVICE_LIFETIME.whole_seconds(),
        if secure { "; Secure" } else { "" }
    )
}

/// Forgets devices unused past their lifetime; run by the clean-up job.
pub async fn prune(conn: &mut AsyncPgConnection, now: OffsetDateTime) -> QueryResult<usize> {
    diesel::delete(known_devices::table.filter(known_devices::last_used_at.le(now - DEVICE_LIFETIME)))
        .execute(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let mut headers = http::HeaderMap::new();
        headers.append(http::header::COOKIE, "cadence_session=abc; cadence_device=tok123".parse().unwrap());
        assert_eq!(presented_token(&headers, DEVICE_COOKIE).as_deref(), Some("tok123"));
        assert_eq!(presented_token(&headers, SECURE_DEVICE_COOKIE), None);
        let mut empty = http::HeaderMap::new();
        empty.append(http::header::COOKIE, "cadence_device=".parse().unwrap());
        assert_eq!(presented_token(&empty, DEVICE_COOKIE), None);
    }

    #[test]
    fn the_cookie_is_http_only_and_secure_over_https() {
        let plain = set_cookie_header(DEVICE_COOKIE, "t", false);
        assert!(plain.starts_with("cadence_device=t; Path=/;") && plain.contains("HttpOnly"), "{plain}");
        assert!(!plain.contains("Secure"));
        assert!(set_cookie_header(SECURE_DEVICE_COOKIE, "t", true).ends_with("; Secure"));
        assert_ne!(token_hash("a"), "a");
    }
}
