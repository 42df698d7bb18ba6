//! The one door through which workload code (Exchange, SharePoint, AIP) reaches keys: get a
//! key, wrap and unwrap with it, and check a principal's permission. Workloads hold a
//! `&dyn KeyVaultBoundary`; the local engine implements it here, and a remote backend for Azure
//! Key Vault's REST API can implement it later without touching those callers.

use super::key_operations::{perform_key_operation, KeyOperation};
use super::model::KeyVaultKeyOut;
use crate::crypto::RsaAlgorithm;
use crate::error::{Error, Result};
use crate::session::Call;

/// A key named by its Key Vault id (`https://{vault}.vault.azure.net/keys/{name}[/{version}]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyReference {
    pub vault_name: String,
    pub name: String,
    pub version: Option<String>,
}

impl KeyReference {
    pub fn parse(parameter: &str, id: &str) -> Result<Self> {
        let bad = || {
            Error::invalid_argument(parameter, format!("'{id}' is not a key id of the form https://<vault>.vault.azure.net/keys/<name>[/<version>]"))
        };
        let rest = id.strip_prefix("https://").ok_or_else(bad)?;
        let (host, path) = rest.split_once('/').ok_or_else(bad)?;
        let vault = host
            .strip_suffix(".vault.azure.net")
            .or_else(|| host.strip_suffix(".vault.azure.net:443"))
            .ok_or_else(bad)?;
        let mut parts = path.trim_end_matches('/').split('/');
        if parts.next() != Some("keys") {
            return Err(bad());
        }
        let name = parts.next().filter(|n| !n.is_empty()).ok_or_else(bad)?;
        let version = parts.next().map(str::to_string);
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(KeyReference {
            vault_name: vault.to_string(),
            name: name.to_string(),
            version,
        })
    }
}

pub trait KeyVaultBoundary {
    fn get_key(&self, call: &Call<'_>, key: &KeyReference) -> Result<KeyVaultKeyOut>;
    /// Wraps `value`; returns (key id of the version used, wrapped bytes).
    fn wrap_key(
        &self,
        call: &Call<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<(String, Vec<u8>)>;
    fn unwrap_key(
        &self,
        call: &Call<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<Vec<u8>>;
}

/// The embedded store's vaults.
pub struct LocalKeyVault;

impl KeyVaultBoundary for LocalKeyVault {
    fn get_key(&self, call: &Call<'_>, key: &KeyReference) -> Result<KeyVaultKeyOut> {
        let mut found = super::keys::get_key(
            call,
            super::keys::GetKeyArgs {
                vault_name: key.vault_name.clone(),
                name: Some(key.name.clone()),
                version: key.version.clone(),
                include_versions: false,
                in_removed_state: false,
            },
        )?;
        found.pop().ok_or_else(|| {
            Error::not_found(
                "KeyNotFound",
                format!("Key '{}' was not found", key.name),
                key.name.clone(),
            )
        })
    }

    fn wrap_key(
        &self,
        call: &Call<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<(String, Vec<u8>)> {
        perform_key_operation(
            call,
            &key.vault_name,
            &key.name,
            key.version.as_deref(),
            KeyOperation::Wrap,
            algorithm,
            value,
        )
    }

    fn unwrap_key(
        &self,
        call: &Call<'_>,
        key: &KeyReference,
        algorithm: RsaAlgorithm,
        value: &[u8],
    ) -> Result<Vec<u8>> {
        perform_key_operation(
            call,
            &key.vault_name,
            &key.name,
            key.version.as_deref(),
            KeyOperation::Unwrap,
            algorithm,
            value,
        )
        .map(|(_, bytes)| bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_parse_with_and_without_version() {
        let k = KeyReference::parse(
            "AzureKeyIDs",
            "https://v1.vault.azure.net/keys/k1/0123456789abcdef0123456789abcdef",
        )
        .unwrap();
        assert_eq!(k.vault_name, "v1");
        assert_eq!(
            k.version.as_deref(),
            Some("0123456789abcdef0123456789abcdef")
        );
        assert_eq!(
            KeyReference::parse("X", "https://v1.vault.azure.net/keys/k1")
                .unwrap()
                .version,
            None
        );
        assert!(KeyReference::parse("X", "https://v1.example.com/keys/k1").is_err());
        assert!(KeyReference::parse("X", "https://v1.vault.azure.net/secrets/k1").is_err());
    }
}
