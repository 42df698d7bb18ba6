//! A policy's customer keys as the policy's service principal sees them: each AzureKeyIDs entry
//! checked and resolved to a key version (New-, Set- -Refresh and -Replace), a revision's policy
//! key wrapped by each, and each version's health (KeyHealth), shared by the mailbox and the
//! multi-workload policies.

use super::keys::{self, policy_key_aad};
use super::Service;
use crate::crypto::{self, gcm_seal, RsaAlgorithm, Secret};
use crate::error::{Error, Result};
use crate::store::exchange::{RevisionRow, WrapRow};
use crate::vault::boundary::{KeyReference, VaultKey};
use crate::vault::rules::{self, Status};
use serde::Serialize;

pub(crate) const KEY_IDS: &str = "AzureKeyIDs";

/// One customer key's state as Exchange Online sees it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyHealth {
    pub id: String,
    pub usable: bool,
    pub reason: Option<String>,
    /// The vault could not be reached (the only failure the availability key covers).
    #[serde(skip)]
    pub unreachable: bool,
}

/// Re-targets a vault's refusal at the parameter that named the key, keeping its category.
pub(crate) fn on_key_parameter(id: &str, mut e: Error) -> Error {
    e.message = format!("{KEY_IDS}: key '{id}': {}", e.message);
    e.target = KEY_IDS.to_string();
    e
}

/// The health of one versioned key for the service principal of `service`.
pub(crate) fn key_health(service: &Service, key_id: &str) -> KeyHealth {
    let fail = |e: Error| KeyHealth {
        id: key_id.to_string(),
        usable: false,
        unreachable: e.status == crate::error::CkStatus::Unavailable,
        reason: Some(e.message),
    };
    let reference = match KeyReference::parse(KEY_IDS, key_id) {
        Ok(r) => r,
        Err(e) => return fail(e),
    };
    let caller = service.caller();
    for permission in ["wrapKey", "unwrapKey"] {
        if let Err(e) = service
            .vaults()
            .check_permission(&caller, &reference, permission)
        {
            return fail(e);
        }
    }
    match service.vaults().get_key(&caller, &reference) {
        Err(e) => fail(e),
        Ok(k) if !k.is_usable_at(service.now()) => KeyHealth {
            id: key_id.to_string(),
            usable: false,
            unreachable: false,
            reason: Some("the key version is disabled, not yet valid or expired".into()),
        },
        Ok(k) if !rules::allows_wrapping(&k.key_ops) => KeyHealth {
            id: key_id.to_string(),
            usable: false,
            unreachable: false,
            reason: Some("the key version no longer allows wrapKey and unwrapKey".into()),
        },
        Ok(_) => KeyHealth {
            id: key_id.to_string(),
            usable: true,
            unreachable: false,
            reason: None,
        },
    }
}

/// The health of the keys a policy uses now (its current revision's), read from the store in
/// one transaction and asked of the vaults outside any.
pub(crate) fn current_health(
    ctx: &crate::operations::Context<'_>,
    service: &Service,
    policy: &crate::store::exchange::PolicyRow,
) -> Result<Vec<KeyHealth>> {
    let wraps =
        ctx.read(|tx| crate::store::exchange::revision_wraps(tx, &policy.current_revision))?;
    Ok(revision_health(service, &wraps))
}

/// The health of every key of a revision.
pub(crate) fn revision_health(service: &Service, tx_wraps: &[WrapRow]) -> Vec<KeyHealth> {
    tx_wraps
        .iter()
        .map(|w| key_health(service, &w.key_id))
        .collect()
}

/// Checks one AzureKeyIDs entry as the service principal and resolves it to a key version
/// (versionless: the newest). Returns the version and any warning.
fn resolve_key(service: &Service, id: &str) -> Result<(VaultKey, Option<String>)> {
    let reference = KeyReference::parse(KEY_IDS, id)?;
    let caller = service.caller();
    let vaults = service.vaults();
    let props = vaults
        .vault_properties(&caller, &reference)
        .map_err(|e| on_key_parameter(id, e))?;
    if rules::soft_delete(props.soft_delete).status == Status::Fail {
        return Err(Error::invalid_argument(
            KEY_IDS,
            format!(
                "key '{id}': vault '{}' must have soft delete enabled for Customer Key",
                reference.vault_name
            ),
        ));
    }
    let warning = (rules::purge_protection(props.purge_protection, None).status != Status::Pass).then(|| {
        format!("Vault '{}' has no purge protection: a purged key cannot be recovered; enable purge protection on it.", reference.vault_name)
    });
    for permission in rules::SERVICE_PERMISSIONS {
        vaults
            .check_permission(&caller, &reference, permission)
            .map_err(|e| {
                on_key_parameter(
                    id,
                    Error { message: format!("{} (the {} service principal {} needs get, wrapKey and unwrapKey on the vault)", e.message, service.workload().service_name(), service.workload().application_id()), ..e },
                )
            })?;
    }
    let key = vaults
        .get_key(&caller, &reference)
        .map_err(|e| on_key_parameter(id, e))?;
    if !key.is_usable_at(service.now()) {
        return Err(Error::invalid_argument(
            KEY_IDS,
            format!("key '{}' is not enabled (or outside its NotBefore/Expires dates); a versionless id uses the newest version, which must be enabled", key.id()),
        ));
    }
    if !rules::allows_wrapping(&key.key_ops) {
        return Err(Error::invalid_argument(
            KEY_IDS,
            format!(
                "key '{}' must allow wrapKey and unwrapKey in its KeyOps (it allows {})",
                key.id(),
                key.key_ops.join(", ")
            ),
        ));
    }
    Ok((key, warning))
}

/// Checks the key list's shape and resolves each key: two or more, each in its own vault.
pub(crate) fn resolve_keys(
    service: &Service,
    ids: &[String],
) -> Result<(Vec<VaultKey>, Vec<String>)> {
    if ids.len() < 2 {
        return Err(Error::invalid_argument(
            KEY_IDS,
            format!("needs at least two key ids, in two different vaults, so that either key can keep the data readable; {} given", ids.len()),
        ));
    }
    let mut vaults_seen: Vec<String> = Vec::new();
    for id in ids {
        let r = KeyReference::parse(KEY_IDS, id)?;
        vaults_seen.push(r.vault_name);
        let names: Vec<&str> = vaults_seen.iter().map(String::as_str).collect();
        if let Some(shared) = rules::shared_vault(&names) {
            return Err(Error::invalid_argument(
                KEY_IDS,
                format!("two keys are in vault '{shared}'; each key must be in a different vault"),
            ));
        }
    }
    let mut keys = Vec::new();
    let mut warnings = Vec::new();
    for id in ids {
        let (key, warning) = resolve_key(service, id)?;
        keys.push(key);
        warnings.extend(warning);
    }
    Ok((keys, warnings))
}

/// A new revision: a fresh policy key wrapped by each key (through the vault, as the
/// service) and sealed under the availability key.
pub(crate) fn new_revision(
    service: &Service,
    policy_guid: &str,
    seq: i64,
    keys_to_use: &[VaultKey],
    availability: &Secret,
    now: i64,
) -> Result<(RevisionRow, Vec<WrapRow>)> {
    let id = crypto::new_guid()?;
    let policy_key = keys::new_key()?;
    let mut wraps = Vec::new();
    for (i, key) in keys_to_use.iter().enumerate() {
        let wrapped = service
            .vaults()
            .wrap_key(
                &service.caller(),
                &key.key,
                RsaAlgorithm::OaepSha256,
                policy_key.expose(),
            )
            .map_err(|e| on_key_parameter(&key.id(), e))?;
        wraps.push(WrapRow {
            position: i as i64,
            key_id: wrapped.key_id,
            wrapped: wrapped.value,
        });
    }
    let under_availability = gcm_seal(
        availability.expose(),
        policy_key.expose(),
        &policy_key_aad(&id),
    )?;
    Ok((
        RevisionRow {
            id,
            policy: policy_guid.to_string(),
            seq,
            created: now,
            policy_key_under_availability: Some(under_availability),
        },
        wraps,
    ))
}

/// The key references (vault, name, version) of a revision's wraps.
pub(crate) fn references_of(wraps: &[WrapRow]) -> Result<Vec<(String, String, String)>> {
    wraps
        .iter()
        .map(|w| {
            let r = KeyReference::parse(KEY_IDS, &w.key_id)?;
            Ok((r.vault_name, r.name, r.version.unwrap_or_default()))
        })
        .collect()
}
