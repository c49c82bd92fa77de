//! Verifying the `TikTok-Signature` header of webhook deliveries (tiktok-api.md §8.3).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How old a signature's timestamp may be. TikTok retries a failed delivery with exponential
/// backoff for up to 72 h and does not say that a retry is signed again, so a retry may carry
/// the first attempt's `t`; an hour on top covers the last retry's own backoff and clock skew.
/// Replays inside this span are harmless: deliveries are deduplicated by the hash of the body.
pub const MAX_AGE_SECS: i64 = (72 + 1) * 3600;
/// How far ahead of this server's clock a timestamp may be (clock skew). A timestamp further in
/// the future was not made by TikTok at the time of sending.
pub const MAX_AHEAD_SECS: i64 = 300;

/// Why a delivery was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing TikTok-Signature header")]
    Missing,
    #[error("malformed TikTok-Signature header")]
    Malformed,
    #[error("signature does not match the body")]
    Mismatch,
    #[error("signature timestamp is outside the allowed window")]
    Stale,
}

/// The parts of a `TikTok-Signature` value: `t` exactly as received (the signed payload is
/// built from this text, never from a re-formatted number) and every `s` that was hex.
#[derive(Debug, PartialEq, Eq)]
struct ParsedHeader<'a> {
    timestamp_text: &'a str,
    timestamp: i64,
    signatures: Vec<Vec<u8>>,
}

/// Splits on `,`, then each part on its first `=`. Unknown keys are skipped (TikTok may add
/// some); a second, different `t` is refused, since it is unclear which one was signed (the
/// same `t` twice is what a header sent twice and folded into one looks like).
fn parse(header: &str) -> Result<ParsedHeader<'_>, SignatureError> {
    let mut timestamp_text = None;
    let mut signatures = Vec::new();
    let mut saw_signature = false;
    for part in header.split(',') {
        let Some((key, value)) = part.split_once('=') else { continue };
        match key.trim() {
            "t" => match timestamp_text {
                Some(seen) if seen != value.trim() => return Err(SignatureError::Malformed),
                _ => timestamp_text = Some(value.trim()),
            },
            "s" => {
                saw_signature = true;
                // One garbled signature does not spoil the others.
                if let Ok(bytes) = hex::decode(value.trim()) {
                    signatures.push(bytes);
                }
            }
            _ => {}
        }
    }
    let timestamp_text = timestamp_text.ok_or(SignatureError::Malformed)?;
    let digits_only = !timestamp_text.is_empty() && timestamp_text.bytes().all(|b| b.is_ascii_digit());
    let timestamp = timestamp_text.parse::<i64>().ok().filter(|_| digits_only).ok_or(SignatureError::Malformed)?;
    if !saw_signature {
        return Err(SignatureError::Malformed);
    }
    Ok(ParsedHeader { timestamp_text, timestamp, signatures })
}

/// Checks `t=…,s=…[,s=…]` against `HMAC-SHA256(secret, "{t}.{body}")` in constant time (valid
/// when any `s` matches), then that `t` lies within TikTok's retry span.
pub fn verify(header: Option<&str>, body: &[u8], secret: &[u8], now_unix: i64) -> Result<(), SignatureError> {
    let parsed = parse(header.ok_or(SignatureError::Missing)?)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).map_err(|_| SignatureError::Malformed)?;
    mac.update(parsed.timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    // Every candidate is compared in full, so timing does not tell which one matched.
    let matched = parsed
        .signatures
        .iter()
        .fold(false, |matched, signature| mac.clone().verify_slice(signature).is_ok() | matched);
    if !matched {
        return Err(SignatureError::Mismatch);
    }
    let age = now_unix.saturating_sub(parsed.timestamp);
    if !(-MAX_AHEAD_SECS..=MAX_AGE_SECS).contains(&age) {
        return Err(SignatureError::Stale);
    }
    Ok(())
}

/// Builds a header value the way TikTok does (used by tests and the sandbox's counterpart).
pub fn sign(body: &[u8], secret: &[u8], timestamp: i64) -> String {
    format!("t={timestamp},s={}", signature_hex(body, secret, &timestamp.to_string()))
}

/// `lowercase_hex(HMAC_SHA256(secret, "{t}.{body}"))` for a `t` given as text.
pub fn signature_hex(body: &[u8], secret: &[u8], timestamp_text: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(timestamp_text.as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"client-secret";
    const BODY: &[u8] = br#"{"event":"authorization.removed"}"#;
    const T: i64 = 1_700_000_000;

    fn good() -> String {
        signature_hex(BODY, SECRET, &T.to_string())
    }

    #[test]
    fn a_fresh_correct_signature_passes() {
        let header = sign(BODY, SECRET, T);
        assert_eq!(verify(Some(&header), BODY, SECRET, T + 100), Ok(()));
    }

    #[test]
    fn wrong_body_secret_or_format_fail() {
        let header = sign(BODY, SECRET, T);
        assert_eq!(verify(Some(&header), b"{}", SECRET, T), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&header), BODY, b"other", T), Err(SignatureError::Mismatch));
        assert_eq!(verify(None, BODY, SECRET, 0), Err(SignatureError::Missing));
        assert_eq!(verify(Some("t=abc,s=zz"), BODY, SECRET, 0), Err(SignatureError::Malformed));
        assert_eq!(verify(Some(&format!("s={}", good())), BODY, SECRET, T), Err(SignatureError::Malformed), "no t");
        assert_eq!(verify(Some(&format!("t={T}")), BODY, SECRET, T), Err(SignatureError::Malformed), "no s");
        assert_eq!(verify(Some(&format!("t=-{T},s={}", good())), BODY, SECRET, T), Err(SignatureError::Malformed));
    }

    #[test]
    fn a_retry_signed_at_the_first_attempt_passes_for_72_hours() {
        let header = sign(BODY, SECRET, T);
        assert_eq!(verify(Some(&header), BODY, SECRET, T + 2 * 3600), Ok(()), "two hours old");
        assert_eq!(verify(Some(&header), BODY, SECRET, T + 72 * 3600), Ok(()), "TikTok's last retry");
        assert_eq!(verify(Some(&header), BODY, SECRET, T + MAX_AGE_SECS + 1), Err(SignatureError::Stale));
    }

    #[test]
    fn timestamps_from_the_future_are_refused_beyond_clock_skew() {
        let header = sign(BODY, SECRET, T);
        assert_eq!(verify(Some(&header), BODY, SECRET, T - 299), Ok(()));
        assert_eq!(verify(Some(&header), BODY, SECRET, T - 301), Err(SignatureError::Stale));
    }

    #[test]
    fn the_timestamp_is_signed_exactly_as_received() {
        // A leading zero changes the signed text, though not the number.
        let padded = format!("0{T}");
        let signed_padded = signature_hex(BODY, SECRET, &padded);
        assert_eq!(verify(Some(&format!("t={padded},s={signed_padded}")), BODY, SECRET, T), Ok(()));
        assert_eq!(verify(Some(&format!("t={padded},s={}", good())), BODY, SECRET, T), Err(SignatureError::Mismatch));
    }

    #[test]
    fn any_of_several_signatures_may_match() {
        let other = signature_hex(BODY, b"rotated-secret", &T.to_string());
        assert_eq!(verify(Some(&format!("t={T},s={other},s={}", good())), BODY, SECRET, T), Ok(()));
        assert_eq!(verify(Some(&format!("t={T},s={},s={other}", good())), BODY, SECRET, T), Ok(()));
        assert_eq!(verify(Some(&format!("t={T},s=not-hex,s={}", good())), BODY, SECRET, T), Ok(()), "garbled one skipped");
        assert_eq!(verify(Some(&format!("t={T},s={other},s=not-hex")), BODY, SECRET, T), Err(SignatureError::Mismatch));
    }

    #[test]
    fn parts_split_on_the_first_equals_sign_and_tolerate_spaces_and_unknown_keys() {
        assert_eq!(verify(Some(&format!(" t = {T} , v=1 , s = {} ", good())), BODY, SECRET, T), Ok(()));
        // The value keeps everything after the first `=`, so `s==…` is not a hex signature.
        assert_eq!(verify(Some(&format!("t={T},s=={}", good())), BODY, SECRET, T), Err(SignatureError::Mismatch));
        assert_eq!(verify(Some(&format!("t={T},t={},s={}", T + 1, good())), BODY, SECRET, T), Err(SignatureError::Malformed));
        assert_eq!(verify(Some(&format!("t={T},s={},t={T},s={}", good(), good())), BODY, SECRET, T), Ok(()), "a folded repeat");
        assert_eq!(verify(Some(&format!("junk,t={T},s={}", good())), BODY, SECRET, T), Ok(()));
    }

    #[test]
    fn matches_the_documented_construction() {
        // HMAC-SHA256("key", "1633174587.{}") computed independently with openssl.
        let header = sign(b"{}", b"key", 1633174587);
        assert_eq!(header, "t=1633174587,s=57bba546fe36393b94d43e78d6a3bb4c2582f074051241740f1b35df8687a619");
    }
}
