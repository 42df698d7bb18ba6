//! The key hierarchy: the Microsoft-managed and availability keys, the tenant intermediate key
//! (TIK) reached through the vault boundary as SharePoint's service principal, site keys and
//! file keys. Unwrapped keys live only in [`Secret`]s for the length of one call or batch: no
//! TIK is cached, so a permission change takes effect at the next read.

use super::APP_ID;
use crate::crypto::{self, RsaAlgorithm, Secret};
use crate::error::{CkStatus, Error, Result};
use crate::identity::Principal;
use crate::store::sharepoint::TikRow;
use crate::store::Store;
use crate::vault::boundary::{Caller, KeyReference, KeyVaultBoundary};
use serde::Serialize;

/// How the TIK is wrapped under the customer keys.
pub(crate) const TIK_ALGORITHM: RsaAlgorithm = RsaAlgorithm::OaepSha256;
const MANAGED_KEY_PURPOSE: &str = "sharepoint/microsoft-managed-key";
const AVAILABILITY_KEY_PURPOSE: &str = "sharepoint/availability-key";

/// SharePoint Online's service principal, as which every vault call of this domain acts.
pub fn service_principal() -> Principal {
    Principal::service(APP_ID)
}

/// The key sites are wrapped under before the tenant registers its own keys.
pub fn managed_key(store: &Store) -> Result<Secret> {
    store.keys().workload_key(MANAGED_KEY_PURPOSE)
}

/// The engine's availability key: wraps every TIK, used only for customer-initiated recovery.
pub fn availability_key(store: &Store) -> Result<Secret> {
    store.keys().workload_key(AVAILABILITY_KEY_PURPOSE)
}

/// The two customer keys of the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum KeyType {
    Primary,
    Secondary,
}

impl KeyType {
    pub fn parse(s: &str) -> Option<KeyType> {
        if s.eq_ignore_ascii_case("Primary") {
            Some(KeyType::Primary)
        } else if s.eq_ignore_ascii_case("Secondary") {
            Some(KeyType::Secondary)
        } else {
            None
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Primary => "Primary",
            KeyType::Secondary => "Secondary",
        }
    }
}

/// Whether one customer key can unwrap the policy's TIK now.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyHealth {
    pub key_type: KeyType,
    pub key_id: String,
    pub healthy: bool,
    /// Why not, when not healthy.
    pub message: Option<String>,
}

fn key_of(tik: &TikRow, key_type: KeyType) -> (&str, &[u8]) {
    match key_type {
        KeyType::Primary => (&tik.primary_key_id, &tik.primary_wrapped),
        KeyType::Secondary => (&tik.secondary_key_id, &tik.secondary_wrapped),
    }
}

fn unwrap_with(
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    tik: &TikRow,
    key_type: KeyType,
) -> Result<Secret> {
    let (id, wrapped) = key_of(tik, key_type);
    let key = KeyReference::parse("KeyId", id)?;
    vaults.unwrap_key(caller, &key, TIK_ALGORITHM, wrapped)
}

/// The TIK, unwrapped with its primary key or, failing that, its secondary key.
pub fn unwrap_tik(
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    tik: &TikRow,
) -> Result<Secret> {
    let primary = match unwrap_with(vaults, caller, tik, KeyType::Primary) {
        Ok(tik) => return Ok(tik),
        // Stopped, not refused: the secondary key would be stopped too.
        Err(e) if e.is_stop() => return Err(e),
        Err(e) => e,
    };
    let secondary = match unwrap_with(vaults, caller, tik, KeyType::Secondary) {
        Ok(tik) => return Ok(tik),
        Err(e) => e,
    };
    // A revoked permission is the customer's deliberate act: say so by category, whichever
    // key it was.
    let status = if primary.status == CkStatus::Forbidden || secondary.status == CkStatus::Forbidden
    {
        CkStatus::Forbidden
    } else {
        primary.status
    };
    Err(Error::new(
        status,
        "TenantKeyUnavailable",
        format!(
            "SharePoint cannot unwrap the tenant intermediate key with either customer key. Primary key {}: {}; secondary key {}: {}",
            tik.primary_key_id, primary.message, tik.secondary_key_id, secondary.message
        ),
        "SPODataEncryptionPolicy",
    ))
}

/// Tries each customer key on the TIK: what Get-SPODataEncryptionPolicy reports as KeyHealth.
pub fn key_health(
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    tik: &TikRow,
) -> Vec<KeyHealth> {
    [KeyType::Primary, KeyType::Secondary]
        .into_iter()
        .map(|key_type| {
            let result = unwrap_with(vaults, caller, tik, key_type);
            KeyHealth {
                key_type,
                key_id: key_of(tik, key_type).0.to_string(),
                healthy: result.is_ok(),
                message: result.err().map(|e| e.message),
            }
        })
        .collect()
}

/// A TIK wrapped under both customer keys (through the boundary) and the availability key.
pub fn wrap_tik(
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    store: &Store,
    tik: &Secret,
    (primary, secondary): (&KeyReference, &KeyReference),
    generation: i64,
    now: i64,
) -> Result<TikRow> {
    let p = vaults.wrap_key(caller, primary, TIK_ALGORITHM, tik.expose())?;
    let s = vaults.wrap_key(caller, secondary, TIK_ALGORITHM, tik.expose())?;
    Ok(TikRow {
        generation,
        primary_key_id: p.key_id,
        primary_wrapped: p.value,
        secondary_key_id: s.key_id,
        secondary_wrapped: s.value,
        availability_wrapped: crypto::aes_key_wrap(&availability_key(store)?, tik)?,
        created: now,
    })
}

/// The TIK through the availability key: customer-initiated recovery only.
pub fn unwrap_tik_for_recovery(store: &Store, tik: &TikRow) -> Result<Secret> {
    crypto::aes_key_unwrap(&availability_key(store)?, &tik.availability_wrapped).ok_or_else(damaged)
}

fn damaged() -> Error {
    Error::io(
        "stored SharePoint key material failed its integrity check; the store may be damaged",
        "",
    )
}

/// Wraps a site or file key under the key above it in the hierarchy.
pub fn wrap(kek: &Secret, key: &Secret) -> Result<Vec<u8>> {
    crypto::aes_key_wrap(kek, key)
}

/// Unwraps a site or file key; a wrong key or changed bytes is store damage.
pub fn unwrap(kek: &Secret, wrapped: &[u8]) -> Result<Secret> {
    crypto::aes_key_unwrap(kek, wrapped).ok_or_else(damaged)
}

fn file_aad(site_id: i64, name: &str) -> Vec<u8> {
    format!("spo-file/{site_id}/{}", name.to_lowercase()).into_bytes()
}

/// A file's content sealed under a fresh file key: (file key wrapped by the site key, sealed).
pub fn seal_file(
    site_key: &Secret,
    site_id: i64,
    name: &str,
    content: &[u8],
) -> Result<(Vec<u8>, Vec<u8>)> {
    let file_key = crypto::new_aes_key()?;
    let sealed = crypto::aes_gcm_seal(&file_key, content, &file_aad(site_id, name))?;
    Ok((wrap(site_key, &file_key)?, sealed))
}

/// A file's content, opened with its file key.
pub fn open_file(
    site_key: &Secret,
    site_id: i64,
    name: &str,
    wrapped_file_key: &[u8],
    sealed: &[u8],
) -> Result<Secret> {
    let file_key = unwrap(site_key, wrapped_file_key)?;
    crypto::aes_gcm_open(&file_key, sealed, &file_aad(site_id, name)).ok_or_else(damaged)
}

/// A key version as Register, Update and Restore take it: by vault, name and version, or by
/// versioned key URI. `params` names the parameters for the errors.
pub struct KeyArgument<'a> {
    pub vault_name: Option<&'a str>,
    pub key_name: Option<&'a str>,
    pub key_version: Option<&'a str>,
    pub uri: Option<&'a str>,
    /// (vault name, key name, key version, URI) parameter names.
    pub params: (&'a str, &'a str, &'a str, &'a str),
}

const VERSION_RULE: &str = "SharePoint uses only the key version given; a reference without a version would silently change meaning after a key roll";

/// The versioned key the argument names (not yet checked against the vault).
pub fn resolve_key(arg: &KeyArgument<'_>) -> Result<KeyReference> {
    let (vault_param, name_param, version_param, uri_param) = arg.params;
    if let Some(uri) = arg.uri {
        let key = KeyReference::parse(uri_param, uri)?;
        if key.version.is_none() {
            return Err(Error::invalid_argument(
                uri_param,
                format!("'{uri}' names no key version: give https://<vault>.vault.azure.net/keys/<name>/<version>; {VERSION_RULE}"),
            ));
        }
        return Ok(key);
    }
    let vault = arg
        .vault_name
        .ok_or_else(|| Error::invalid_argument(vault_param, "is mandatory"))?;
    let name = arg
        .key_name
        .ok_or_else(|| Error::invalid_argument(name_param, "is mandatory"))?;
    let version = arg.key_version.ok_or_else(|| {
        Error::invalid_argument(version_param, format!("is required: {VERSION_RULE}"))
    })?;
    let version = normalize_version(version_param, version)?;
    crate::vault::model::check_vault_name(vault).map_err(|e| renamed(e, vault_param))?;
    crate::vault::model::check_key_name(name).map_err(|e| renamed(e, name_param))?;
    KeyReference::parse(
        vault_param,
        &format!("https://{vault}.vault.azure.net/keys/{name}/{version}"),
    )
}

/// The same argument error under this operation's parameter name.
fn renamed(e: Error, param: &str) -> Error {
    let rule = e
        .message
        .split_once("': ")
        .map_or(e.message.as_str(), |(_, rule)| rule);
    Error::invalid_argument(param, rule)
}

/// A key version as Key Vault writes it (32 hex digits), also accepted in a GUID's form.
fn normalize_version(param: &str, version: &str) -> Result<String> {
    let digits: String = version.chars().filter(|c| *c != '-').collect();
    let guid_shaped = version.len() == 36
        && version
            .char_indices()
            .all(|(i, c)| (c == '-') == matches!(i, 8 | 13 | 18 | 23));
    if digits.len() == 32
        && digits.chars().all(|c| c.is_ascii_hexdigit())
        && (version.len() == 32 || guid_shaped)
    {
        Ok(digits.to_ascii_lowercase())
    } else {
        Err(Error::invalid_argument(
            param,
            "must be a key version: 32 hexadecimal digits, as Get-KeyVaultKey shows it (or the same digits as a GUID)",
        ))
    }
}

/// Checks, as SharePoint's service principal, that a key version can protect the TIK: it
/// exists, is enabled and in date, allows wrapKey and unwrapKey, the service principal holds
/// get, wrapKey and unwrapKey on its vault, and the vault has soft delete.
pub fn validate_key(
    vaults: &dyn KeyVaultBoundary,
    caller: &Caller<'_>,
    key: &KeyReference,
    param: &str,
    now: i64,
) -> Result<()> {
    let found = vaults.get_key(caller, key)?;
    if !found.is_usable_at(now) {
        return Err(Error::invalid_operation(
            "KeyNotUsable",
            format!(
                "Key {} is disabled or outside its NotBefore/Expires dates; SharePoint needs a key version it can wrap and unwrap with now",
                found.id()
            ),
            param,
        ));
    }
    for op in ["wrapKey", "unwrapKey"] {
        if !found.allows(op) {
            return Err(Error::invalid_operation(
                "KeyOperationNotAllowed",
                format!(
                    "Key {} does not allow {op} (KeyOps: {}); SharePoint wraps the tenant intermediate key with it. Update-KeyVaultKey -KeyOps wrapKey,unwrapKey allows both",
                    found.id(),
                    found.key_ops.join(", ")
                ),
                param,
            ));
        }
    }
    for permission in ["wrapKey", "unwrapKey"] {
        vaults.check_permission(caller, key, permission)?;
    }
    let vault = vaults.vault_properties(caller, key)?;
    if crate::vault::rules::soft_delete(vault.soft_delete).status
        == crate::vault::rules::Status::Fail
    {
        return Err(Error::invalid_operation(
            "SoftDeleteRequired",
            format!(
                "Vault '{}' does not have soft delete; Customer Key requires it on every vault it uses",
                key.vault_name
            ),
            param,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const V: &str = "0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921";

    fn by_name<'a>(version: Option<&'a str>) -> KeyArgument<'a> {
        KeyArgument {
            vault_name: Some("contoso-spo-a"),
            key_name: Some("spo-key"),
            key_version: version,
            uri: None,
            params: ("KeyVaultName", "KeyName", "KeyVersion", "KeyVaultUri"),
        }
    }

    #[test]
    fn versions_are_taken_as_hex_or_as_a_guid_and_come_out_as_key_vault_writes_them() {
        let hex = resolve_key(&by_name(Some(V))).unwrap();
        assert_eq!(
            hex.id(),
            format!("https://contoso-spo-a.vault.azure.net/keys/spo-key/{V}")
        );
        let guid = resolve_key(&by_name(Some("0F6C5A3C-2B1E-4D7A-9F8E-7D6C5B4A3921"))).unwrap();
        assert_eq!(guid, hex);
        for bad in [
            "latest",
            "0f6c5a3c2b1e4d7a9f8e7d6c5b4a392",
            "0f6c-5a3c2b1e4d7a9f8e7d6c5b4a3921",
        ] {
            let e = resolve_key(&by_name(Some(bad))).unwrap_err();
            assert_eq!(e.target, "KeyVersion", "{bad}");
        }
    }

    #[test]
    fn a_missing_version_is_refused_saying_why() {
        let e = resolve_key(&by_name(None)).unwrap_err();
        assert_eq!(e.target, "KeyVersion");
        assert!(e.message.contains("after a key roll"), "{}", e.message);
        let versionless = KeyArgument {
            uri: Some("https://contoso-spo-a.vault.azure.net/keys/spo-key"),
            ..by_name(None)
        };
        let e = resolve_key(&versionless).unwrap_err();
        assert_eq!(e.target, "KeyVaultUri");
        assert!(e.message.contains("names no key version"), "{}", e.message);
    }

    #[test]
    fn bad_names_are_refused_under_this_operation_s_parameter_names() {
        let bad_vault = KeyArgument {
            vault_name: Some("-bad"),
            ..by_name(Some(V))
        };
        let e = resolve_key(&bad_vault).unwrap_err();
        assert_eq!(e.target, "KeyVaultName");
        assert!(
            e.message.starts_with("Parameter 'KeyVaultName': '-bad'"),
            "{}",
            e.message
        );
        let bad_key = KeyArgument {
            key_name: Some("a b"),
            ..by_name(Some(V))
        };
        assert_eq!(resolve_key(&bad_key).unwrap_err().target, "KeyName");
    }

    #[test]
    fn files_open_only_with_their_site_key_and_their_own_name() {
        let site_key = crypto::new_aes_key().unwrap();
        let (wrapped, sealed) = seal_file(&site_key, 7, "a.txt", b"figures").unwrap();
        assert_eq!(
            open_file(&site_key, 7, "A.TXT", &wrapped, &sealed)
                .unwrap()
                .expose(),
            b"figures"
        );
        assert!(open_file(&site_key, 8, "a.txt", &wrapped, &sealed).is_err());
        assert!(open_file(&site_key, 7, "b.txt", &wrapped, &sealed).is_err());
        let other = crypto::new_aes_key().unwrap();
        assert!(open_file(&other, 7, "a.txt", &wrapped, &sealed).is_err());
    }
}
