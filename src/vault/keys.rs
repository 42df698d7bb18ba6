//! Keys and key versions: create (roll) or import, get, update, soft delete, recover and purge.
//! The cryptographic operations are in `key_operations`.

use super::model::{check_key_name, key_out, KeyVaultKeyOut, DEFAULT_RSA_KEY_OPS};
use super::{active_vault, authorize, refuse_if_referenced};
use crate::crypto;
use crate::error::{Error, Result};
use crate::session::Call;
use crate::store::vaults::{self as sql, KeyRow, Tags, VaultRow, VersionRow};
use chrono::{DateTime, Utc};
use rusqlite::Transaction;
use serde::Deserialize;
use zeroize::Zeroizing;

fn key_not_found(vault: &str, name: &str, deleted: bool) -> Error {
    Error::not_found(
        "KeyNotFound",
        format!(
            "A key with (name/id) {name} was not found in vault '{vault}'{}",
            if deleted { " in the deleted state" } else { "" }
        ),
        name,
    )
}

/// A key that exists and is not deleted.
pub(crate) fn active_key(tx: &Transaction<'_>, vault: &VaultRow, name: &str) -> Result<KeyRow> {
    sql::get_key(tx, &vault.name, name)?
        .filter(|k| k.deleted_date.is_none())
        .ok_or_else(|| key_not_found(&vault.name, name, false))
}

fn deleted_key(tx: &Transaction<'_>, vault: &VaultRow, name: &str) -> Result<KeyRow> {
    sql::get_key(tx, &vault.name, name)?
        .filter(|k| k.deleted_date.is_some())
        .ok_or_else(|| key_not_found(&vault.name, name, true))
}

/// One version (the newest when `version` is None).
pub(crate) fn find_version(
    tx: &Transaction<'_>,
    key: &KeyRow,
    version: Option<&str>,
) -> Result<VersionRow> {
    let found = match version.filter(|v| !v.is_empty()) {
        Some(v) => sql::get_version(tx, &key.vault, &key.name, v)?,
        None => sql::latest_version(tx, &key.vault, &key.name)?,
    };
    found.ok_or_else(|| {
        Error::not_found(
            "KeyNotFound",
            format!(
                "Version '{}' of key '{}' was not found in vault '{}'",
                version.unwrap_or(""),
                key.name,
                key.vault
            ),
            key.name.clone(),
        )
    })
}

fn unix(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp())
}

fn check_dates(not_before: Option<i64>, expires: Option<i64>) -> Result<()> {
    if let (Some(nbf), Some(exp)) = (not_before, expires) {
        if exp <= nbf {
            return Err(Error::invalid_argument(
                "Expires",
                "must be later than NotBefore",
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct AddKeyArgs {
    pub vault_name: String,
    pub name: String,
    pub destination: Option<String>,
    pub key_ops: Option<Vec<String>>,
    pub not_before: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    #[serde(default)]
    pub disable: bool,
    pub tag: Option<Tags>,
    pub size: Option<i64>,
    pub key_type: Option<String>,
    pub key_file_path: Option<String>,
    /// Wiped when dropped, from the moment the arguments are parsed.
    pub key_file_password: Option<Zeroizing<String>>,
}

/// Creates a key, or when the name exists a new version of it (a roll); older versions stay.
pub fn add_key(call: &Call<'_>, a: AddKeyArgs) -> Result<KeyVaultKeyOut> {
    check_key_name(&a.name)?;
    let hsm = match (a.destination.as_deref(), a.key_type.as_deref()) {
        (Some("Software"), Some("RSA-HSM")) => {
            return Err(Error::invalid_argument(
                "KeyType",
                "RSA-HSM needs -Destination HSM",
            ))
        }
        (Some("HSM"), _) | (_, Some("RSA-HSM")) => true,
        _ => false,
    };
    let (not_before, expires) = (unix(a.not_before), unix(a.expires));
    check_dates(not_before, expires)?;
    let key_ops: Vec<String> = match &a.key_ops {
        Some(ops) if ops.is_empty() => {
            return Err(Error::invalid_argument(
                "KeyOps",
                "must name at least one operation",
            ))
        }
        Some(ops) => ops.clone(),
        None => DEFAULT_RSA_KEY_OPS.iter().map(|s| s.to_string()).collect(),
    };
    let permission = if a.key_file_path.is_some() {
        "import"
    } else {
        "create"
    };
    // Check access before reading a file or spending seconds on key generation; the write
    // transaction below checks again against the state it commits to.
    call.read(|tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, call.principal(), permission)
    })?;
    // -Size/-KeyType versus -KeyFilePath/-KeyFilePassword are the table's parameter sets
    // (InteractiveCreate, InteractiveImport), checked before this runs.
    let material = match &a.key_file_path {
        Some(path) => {
            let bytes = crypto::Secret::new(read_limited(path, "KeyFilePath", 64 * 1024)?);
            crypto::import_rsa(
                bytes.expose(),
                a.key_file_password.as_deref().map(String::as_str),
            )?
        }
        None => {
            let size = a.size.unwrap_or(2048);
            if ![2048, 3072, 4096].contains(&size) {
                return Err(Error::invalid_argument(
                    "Size",
                    "must be 2048, 3072 or 4096",
                ));
            }
            crypto::generate_rsa(size as u32)?
        }
    };
    let version = crypto::new_version_id()?;
    let (wrapped, sealed) = call
        .store()
        .keys()
        .seal_private(&material.pkcs8, version.as_bytes())?;
    let now = call.now();
    call.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, call.principal(), permission)?;
        if hsm && !vault.sku.eq_ignore_ascii_case("Premium") {
            return Err(Error::invalid_argument(
                "Destination",
                format!("HSM keys need a Premium vault; vault '{}' is {}", vault.name, vault.sku),
            ));
        }
        let key = match sql::get_key(tx, &vault.name, &a.name)? {
            Some(k) if k.deleted_date.is_some() => {
                return Err(Error::conflict(
                    format!(
                        "Key '{}' is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered (Undo-KeyVaultKeyRemoval) or purged",
                        k.name
                    ),
                    &a.name,
                ))
            }
            Some(k) => k,
            None => {
                sql::insert_key(tx, &vault.name, &a.name)?;
                KeyRow { vault: vault.name.clone(), name: a.name.clone(), deleted_date: None, scheduled_purge: None }
            }
        };
        let row = VersionRow {
            vault: vault.name.clone(),
            name: key.name.clone(),
            version: version.clone(),
            seq: sql::next_version_seq(tx, &vault.name, &key.name)?,
            kty: if hsm { "RSA-HSM" } else { "RSA" }.into(),
            size: material.bits as i64,
            key_ops: key_ops.clone(),
            enabled: !a.disable,
            not_before,
            expires,
            created: now,
            updated: now,
            tags: a.tag.clone().unwrap_or_default(),
            modulus: material.modulus.clone(),
            exponent: material.exponent.clone(),
            wrapped_data_key: wrapped.clone(),
            sealed_private_key: sealed.clone(),
        };
        sql::insert_version(tx, &row)?;
        Ok(key_out(&vault, &key, &row))
    })
}

pub(crate) fn read_limited(path: &str, parameter: &str, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return Err(Error::invalid_argument(
            parameter,
            format!("{path} is not a regular file"),
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| {
        let status = if e.kind() == std::io::ErrorKind::NotFound {
            crate::CkStatus::NotFound
        } else {
            crate::CkStatus::Io
        };
        Error::new(
            status,
            "FileNotReadable",
            format!("Parameter '{parameter}': cannot read {path}: {e}"),
            path,
        )
    })?;
    let mut bytes = Vec::new();
    f.take(limit + 1).read_to_end(&mut bytes).map_err(|e| {
        Error::io(
            format!("Parameter '{parameter}': cannot read {path}: {e}"),
            path,
        )
    })?;
    if bytes.len() as u64 > limit {
        return Err(Error::invalid_argument(
            parameter,
            format!("{path} is larger than {limit} bytes"),
        ));
    }
    Ok(bytes)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct GetKeyArgs {
    pub vault_name: String,
    pub name: Option<String>,
    pub version: Option<String>,
    #[serde(default)]
    pub include_versions: bool,
    #[serde(default)]
    pub in_removed_state: bool,
}

pub fn get_key(call: &Call<'_>, a: GetKeyArgs) -> Result<Vec<KeyVaultKeyOut>> {
    // Which combinations may be given is the table's parameter sets (ByVaultName,
    // ByKeyVersion, ByKeyVersions), checked before this runs.
    let target = format!("{}/{}", a.vault_name, a.name.as_deref().unwrap_or("*"));
    call.transaction(&target, |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        let listing = a.name.is_none() || a.include_versions;
        authorize(
            tx,
            &vault,
            call.principal(),
            if listing { "list" } else { "get" },
        )?;
        let keys = match &a.name {
            Some(n) if a.in_removed_state => vec![deleted_key(tx, &vault, n)?],
            Some(n) => vec![active_key(tx, &vault, n)?],
            None => sql::list_keys(tx, &vault.name, a.in_removed_state)?,
        };
        let mut out = Vec::new();
        for key in &keys {
            if a.include_versions {
                for v in sql::list_versions(tx, &vault.name, &key.name)? {
                    out.push(key_out(&vault, key, &v));
                }
            } else {
                let v = find_version(tx, key, a.version.as_deref())?;
                out.push(key_out(&vault, key, &v));
            }
        }
        Ok(out)
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UpdateKeyArgs {
    pub vault_name: String,
    pub name: String,
    pub version: Option<String>,
    pub enable: Option<bool>,
    pub expires: Option<DateTime<Utc>>,
    pub not_before: Option<DateTime<Utc>>,
    pub key_ops: Option<Vec<String>>,
    pub tag: Option<Tags>,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub pass_thru: bool,
}

pub fn update_key(call: &Call<'_>, a: UpdateKeyArgs) -> Result<Option<KeyVaultKeyOut>> {
    let now = call.now();
    call.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, call.principal(), "update")?;
        let key = active_key(tx, &vault, &a.name)?;
        let mut row = find_version(tx, &key, a.version.as_deref())?;
        let before = row.clone();
        if let Some(e) = a.enable {
            row.enabled = e;
        }
        if a.expires.is_some() {
            row.expires = unix(a.expires);
        }
        if a.not_before.is_some() {
            row.not_before = unix(a.not_before);
        }
        check_dates(row.not_before, row.expires)?;
        if let Some(ops) = &a.key_ops {
            if ops.is_empty() {
                return Err(Error::invalid_argument(
                    "KeyOps",
                    "must name at least one operation",
                ));
            }
            row.key_ops = ops.clone();
        }
        if let Some(t) = &a.tag {
            row.tags = t.clone();
        }
        // Microsoft only warns: content stays encrypted under old versions after a roll
        // (inactive mailboxes, SharePoint backups), and a customer who disabled the previous
        // version broke mailboxes. So a version a policy uses keeps unwrapping unless the admin
        // insists, whether the change disables it, dates it out or drops unwrapKey.
        if can_unwrap(&before, now) && !can_unwrap(&row, now) {
            let refs = sql::key_references(tx, &vault.name, Some(&key.name))?;
            if refs
                .iter()
                .any(|r| r.version.as_deref().is_none_or(|v| v == row.version))
            {
                refuse_if_referenced(
                    tx,
                    &vault.name,
                    Some(&key.name),
                    a.force,
                    "disable, date out or restrict this version of",
                )?;
            }
        }
        row.updated = now;
        sql::update_version_attributes(tx, &row)?;
        Ok(a.pass_thru.then(|| key_out(&vault, &key, &row)))
    })
}

/// Whether a version can unwrap at `now`: what a data encryption policy needs of it.
fn can_unwrap(v: &VersionRow, now: i64) -> bool {
    v.enabled
        && v.not_before.is_none_or(|nbf| nbf <= now)
        && v.expires.is_none_or(|exp| exp > now)
        && v.key_ops.iter().any(|o| o == "unwrapKey")
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct RemoveKeyArgs {
    pub vault_name: String,
    pub name: String,
    #[serde(default)]
    pub in_removed_state: bool,
    #[serde(default)]
    pub force: bool,
    #[serde(default)]
    pub pass_thru: bool,
}

/// Soft-deletes a key with every version, or (-InRemovedState) purges a deleted key.
pub fn remove_key(call: &Call<'_>, a: RemoveKeyArgs) -> Result<Option<KeyVaultKeyOut>> {
    let now = call.now();
    let removed = call.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        if a.in_removed_state {
            authorize(tx, &vault, call.principal(), "purge")?;
            let key = deleted_key(tx, &vault, &a.name)?;
            if vault.purge_protection {
                return Err(Error::forbidden(
                    format!(
                        "Vault '{}' has purge protection: key '{}' cannot be purged; it is purged by the system on {}",
                        vault.name,
                        key.name,
                        key.scheduled_purge.map(crate::time::iso_from_unix).unwrap_or_default()
                    ),
                    &key.name,
                ));
            }
            refuse_if_referenced(tx, &vault.name, Some(&key.name), a.force, "purge")?;
            let out = find_version(tx, &key, None).map(|v| key_out(&vault, &key, &v))?;
            sql::delete_key(tx, &vault.name, &key.name)?;
            return Ok(a.pass_thru.then_some(out));
        }
        authorize(tx, &vault, call.principal(), "delete")?;
        let mut key = active_key(tx, &vault, &a.name)?;
        refuse_if_referenced(tx, &vault.name, Some(&key.name), a.force, "delete")?;
        let latest = find_version(tx, &key, None)?;
        if vault.soft_delete {
            let deleted = (now, now + vault.retention_days * 86_400);
            sql::set_key_deleted(tx, &vault.name, &key.name, Some(deleted))?;
            key.deleted_date = Some(deleted.0);
            key.scheduled_purge = Some(deleted.1);
        } else {
            sql::delete_key(tx, &vault.name, &key.name)?;
            key.deleted_date = Some(now);
        }
        Ok(a.pass_thru.then(|| key_out(&vault, &key, &latest)))
    })?;
    // Purged or deleted-for-good material leaves memory once the removal is committed.
    call.store().forget_private_keys();
    Ok(removed)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UndoKeyRemovalArgs {
    pub vault_name: String,
    pub name: String,
}

pub fn undo_key_removal(call: &Call<'_>, a: UndoKeyRemovalArgs) -> Result<KeyVaultKeyOut> {
    call.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, call.principal(), "recover")?;
        let mut key = deleted_key(tx, &vault, &a.name)?;
        sql::set_key_deleted(tx, &vault.name, &key.name, None)?;
        key.deleted_date = None;
        key.scheduled_purge = None;
        let latest = find_version(tx, &key, None)?;
        Ok(key_out(&vault, &key, &latest))
    })
}
