//! Field encryption at rest: authenticated encryption (XChaCha20-Poly1305) of personal data, with
//! key rotation, and blind indexes (HMAC-SHA256) for looking a value up without storing it.
//!
//! A sealed value reads `enc:v1:<key id>:<base64url(nonce ‖ ciphertext)>`. The column name is the
//! associated data, so a value copied into another column does not decrypt.

use std::collections::HashMap;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum VaultError {
    #[error("key `{0}`: expected ID:BASE64 with 32 bytes of key material")]
    BadKey(String),
    #[error("no encryption key is configured")]
    NoKey,
    #[error("a stored value cannot be decrypted (unknown key `{0}` or tampered data)")]
    Undecryptable(String),
}

/// The keys. The first is current (used to seal); all are used to open, so old data stays
/// readable after a rotation until it is re-sealed.
#[derive(Clone)]
pub struct Vault {
    current: String,
    keys: HashMap<String, XChaCha20Poly1305>,
    index_key: Vec<u8>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault").field("current", &self.current).field("keys", &self.keys.len()).finish()
    }
}

const PREFIX: &str = "enc:v1:";

impl Vault {
    /// Builds a vault from `ID:BASE64` keys (current first) and a blind-index key (base64).
    pub fn new(keys: &[String], index_key: &str) -> Result<Self, VaultError> {
        let mut map = HashMap::new();
        let mut current = None;
        for k in keys {
            let (id, material) = k.split_once(':').ok_or_else(|| VaultError::BadKey(redact(k)))?;
            let bytes = STANDARD.decode(material.trim()).map_err(|_| VaultError::BadKey(id.to_string()))?;
            if bytes.len() != 32 || id.is_empty() || id.contains(':') {
                return Err(VaultError::BadKey(id.to_string()));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| VaultError::BadKey(id.to_string()))?;
            current.get_or_insert_with(|| id.to_string());
            map.insert(id.to_string(), cipher);
        }
        let index_key = STANDARD.decode(index_key.trim()).map_err(|_| VaultError::BadKey("index".into()))?;
        if index_key.len() < 32 {
            return Err(VaultError::BadKey("index".into()));
        }
        Ok(Self { current: current.ok_or(VaultError::NoKey)?, keys: map, index_key })
    }

    /// Fresh random key material: a key line `ID:BASE64` and an index key.
    pub fn generate_key(id: &str) -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        format!("{id}:{}", STANDARD.encode(k))
    }

    pub fn generate_index_key() -> String {
        let mut k = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut k);
        STANDARD.encode(k)
    }

    /// A vault with random keys (tests).
    pub fn ephemeral() -> Self {
        Self::new(&[Self::generate_key("k1")], &Self::generate_index_key()).expect("generated keys are valid")
    }

    pub fn current_key(&self) -> &str {
        &self.current
    }

    /// Encrypts `plain` for `column` with the current key.
    pub fn seal(&self, column: &str, plain: &str) -> String {
        let mut nonce = [0u8; 24];
        rand::thread_rng().fill_bytes(&mut nonce);
        let cipher = &self.keys[&self.current];
        let ct = cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: column.as_bytes() })
            .expect("encryption of a short value cannot fail");
        let mut raw = nonce.to_vec();
        raw.extend(ct);
        format!("{PREFIX}{}:{}", self.current, URL_SAFE_NO_PAD.encode(raw))
    }

    /// Decrypts a sealed value of `column`.
    pub fn open(&self, column: &str, sealed: &str) -> Result<String, VaultError> {
        let bad = || VaultError::Undecryptable(column.to_string());
        let rest = sealed.strip_prefix(PREFIX).ok_or_else(bad)?;
        let (id, data) = rest.split_once(':').ok_or_else(bad)?;
        let cipher = self.keys.get(id).ok_or_else(|| VaultError::Undecryptable(format!("{column} (key {id})")))?;
        let raw = URL_SAFE_NO_PAD.decode(data).map_err(|_| bad())?;
        if raw.len() < 24 {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(24);
        let plain = cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: column.as_bytes() })
            .map_err(|_| bad())?;
        String::from_utf8(plain).map_err(|_| bad())
    }

    pub fn seal_opt(&self, column: &str, plain: Option<&str>) -> Option<String> {
        plain.map(|p| self.seal(column, p))
    }

    pub fn open_opt(&self, column: &str, sealed: Option<&str>) -> Result<Option<String>, VaultError> {
        sealed.map(|s| self.open(column, s)).transpose()
    }

    /// Whether `sealed` was sealed with a key other than the current one.
    pub fn needs_reseal(&self, sealed: &str) -> bool {
        !sealed.starts_with(&format!("{PREFIX}{}:", self.current))
    }

    /// A deterministic keyed hash of a value, to find rows by it without storing it.
    pub fn blind_index(&self, purpose: &str, value: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.index_key).expect("HMAC takes any key length");
        mac.update(purpose.as_bytes());
        mac.update(&[0]);
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn redact(k: &str) -> String {
    k.split(':').next().unwrap_or("?").chars().take(12).collect()
}

/// Masks a phone number for display: `13812341234` → `138****1234`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() <= 7 {
        return "*".repeat(chars.len());
    }
    let (head, tail) = (3, 4);
    let mut out: String = chars[..head].iter().collect();
    out.push_str(&"*".repeat(chars.len() - head - tail));
    out.extend(&chars[chars.len() - tail..]);
    out
}

/// Masks a name: `张伟` → `张*`, `Li Hua` → `L*****`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_opens_and_binds_to_the_column() {
        let v = Vault::ephemeral();
        let s = v.seal("people.phone", "13812341234");
        assert!(s.starts_with("enc:v1:k1:"));
        assert!(!s.contains("1381234"));
        assert_ne!(s, v.seal("people.phone", "13812341234"), "random nonces");
        assert_eq!(v.open("people.phone", &s).unwrap(), "13812341234");
        assert!(v.open("people.name", &s).is_err(), "another column's value does not open");
        let mut tampered = s.clone();
        tampered.pop();
        tampered.push(if s.ends_with('A') { 'B' } else { 'A' });
        assert!(v.open("people.phone", &tampered).is_err());
    }

    #[test]
    fn rotation_keeps_old_values_readable() {
        let old = Vault::generate_key("k1");
        let index = Vault::generate_index_key();
        let v1 = Vault::new(std::slice::from_ref(&old), &index).unwrap();
        let sealed = v1.seal("c", "secret");
        let v2 = Vault::new(&[Vault::generate_key("k2"), old], &index).unwrap();
        assert_eq!(v2.open("c", &sealed).unwrap(), "secret");
        assert!(v2.needs_reseal(&sealed));
        assert!(!v2.needs_reseal(&v2.seal("c", "secret")));
        assert_eq!(v1.blind_index("phone", "1"), v2.blind_index("phone", "1"));
        let v3 = Vault::new(&[Vault::generate_key("k3")], &index).unwrap();
        assert!(v3.open("c", &sealed).is_err(), "a dropped key no longer opens");
    }

    #[test]
    fn refuses_bad_keys_and_masks() {
        assert!(Vault::new(&["k1:short".into()], &Vault::generate_index_key()).is_err());
        assert!(Vault::new(&[], &Vault::generate_index_key()).is_err());
        assert_eq!(mask_phone("13812341234"), "138****1234");
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_phone("110"), "***");
    }
}
