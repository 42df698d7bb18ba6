//! Key Vault's REST bodies ([`keyvault`]), Azure Resource Manager's vault and role bodies
//! ([`arm`], [`authorization`]) and Microsoft Graph's directory objects ([`graph`]) as typed
//! serde structs, written by `customer-key serve` and read by the Azure client
//! (`vault::remote`), with the one key id parser ([`Kid`]) and the one base64url both use. A
//! leaf: it names nothing of the crate.

use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::fmt;
use zeroize::Zeroizing;

/// Each body's struct, with what every body has: a field is left out of what is written when
/// it is `None`, as the specification's optional properties are.
macro_rules! bodies {
    ($($(#[$meta:meta])* pub struct $name:ident {
        $($(#[$field_meta:meta])* pub $field:ident: $type:ty,)*
    })*) => {$(
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        $(#[$meta])*
        pub struct $name {
            $($(#[$field_meta])* #[serde(skip_serializing_if = "crate::wire::Absent::absent")] pub $field: $type,)*
        }
    )*};
}

/// Whether a field is left out of what is written: an optional one when it is `None`.
trait Absent {
    fn absent(&self) -> bool {
        false
    }
}

impl<T> Absent for Option<T> {
    fn absent(&self) -> bool {
        self.is_none()
    }
}

impl Absent for String {}
impl<T> Absent for Vec<T> {}
impl Absent for SecretText {}

pub mod arm;
pub mod authorization;
pub mod graph;
pub mod keyvault;
mod kid;

pub use kid::Kid;

/// Bytes as Key Vault's JSON carries them: base64url without padding.
pub fn to_base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Key Vault's base64url as clients and the service write it: with or without padding, the
/// standard alphabet tolerated.
pub fn from_base64url(text: &str) -> Option<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    URL_SAFE_NO_PAD
        .decode(trimmed)
        .or_else(|_| STANDARD_NO_PAD.decode(trimmed))
        .ok()
}

/// Key material in a body (a private key's `d`, `p`, `q`, `dp`, `dq`, `qi` and `k`, a value to
/// wrap or an unwrapped one, a backup): wiped when dropped, never shown by `Debug`.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SecretText(Zeroizing<String>);

impl SecretText {
    pub fn new(text: String) -> SecretText {
        SecretText(Zeroizing::new(text))
    }

    /// The bytes' base64url, the text wiped when dropped.
    pub fn of_bytes(bytes: &[u8]) -> SecretText {
        SecretText::new(to_base64url(bytes))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} characters redacted>", self.0.len())
    }
}
