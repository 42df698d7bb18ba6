//! The one door through which workload code (Exchange, SharePoint, AIP) reaches keys: get a
//! key, wrap and unwrap with it, and check a permission, each as a named principal (the
//! workload's service principal). Workloads hold an `Arc<dyn KeyVaultBoundary>`; the embedded
//! engine implements it in [`super::local`], and a backend for Azure Key Vault's REST API can
//! implement it without touching those callers. Calls are made outside the caller's own
//! transaction: the vault may be remote.

use super::key_operations::KeyOperation;
use crate::crypto::{RsaAlgorithm, Secret};
use crate::error::{Error, Result};
use crate::identity::Principal;

/// Who calls, on which clock, for which operation (the audit row's operation name).
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub principal: &'a Principal,
    /// The clock of the session the call comes from (audit times, expiry checks).
    pub clock: &'a crate::time::Clock,
    /// Seconds added to the wall clock (a rehearsal store's TimeShiftSeconds).
    pub time_shift: i64,
    pub operation: &'a str,
}

/// The Azure clouds' key vault DNS suffixes a key id may name.
const VAULT_DOMAINS: &[&str] = &[
    "vault.azure.net",
    "vault.azure.cn",
    "vault.usgovcloudapi.net",
    "vault.microsoftazure.de",
];

/// A key named by its Key Vault id (`https://{vault}.vault.azure.net/keys/{name}[/{version}]`).
/// The vault's full URI is kept, so a remote backend can address the vault it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReference {
    /// `https://{vault}.{domain}[:port]`, without a trailing slash, host lower-cased.
    pub vault_uri: String,
    pub vault_name: String,
    pub name: String,
    pub version: Option<String>,
}

impl KeyReference {
    /// Parses a key id; `parameter` names the argument in the error.
    pub fn parse(parameter: &str, id: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::invalid_argument(
                parameter,
                format!("'{id}' is not a key id of the form https://<vault>.vault.azure.net/keys/<name>[/<version>]: {why}"),
            )
        };
        let kid = crate::wire::Kid::parse(id).map_err(bad)?;
        let host = kid.authority.split(':').next().unwrap_or_default();
        let (vault, domain) = host
            .split_once('.')
            .ok_or_else(|| bad("its host names no vault"))?;
        let known_domain = VAULT_DOMAINS.contains(&domain)
            || domain == "localhost"
            || domain.ends_with(".localhost");
        if !known_domain {
            return Err(bad("its host is not a key vault host"));
        }
        super::model::check_vault_name(vault).map_err(|_| bad("its vault name is not valid"))?;
        super::model::check_key_name(&kid.name).map_err(|_| bad("its key name is not valid"))?;
        if let Some(v) = &kid.version {
            if v.len() != 32 || !v.chars().all(|c| c.is_ascii_hexdigit()) {
                return Err(bad("its version must be 32 hexadecimal characters"));
            }
        }
        Ok(KeyReference {
            vault_uri: format!("https://{}", kid.authority),
            vault_name: vault.to_string(),
            name: kid.name,
            version: kid.version.map(|v| v.to_ascii_lowercase()),
        })
    }

    /// The id again: `{vault_uri}/keys/{name}[/{version}]`.
    pub fn id(&self) -> String {
        crate::wire::Kid::id(&self.vault_uri, &self.name, self.version.as_deref())
    }

    /// The same key at one version.
    pub fn at_version(&self, version: &str) -> KeyReference {
        KeyReference {
            version: Some(version.to_string()),
            ..self.clone()
        }
    }
}

/// The public part of an RSA key, big-endian.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RsaPublicKey {
    pub modulus: Vec<u8>,
    pub exponent: Vec<u8>,
}

/// One version of a key, as a workload needs it: never key material but the public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultKey {
    /// The versioned key id.
    pub key: KeyReference,
    pub version: String,
    pub enabled: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub created: i64,
    pub updated: i64,
    pub key_ops: Vec<String>,
    pub key_type: String,
    pub key_size: u32,
    pub public_key: RsaPublicKey,
}

impl VaultKey {
    pub fn id(&self) -> String {
        self.key.id()
    }
    pub fn allows(&self, key_op: &str) -> bool {
        self.key_ops.iter().any(|o| o == key_op)
    }
    /// Enabled, and within NotBefore/Expires at `now`.
    pub fn is_usable_at(&self, now: i64) -> bool {
        self.enabled
            && self.not_before.is_none_or(|nbf| now >= nbf)
            && self.expires.is_none_or(|exp| now < exp)
    }
}

/// A vault as a workload needs to know it: whether it protects against accidental loss.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VaultProperties {
    pub vault_uri: String,
    pub soft_delete: bool,
    pub purge_protection: bool,
}

/// Wrapped bytes (or a signature) and the versioned key id that made them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapped {
    pub key_id: String,
    pub value: Vec<u8>,
}

/// What workloads may ask of a vault, as `caller.principal`, with Key Vault's permission
/// checks (`keys/get`, `keys/wrapKey`, `keys/unwrapKey`) and key state enforced on each call,
/// and each call audited, success or failure, under the acting principal.
pub trait KeyVaultBoundary: Send + Sync {
    /// The version named, or the newest version when the reference has none (`keys/get`).
    fn get_key(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<VaultKey>;
    /// Every version of the key, oldest first (`keys/list`).
    fn list_versions(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<Vec<VaultKey>>;
    /// The vault's soft-delete and purge-protection settings (no key permission needed, as
    /// in Azure, where they are the vault resource's properties).
    fn vault_properties(&self, caller: &Caller<'_>, key: &KeyReference) -> Result<VaultProperties>;
    /// Runs one key operation with the version named (or the newest), with the permission it
    /// needs (`keys/<op>`); returns the versioned key id used and the result. The store's vault
    /// and Azure's implement this; the four operations below are it.
    fn key_operation(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        op: KeyOperation,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<(String, Secret)>;
    /// Wraps `value` with the version named (or the newest) (`keys/wrapKey`).
    fn wrap_key(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<Wrapped> {
        let (key_id, wrapped) =
            self.key_operation(caller, key, KeyOperation::Wrap, algorithm, value)?;
        Ok(Wrapped {
            key_id,
            value: wrapped.into_unprotected(),
        })
    }
    /// Unwraps with the version named (`keys/unwrapKey`).
    fn unwrap_key(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<Secret> {
        self.key_operation(caller, key, KeyOperation::Unwrap, algorithm, value)
            .map(|(_, unwrapped)| unwrapped)
    }
    /// Decrypts with the version named (`keys/decrypt`), as Azure Information Protection
    /// decrypts content keys with its tenant key.
    fn decrypt(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<Secret> {
        self.key_operation(caller, key, KeyOperation::Decrypt, algorithm, value)
            .map(|(_, plaintext)| plaintext)
    }
    /// Signs a SHA-256 digest with RS256 with the version named (`keys/sign`); the algorithm
    /// passed to `key_operation` is not read by Sign.
    fn sign(&self, caller: &Caller<'_>, key: &KeyReference, digest: &[u8]) -> Result<Wrapped> {
        let (key_id, signature) = self.key_operation(
            caller,
            key,
            KeyOperation::Sign,
            RsaAlgorithm::OaepSha256,
            digest,
        )?;
        Ok(Wrapped {
            key_id,
            value: signature.into_unprotected(),
        })
    }
    /// Whether `caller.principal` holds `keys/<permission>` on the key's vault: Ok, or the
    /// Forbidden error naming the permission.
    fn check_permission(
        &self,
        caller: &Caller<'_>,
        key: &KeyReference,
        permission: &str,
    ) -> Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn key_ids_parse_with_and_without_version_and_keep_the_vault_uri() {
        let k = KeyReference::parse(
            "AzureKeyIDs",
            &format!("https://Vault1.vault.azure.net/keys/k1/{V}"),
        )
        .unwrap();
        assert_eq!(k.vault_name, "vault1");
        assert_eq!(k.vault_uri, "https://vault1.vault.azure.net");
        assert_eq!(k.version.as_deref(), Some(V));
        assert_eq!(
            k.id(),
            format!("https://vault1.vault.azure.net/keys/k1/{V}")
        );
        let versionless =
            KeyReference::parse("X", "https://vault1.vault.azure.net/keys/k1").unwrap();
        assert_eq!(versionless.version, None);
        let local = KeyReference::parse("X", "https://vault1.localhost:8443/keys/k1/").unwrap();
        assert_eq!(local.vault_uri, "https://vault1.localhost:8443");
        let china = KeyReference::parse("X", "https://vault1.vault.azure.cn/keys/k1").unwrap();
        assert_eq!(china.vault_uri, "https://vault1.vault.azure.cn");
    }

    #[test]
    fn malformed_key_ids_are_refused_naming_the_parameter() {
        for bad in [
            "http://v1.vault.azure.net/keys/k1",
            "https://vault1.example.com/keys/k1",
            "https://vault1.vault.azure.net/secrets/k1",
            "https://vault1.vault.azure.net/keys/",
            "https://vault1.vault.azure.net/keys/k1/notaversion",
            "https://vault1.vault.azure.net/keys/k1/0123456789abcdef0123456789abcdef/extra",
            "https://vault1.vault.azure.net:x/keys/k1",
            "https://vault.azure.net/keys/k1",
        ] {
            let e = KeyReference::parse("AzureKeyIDs", bad).unwrap_err();
            assert_eq!(e.target, "AzureKeyIDs", "{bad}");
        }
    }
}
