//! Stored media handed to TikTok by PULL_FROM_URL: unguessable, expiring, single-purpose URLs
//! under the prefix the operator verified in TikTok's developer portal
//! (`CADENCE_MEDIA_PUBLIC_URL`), and what such a URL may serve.
//!
//! A URL names one stored file for one post. It serves bytes only once the publish id TikTok
//! gave for it is recorded (so an init whose reply was lost can never turn into a post), only
//! while that post is still on its way to TikTok, and never after it expires. Only a hash of its
//! token is stored.

use crate::{
    db::schema::{media, media_pulls, posts},
    posts::types::PostState,
};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;
use uuid::Uuid;

/// The path under which Cadence itself serves pull URLs. `CADENCE_MEDIA_PUBLIC_URL` must reach
/// it: `https://cadence.example.com/media/pull`, or a proxy or CDN domain that forwards there.
pub const ROUTE_PREFIX: &str = "/media/pull/";

/// How long TikTok may pull a URL: its download times out an hour after it starts (§4.7), plus
/// ten minutes for a start that waits in TikTok's queue.
pub const LIFETIME: time::Duration = time::Duration::minutes(70);

/// `CADENCE_MEDIA_PUBLIC_URL`, checked: an absolute https URL (plain http only to a loopback
/// host, for local runs), with no query, fragment or credentials. Kept without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MediaPublicUrl(String);

impl MediaPublicUrl {
    /// Checks the operator's setting; the error says what is wrong with it.
    pub fn parse(value: &str) -> Result<Self, String> {
        let trimmed = value.trim().trim_end_matches('/');
        let (secure, rest) = match (trimmed.strip_prefix("https://"), trimmed.strip_prefix("http://")) {
            (Some(rest), _) => (true, rest),
            (None, Some(rest)) => (false, rest),
            (None, None) => return Err(format!("{value:?} is not an https URL")),
        };
        let authority = rest.split('/').next().unwrap_or_default();
        if authority.is_empty() || authority.contains('@') || trimmed.contains(['?', '#', ' ']) {
            return Err(format!("{value:?} must be a plain URL prefix like https://cadence.example.com/media/pull (no query, fragment or credentials)"));
        }
        let host = authority.rsplit_once(':').map_or(authority, |(host, _)| host);
        if !secure && !["127.0.0.1", "localhost", "[::1]"].contains(&host) {
            return Err(format!("{value:?} must be https: TikTok pulls only from https URLs"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The prefix to verify in TikTok's portal (with its trailing slash).
    pub fn prefix(&self) -> String {
        format!("{}/", self.0)
    }

    /// The URL of one token.
    pub fn url_for(&self, token: &str) -> String {
        format!("{}/{token}", self.0)
    }
}

/// A new pull URL's token: 32 random bytes, URL-safe base64 (43 characters).
fn new_token() -> String {
    crate::crypto::random_token(32)
}

fn hash(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// Whether `token` has the shape of one Cadence hands out (so junk is refused before a query).
pub fn is_token_shaped(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Creates a pull URL for `post_id`'s stored `media_id`; returns its token (shown only in the
/// URL given to TikTok, never stored).
pub async fn grant(conn: &mut AsyncPgConnection, post_id: Uuid, media_id: Uuid) -> QueryResult<String> {
    let token = new_token();
    diesel::insert_into(media_pulls::table)
        .values((
            media_pulls::token_hash.eq(hash(&token)),
            media_pulls::post_id.eq(post_id),
            media_pulls::media_id.eq(media_id),
            media_pulls::expires_at.eq(OffsetDateTime::now_utc() + LIFETIME),
        ))
        .execute(conn)
        .await?;
    Ok(token)
}

/// Opens the URL of `token` for TikTok: records the publish id TikTok gave for it. Called in the
/// transaction that records the same publish id on the post.
pub async fn activate(conn: &mut AsyncPgConnection, token: &str, publish_id: &str) -> QueryResult<bool> {
    let updated = diesel::update(
        media_pulls::table.filter(media_pulls::token_hash.eq(hash(token))).filter(media_pulls::publish_id.is_null()),
    )
    .set(media_pulls::publish_id.eq(Some(publish_id)))
    .execute(conn)
    .await?;
    Ok(updated == 1)
}

/// Closes every pull URL of a post at once (the post settled, or its init is abandoned).
pub async fn revoke_for_post(conn: &mut AsyncPgConnection, post_id: Uuid) -> QueryResult<usize> {
    diesel::update(media_pulls::table.filter(media_pulls::post_id.eq(post_id)).filter(media_pulls::revoked_at.is_null()))
        .set(media_pulls::revoked_at.eq(Some(OffsetDateTime::now_utc())))
        .execute(conn)
        .await
}

/// Whether `publish_id` is a PULL_FROM_URL publish Cadence started (TikTok fetches the file
/// itself, so nothing is left for Cadence to send).
pub async fn is_pull(conn: &mut AsyncPgConnection, post_id: Uuid, publish_id: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        media_pulls::table.filter(media_pulls::post_id.eq(post_id)).filter(media_pulls::publish_id.eq(publish_id)),
    ))
    .get_result(conn)
    .await
}

/// What a pull URL may serve right now.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The file: its storage key, length and content type.
    Serve { pull_id: Uuid, post_id: Uuid, storage_key: String, byte_size: u64, content_type: String },
    /// Granted, but the publish id is not recorded yet (TikTok may ask within moments of the
    /// init, before Cadence has written its answer down).
    NotYetActive,
    /// Unknown, expired, revoked, or its post is no longer on its way.
    Gone,
}

/// Looks up `token` at `now`.
pub async fn lookup(conn: &mut AsyncPgConnection, token: &str, now: OffsetDateTime) -> QueryResult<Lookup> {
    if !is_token_shaped(token) {
        return Ok(Lookup::Gone);
    }
    let found: Option<(Uuid, Uuid, Uuid, Option<String>, OffsetDateTime, Option<OffsetDateTime>)> = media_pulls::table
        .filter(media_pulls::token_hash.eq(hash(token)))
        .select((
            media_pulls::id,
            media_pulls::post_id,
            media_pulls::media_id,
            media_pulls::publish_id,
            media_pulls::expires_at,
            media_pulls::revoked_at,
        ))
        .first(conn)
        .await
        .optional()?;
    let Some((pull_id, post_id, media_id, publish_id, expires_at, revoked_at)) = found else {
        return Ok(Lookup::Gone);
    };
    if expires_at <= now || revoked_at.is_some() {
        return Ok(Lookup::Gone);
    }
    let Some(publish_id) = publish_id else {
        return Ok(Lookup::NotYetActive);
    };
    // Only while the post still waits for TikTok to take this very publish.
    let (state, post_publish_id): (String, Option<String>) =
        posts::table.find(post_id).select((posts::state, posts::publish_id)).first(conn).await?;
    let on_its_way = [PostState::Uploading.as_str(), PostState::Processing.as_str()].contains(&state.as_str());
    if !on_its_way || post_publish_id.as_deref() != Some(publish_id.as_str()) {
        return Ok(Lookup::Gone);
    }
    let (storage_key, byte_size, content_type): (String, i64, String) = media::table
        .find(media_id)
        .select((media::storage_key, media::byte_size, media::content_type))
        .first(conn)
        .await?;
    Ok(Lookup::Serve { pull_id, post_id, storage_key, byte_size: byte_size.max(0) as u64, content_type })
}

/// Counts one served request, for the pull's record.
pub async fn record_pull(conn: &mut AsyncPgConnection, pull_id: Uuid, bytes: u64) -> QueryResult<()> {
    diesel::update(media_pulls::table.find(pull_id))
        .set((
            media_pulls::requests.eq(media_pulls::requests + 1),
            media_pulls::bytes_served.eq(media_pulls::bytes_served + bytes as i64),
            media_pulls::last_pulled_at.eq(Some(OffsetDateTime::now_utc())),
        ))
        .execute(conn)
        .await?;
    Ok(())
}

/// A `Range` request header, as far as Cadence serves it: one range of bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeRequest {
    /// No (usable) Range header: the whole file, 200.
    Whole,
    /// Bytes `first..=last` of the file, 206.
    Part { first: u64, last: u64 },
    /// A range outside the file: 416.
    Unsatisfiable,
}

/// Reads `Range` against a file of `len` bytes (RFC 9110 §14.2): `bytes=a-b`, `bytes=a-` and
/// `bytes=-n`. Several ranges or another unit are answered with the whole file, which the RFC
/// allows; a range that starts past the end is unsatisfiable.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|value| value.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return RangeRequest::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let number = |text: &str| text.parse::<u64>().ok();
    if first.is_empty() {
        // `-n`: the last n bytes.
        return match number(last) {
            Some(0) => RangeRequest::Unsatisfiable,
            Some(_) if len == 0 => RangeRequest::Unsatisfiable,
            Some(suffix) => RangeRequest::Part { first: len.saturating_sub(suffix), last: len - 1 },
            None => RangeRequest::Whole,
        };
    }
    let Some(first) = number(first) else {
        return RangeRequest::Whole;
    };
    let last = match (last.is_empty(), number(last)) {
        (true, _) => None,
        (false, Some(last)) => Some(last),
        (false, None) => return RangeRequest::Whole,
    };
    if last.is_some_and(|last| last < first) {
        return RangeRequest::Whole;
    }
    if first >= len {
        return RangeRequest::Unsatisfiable;
    }
    RangeRequest::Part { first, last: last.map_or(len - 1, |last| last.min(len - 1)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_setting_must_be_an_https_prefix() {
        let url = MediaPublicUrl::parse("https://cadence.example.com/media/pull/").unwrap();
        assert_eq!(url.prefix(), "https://cadence.example.com/media/pull/");
        assert_eq!(url.url_for("abc"), "https://cadence.example.com/media/pull/abc");
        assert!(MediaPublicUrl::parse("http://127.0.0.1:3000/media/pull").is_ok(), "loopback for local runs");
        assert!(MediaPublicUrl::parse("http://cadence.example.com/media/pull").unwrap_err().contains("https"));
        assert!(MediaPublicUrl::parse("cadence.example.com/media").is_err());
        assert!(MediaPublicUrl::parse("https://cadence.example.com/media?x=1").is_err());
        assert!(MediaPublicUrl::parse("https://user:pw@cadence.example.com/media").is_err());
    }

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (new_token(), new_token());
        assert_ne!(a, b);
        assert!(is_token_shaped(&a), "{a}");
        assert!(!is_token_shaped("../../etc/passwd"));
        assert!(!is_token_shaped(&a[..42]));
        assert_ne!(hash(&a), hash(&b));
    }

    #[test]
    fn ranges_are_read_as_the_rfc_says() {
        use RangeRequest::*;
        assert_eq!(parse_range(None, 100), Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Part { first: 0, last: 9 });
        assert_eq!(parse_range(Some("bytes=90-"), 100), Part { first: 90, last: 99 });
        assert_eq!(parse_range(Some("bytes=90-500"), 100), Part { first: 90, last: 99 }, "clamped to the end");
        assert_eq!(parse_range(Some("bytes=-10"), 100), Part { first: 90, last: 99 });
        assert_eq!(parse_range(Some("bytes=-500"), 100), Part { first: 0, last: 99 });
        assert_eq!(parse_range(Some("bytes=100-"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Whole, "several ranges: the whole file");
        assert_eq!(parse_range(Some("items=0-1"), 100), Whole);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Whole, "an invalid range is ignored");
        assert_eq!(parse_range(Some("bytes=x-3"), 100), Whole);
    }
}
