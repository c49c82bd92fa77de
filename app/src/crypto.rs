//! Token encryption at rest: AES-256-GCM, a random nonce per value, the owning row's id as
//! associated data, and a key id in front so keys can be rotated.
//!
//! Sealed values look like `v1.<key id>.<base64url(nonce ‖ ciphertext ‖ tag)>`. The first key of
//! the list encrypts; every listed key decrypts, so an old key stays usable until
//! `server reencrypt-tokens` has moved every value to the current one.

use aes_gcm::{
    Aes256Gcm, Key, KeyInit, Nonce,
    aead::{Aead, Generate, Payload},
};
use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use secrecy::{ExposeSecret, SecretString};
use std::{fmt, path::Path};

const FORMAT_VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A decrypted token. It can be read with [`SecretToken::expose`] but never printed.
#[derive(Clone)]
pub struct SecretToken(SecretString);

impl SecretToken {
    pub fn new(value: impl Into<String>) -> Self {
        Self(SecretString::from(value.into()))
    }

    /// The plain token, for the one place that sends it to TikTok.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for SecretToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretToken([redacted])")
    }
}

/// Why a key list or a sealed value was refused. Never carries key or token material.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("no keys given; expected `id:key` entries separated by commas")]
    Empty,
    #[error("entry {0} is not `id:key` (an id of 1-16 letters, digits, '-' or '_', then the key)")]
    BadEntry(usize),
    #[error("key {0:?} is not 32 bytes of hex or base64 (AES-256 needs exactly 32 bytes)")]
    BadKey(String),
    #[error("key id {0:?} is listed twice")]
    DuplicateId(String),
    #[error("the value is not a sealed token")]
    Malformed,
    #[error("the value was sealed with key {0:?}, which is not configured")]
    UnknownKey(String),
    #[error("the value does not decrypt (wrong key, tampered, or sealed for another account)")]
    Undecryptable,
    #[error("{0}")]
    Io(String),
}

/// Holds the configured keys; cheap to share behind an `Arc`.
#[derive(Clone)]
pub struct TokenCipher {
    /// `(key id, cipher)`; the first one encrypts.
    keys: Vec<(String, Aes256Gcm)>,
}

impl fmt::Debug for TokenCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<&str> = self.keys.iter().map(|(id, _)| id.as_str()).collect();
        f.debug_struct("TokenCipher").field("key_ids", &ids).finish()
    }
}

impl TokenCipher {
    /// Parses `id:key,id:key,…`, each key being 32 bytes as hex or base64 (standard or URL-safe).
    pub fn from_key_list(list: &str) -> Result<Self, KeyError> {
        let mut keys: Vec<(String, Aes256Gcm)> = Vec::new();
        for (index, entry) in list.split([',', '\n']).map(str::trim).filter(|e| !e.is_empty()).enumerate() {
            let (id, encoded) = entry.split_once(':').ok_or(KeyError::BadEntry(index + 1))?;
            let id_ok = !id.is_empty()
                && id.len() <= 16
                && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !id_ok {
                return Err(KeyError::BadEntry(index + 1));
            }
            if keys.iter().any(|(existing, _)| existing == id) {
                return Err(KeyError::DuplicateId(id.to_owned()));
            }
            let bytes = decode_key(encoded.trim()).ok_or_else(|| KeyError::BadKey(id.to_owned()))?;
            let key = Key::<Aes256Gcm>::try_from(bytes.as_slice())
                .map_err(|_| KeyError::BadKey(id.to_owned()))?;
            keys.push((id.to_owned(), Aes256Gcm::new(&key)));
        }
        if keys.is_empty() {
            return Err(KeyError::Empty);
        }
        Ok(Self { keys })
    }

    /// Reads the key list from `path`, creating it with one fresh key (mode 0600) if missing.
    pub fn load_or_generate_file(path: &Path) -> Result<Self, KeyError> {
        match std::fs::read_to_string(path) {
            Ok(contents) => {
                refuse_shared_key_file(path)?;
                Self::from_key_list(&contents)
            }
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                let line = format!("{}\n", Self::generate_key_entry("local1"));
                write_owner_only(path, &line).map_err(|e| KeyError::Io(e.to_string()))?;
                Self::from_key_list(&line)
            }
            Err(error) => Err(KeyError::Io(error.to_string())),
        }
    }

    /// A new `id:base64key` entry with a random key, for key files and `.env`.
    pub fn generate_key_entry(id: &str) -> String {
        let key = Key::<Aes256Gcm>::generate();
        format!("{id}:{}", URL_SAFE_NO_PAD.encode(key.as_slice()))
    }

    /// Every configured key id, the encrypting one first (ids are not secret; keys are).
    pub fn key_ids(&self) -> Vec<&str> {
        self.keys.iter().map(|(id, _)| id.as_str()).collect()
    }

    /// The id of the key that encrypts new values.
    pub fn current_key_id(&self) -> &str {
        &self.keys[0].0
    }

    /// Seals `plain` for the row `owner_id`; the result only opens for that same owner id.
    pub fn encrypt(&self, plain: &str, owner_id: &str) -> Result<String, KeyError> {
        let (id, cipher) = &self.keys[0];
        let nonce = Nonce::generate();
        let sealed = cipher
            .encrypt(&nonce, Payload { msg: plain.as_bytes(), aad: owner_id.as_bytes() })
            .map_err(|_| KeyError::Undecryptable)?;
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(nonce.as_slice());
        bytes.extend_from_slice(&sealed);
        Ok(format!("{FORMAT_VERSION}.{id}.{}", URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// Opens a value sealed by [`TokenCipher::encrypt`] for the same `owner_id`.
    pub fn decrypt(&self, sealed: &str, owner_id: &str) -> Result<SecretToken, KeyError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(FORMAT_VERSION), Some(id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Malformed);
        };
        let bytes = URL_SAFE_NO_PAD.decode(body).map_err(|_| KeyError::Malformed)?;
        if bytes.len() < NONCE_LEN + TAG_LEN {
            return Err(KeyError::Malformed);
        }
        let cipher = self
            .keys
            .iter()
            .find(|(key_id, _)| key_id == id)
            .map(|(_, cipher)| cipher)
            .ok_or_else(|| KeyError::UnknownKey(id.to_owned()))?;
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce).map_err(|_| KeyError::Malformed)?;
        let plain = cipher
            .decrypt(&nonce, Payload { msg: ciphertext, aad: owner_id.as_bytes() })
            .map_err(|_| KeyError::Undecryptable)?;
        String::from_utf8(plain).map(SecretToken::new).map_err(|_| KeyError::Undecryptable)
    }

    /// True when `sealed` was made with a key other than the current one (re-encryption needed).
    pub fn needs_reencryption(&self, sealed: &str) -> bool {
        sealed.split('.').nth(1) != Some(self.current_key_id())
    }
}

/// `bytes` random bytes as URL-safe base64 without padding: invite tokens, OAuth states, CSP
/// nonces (all three are valid in URLs and in a CSP `nonce-` source).
pub fn random_token(bytes: usize) -> String {
    use rand::RngCore as _;
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    URL_SAFE_NO_PAD.encode(buffer)
}

/// Lower-case hex SHA-256, the stored form of single-use secrets and webhook bodies.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest as _, Sha256};
    hex::encode(Sha256::digest(bytes))
}

fn decode_key(encoded: &str) -> Option<Vec<u8>> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
    if encoded.len() == 64 && encoded.chars().all(|c| c.is_ascii_hexdigit()) {
        return hex::decode(encoded).ok();
    }
    [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(encoded).ok())
        .filter(|bytes| bytes.len() == 32)
}

/// A key file others on the machine can read gives away every token it seals, so one with
/// group or other permission bits is refused rather than used.
fn refuse_shared_key_file(path: &Path) -> Result<(), KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(path).map_err(|e| KeyError::Io(e.to_string()))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::Io(format!(
                "{} can be read by other users (mode {:o}); make it owner-only with `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            )));
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

fn write_owner_only(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX_KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn cipher(list: &str) -> TokenCipher {
        TokenCipher::from_key_list(list).unwrap()
    }

    #[test]
    fn round_trip_with_a_fresh_nonce_each_time() {
        let cipher = cipher(&format!("k1:{HEX_KEY}"));
        let first = cipher.encrypt("act.token", "acct-1").unwrap();
        let second = cipher.encrypt("act.token", "acct-1").unwrap();
        assert_ne!(first, second, "nonces must differ");
        assert!(first.starts_with("v1.k1."));
        assert!(!first.contains("act.token"));
        assert_eq!(cipher.decrypt(&first, "acct-1").unwrap().expose(), "act.token");
    }

    #[test]
    fn a_value_copied_to_another_account_does_not_open() {
        let cipher = cipher(&format!("k1:{HEX_KEY}"));
        let sealed = cipher.encrypt("rft.token", "acct-1").unwrap();
        assert_eq!(cipher.decrypt(&sealed, "acct-2").unwrap_err(), KeyError::Undecryptable);
    }

    #[test]
    fn old_keys_decrypt_and_the_first_key_encrypts() {
        let old = cipher(&format!("old:{HEX_KEY}"));
        let sealed_old = old.encrypt("act.x", "a").unwrap();
        let new_key = TokenCipher::generate_key_entry("new");
        let rotated = cipher(&format!("{new_key},old:{HEX_KEY}"));
        assert_eq!(rotated.decrypt(&sealed_old, "a").unwrap().expose(), "act.x");
        assert!(rotated.needs_reencryption(&sealed_old));
        let resealed = rotated.encrypt("act.x", "a").unwrap();
        assert!(!rotated.needs_reencryption(&resealed));
        assert_eq!(old.decrypt(&resealed, "a").unwrap_err(), KeyError::UnknownKey("new".into()));
    }

    #[test]
    fn keys_parse_as_hex_or_base64_and_bad_ones_are_named() {
        assert!(TokenCipher::from_key_list(&TokenCipher::generate_key_entry("b64")).is_ok());
        let std_b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(TokenCipher::from_key_list(&format!("s:{std_b64}")).is_ok());
        assert_eq!(TokenCipher::from_key_list("").unwrap_err(), KeyError::Empty);
        assert_eq!(TokenCipher::from_key_list("nocolon").unwrap_err(), KeyError::BadEntry(1));
        assert_eq!(TokenCipher::from_key_list("k:abcd").unwrap_err(), KeyError::BadKey("k".into()));
        let short = base64::engine::general_purpose::STANDARD.encode([7u8; 16]);
        assert_eq!(TokenCipher::from_key_list(&format!("k:{short}")).unwrap_err(), KeyError::BadKey("k".into()));
        assert_eq!(
            TokenCipher::from_key_list(&format!("a:{HEX_KEY},a:{HEX_KEY}")).unwrap_err(),
            KeyError::DuplicateId("a".into())
        );
    }

    #[test]
    fn malformed_or_tampered_values_are_refused() {
        let cipher = cipher(&format!("k1:{HEX_KEY}"));
        assert_eq!(cipher.decrypt("plain", "a").unwrap_err(), KeyError::Malformed);
        assert_eq!(cipher.decrypt("v1.k1.AAAA", "a").unwrap_err(), KeyError::Malformed);
        let sealed = cipher.encrypt("act.x", "a").unwrap();
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(cipher.decrypt(&tampered, "a").unwrap_err(), KeyError::Undecryptable);
    }

    #[test]
    fn random_tokens_are_url_safe_and_distinct() {
        let (a, b) = (random_token(24), random_token(24));
        assert_ne!(a, b);
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn secrets_never_print() {
        let token = SecretToken::new("act.very-secret");
        assert_eq!(format!("{token:?}"), "SecretToken([redacted])");
        let cipher = cipher(&format!("k1:{HEX_KEY}"));
        assert!(!format!("{cipher:?}").contains(HEX_KEY));
    }

    #[cfg(unix)]
    #[test]
    fn generated_key_files_are_owner_only() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = std::env::temp_dir().join(format!("cadence-key-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("token-keys");
        TokenCipher::load_or_generate_file(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        TokenCipher::load_or_generate_file(&path).expect("an owner-only file is used as it is");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = TokenCipher::load_or_generate_file(&path).unwrap_err().to_string();
        assert!(refused.contains("can be read by other users") && refused.contains("chmod 600"), "{refused}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
