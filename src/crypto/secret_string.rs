//! A secret text argument (a password): never printed, wiped when dropped.

use serde::{Deserialize, Deserializer};

/// Text that is a secret, as a `SecureString` parameter carries it into the engine.
#[derive(Default)]
pub struct SecretString(String);

impl SecretString {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for SecretString {
    fn from(text: String) -> Self {
        SecretString(text)
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(SecretString)
    }
}

impl Drop for SecretString {
    fn drop(&mut self) {
        // SAFETY: zero bytes are valid UTF-8, so the String stays valid while it is wiped.
        let bytes = unsafe { self.0.as_bytes_mut() };
        for b in bytes.iter_mut() {
            // SAFETY: `b` is a valid, exclusive reference into the string's buffer; the
            // volatile write keeps the wipe from being optimised away.
            unsafe { std::ptr::write_volatile(b, 0) };
        }
    }
}

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(..)")
    }
}
