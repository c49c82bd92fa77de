//! Checking at start that the configured token keys open the tokens the database holds.
//!
//! A server started with the wrong keys (a lost key file, a second server that generated its
//! own `local1`) would otherwise run for days with every account looking connected while no
//! token opens. One stored token per key id is test-decrypted, so the server refuses to start
//! and names the key id instead.

use crate::crypto::{KeyError, TokenCipher};
use diesel::{
    QueryableByName,
    sql_types::{Text, Uuid as SqlUuid},
};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Why the stored tokens and the configured keys disagree.
#[derive(Debug, thiserror::Error)]
pub enum KeyCheckError {
    #[error("reading stored tokens failed: {0}")]
    Database(#[from] diesel::result::Error),
    #[error(
        "stored TikTok tokens sealed with key id {key_id:?} do not open with the configured token keys \
         ({why}). Put that key back into CADENCE_TOKEN_KEYS (or the key file), or, if it is lost for good, \
         disconnect and reconnect the affected accounts."
    )]
    Mismatch { key_id: String, why: &'static str },
}

#[derive(QueryableByName)]
struct Sample {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
    #[diesel(sql_type = Text)]
    sealed: String,
}

/// The key id of a sealed value (`v1.<key id>.<body>`), if it has one.
pub fn key_id_of(sealed: &str) -> Option<&str> {
    sealed.split('.').nth(1)
}

/// Test-decrypts the most recently written refresh token of each key id found in the
/// database. Returns how many key ids were checked.
pub async fn check_stored_keys(conn: &mut AsyncPgConnection, cipher: &TokenCipher) -> Result<usize, KeyCheckError> {
    let samples: Vec<Sample> = diesel::sql_query(
        "SELECT DISTINCT ON (split_part(encrypted_refresh_token, '.', 2)) id, encrypted_refresh_token AS sealed \
         FROM tiktok_accounts WHERE encrypted_refresh_token IS NOT NULL \
         ORDER BY split_part(encrypted_refresh_token, '.', 2), updated_at DESC",
    )
    .load(conn)
    .await?;
    for sample in &samples {
        if let Err(error) = cipher.decrypt(&sample.sealed, &sample.id.to_string()) {
            let why = match error {
                KeyError::UnknownKey(_) => "no configured key has that id",
                KeyError::Malformed => "the stored value is damaged",
                _ => "a key with that id is configured, but it is a different key",
            };
            let key_id = key_id_of(&sample.sealed).unwrap_or("?").to_owned();
            return Err(KeyCheckError::Mismatch { key_id, why });
        }
    }
    Ok(samples.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_id_is_the_second_part_of_a_sealed_value() {
        let cipher = TokenCipher::from_key_list(&TokenCipher::generate_key_entry("k7")).unwrap();
        let sealed = cipher.encrypt("secret", "owner").unwrap();
        assert_eq!(key_id_of(&sealed), Some("k7"));
        assert_eq!(key_id_of("garbage"), None);
    }
}
