//! Random identifiers shaped like TikTok's: log ids, tokens, authorization codes, publish and post ids.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use rand::distr::Alphanumeric;
use time::OffsetDateTime;

/// `YYYYMMDDhhmmss` (UTC) followed by 20 uppercase hex digits: 34 characters, as in TikTok's examples.
pub fn log_id() -> String {
    log_id_at(OffsetDateTime::now_utc(), rand::rng().random::<u128>())
}

fn log_id_at(now: OffsetDateTime, random: u128) -> String {
    // 20 hex digits are 80 bits; the mask keeps the formatting at exactly that width.
    let tail = random & ((1u128 << 80) - 1);
    format!(
        "{:04}{:02}{:02}{:02}{:02}{:02}{:020X}",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        tail
    )
}

fn alphanumeric(len: usize) -> String {
    rand::rng().sample_iter(Alphanumeric).take(len).map(char::from).collect()
}

pub fn access_token() -> String {
    format!("act.{}", alphanumeric(64))
}

pub fn refresh_token() -> String {
    format!("rft.{}", alphanumeric(64))
}

pub fn client_token() -> String {
    format!("clt.{}", alphanumeric(64))
}

/// Codes carry `*` and `!` like TikTok's (`…BELY*0!6410`), so a client that forgets to
/// URL-decode the callback or to encode the token request breaks visibly.
pub fn authorization_code() -> String {
    let mut rng = rand::rng();
    let bytes: [u8; 24] = rng.random();
    format!("{}*{}!{:04}", URL_SAFE_NO_PAD.encode(bytes), rng.random_range(0..10), rng.random_range(0..10_000))
}

/// An opaque id for the consent form, so the form cannot be edited to change the request.
pub fn consent_request_id() -> String {
    alphanumeric(32)
}

/// A 19-digit number that fits an int64, like TikTok's post ids (`7261463769757501445`).
pub fn nineteen_digits() -> i64 {
    rand::rng().random_range(7_000_000_000_000_000_000..7_600_000_000_000_000_000)
}

pub fn direct_publish_id() -> String {
    format!("v_pub_file~v2-1.{}", nineteen_digits())
}

pub fn inbox_publish_id() -> String {
    format!("v_inbox_file~v2.{}", nineteen_digits())
}

pub fn direct_pull_publish_id() -> String {
    format!("v_pub_url~v2-1.{}", nineteen_digits())
}

pub fn inbox_pull_publish_id() -> String {
    format!("v_inbox_url~v2.{}", nineteen_digits())
}

pub fn photo_publish_id() -> String {
    format!("p_pub_url~v2.{}", nineteen_digits())
}

pub fn photo_inbox_publish_id() -> String {
    format!("p_inbox_url~v2.{}", nineteen_digits())
}

pub fn upload_token() -> String {
    alphanumeric(32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn log_id_is_timestamp_plus_twenty_hex_digits() {
        let id = log_id_at(datetime!(2024-08-29 19:00:20 UTC), u128::MAX);
        assert_eq!(id, "20240829190020FFFFFFFFFFFFFFFFFFFF");
        assert_eq!(id.len(), 34);
        let id = log_id_at(datetime!(2024-01-02 03:04:05 UTC), 0xAB);
        assert_eq!(id, format!("20240102030405{}AB", "0".repeat(18)));
        assert_eq!(log_id().len(), 34);
    }

    #[test]
    fn codes_contain_characters_that_need_url_encoding() {
        let code = authorization_code();
        assert!(code.contains('*') && code.contains('!'), "{code}");
    }

    #[test]
    fn post_ids_have_nineteen_digits() {
        for _ in 0..100 {
            assert_eq!(nineteen_digits().to_string().len(), 19);
        }
        assert!(direct_publish_id().starts_with("v_pub_file~v2-1."));
        assert!(inbox_publish_id().starts_with("v_inbox_file~v2."));
    }

    #[test]
    fn tokens_carry_tiktoks_prefixes() {
        assert!(access_token().starts_with("act."));
        assert!(refresh_token().starts_with("rft."));
        assert!(client_token().starts_with("clt."));
    }
}
