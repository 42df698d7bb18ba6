//! Keys and key versions: create (roll) or import, get, update, soft delete, recover and purge.
//! The cryptographic operations are in `key_operations`.

use super::model::{check_key_name, key_out, KeyVaultKeyOut, DEFAULT_RSA_KEY_OPS};
use super::model::{FORCE_HELP, VAULT_NAME_HELP};
use super::{active_vault, authorize, refuse_if_referenced};
use crate::crypto;
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::vaults::{self as sql, KeyRow, Tags, VaultRow, VersionRow};
use crate::store::Tx;
use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

const KEY_OPS: &[&str] = &[
    "encrypt",
    "decrypt",
    "sign",
    "verify",
    "wrapKey",
    "unwrapKey",
    "import",
    "export",
];
// Parameter set names, as Az.KeyVault's.
pub(crate) const CREATE: &str = "InteractiveCreate";
pub(crate) const IMPORT: &str = "InteractiveImport";
pub(crate) const BY_VAULT_NAME: &str = "ByVaultName";
pub(crate) const BY_KEY_VERSION: &str = "ByKeyVersion";
pub(crate) const BY_KEY_VERSIONS: &str = "ByKeyVersions";

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
pub(crate) fn active_key(tx: &Tx<'_>, vault: &VaultRow, name: &str) -> Result<KeyRow> {
    sql::get_key(tx, &vault.name, name)?
        .filter(|k| k.deleted_date.is_none())
        .ok_or_else(|| key_not_found(&vault.name, name, false))
}

fn deleted_key(tx: &Tx<'_>, vault: &VaultRow, name: &str) -> Result<KeyRow> {
    sql::get_key(tx, &vault.name, name)?
        .filter(|k| k.deleted_date.is_some())
        .ok_or_else(|| key_not_found(&vault.name, name, true))
}

/// One version (the newest when `version` is None).
pub(crate) fn find_version(tx: &Tx<'_>, key: &KeyRow, version: Option<&str>) -> Result<VersionRow> {
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

pub(crate) fn unix(t: Option<DateTime<Utc>>) -> Option<i64> {
    t.map(|t| t.timestamp())
}

pub(crate) fn check_dates(not_before: Option<i64>, expires: Option<i64>) -> Result<()> {
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

arguments! {
    pub struct AddKeyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
        pub destination: Option<String> = "Destination", String, "Software, or HSM (Premium vaults only)", allowed(&["Software", "HSM"]);
        pub key_ops: Option<Vec<String>> = "KeyOps", StringArray, "Operations the key may be used for", allowed(KEY_OPS);
        pub not_before: Option<DateTime<Utc>> = "NotBefore", DateTime, "The key cannot be used before this time";
        pub expires: Option<DateTime<Utc>> = "Expires", DateTime, "The key cannot be used after this time";
        pub disable: bool = "Disable", Switch, "Create the key disabled";
        pub tag: Option<Tags> = "Tag", Hashtable, "Tags as name/value pairs";
        pub size: Option<i64> = "Size", Int, "RSA key size in bits", range(2048, 4096), in_set(CREATE, false);
        pub key_type: Option<String> = "KeyType", String, "RSA or RSA-HSM", allowed(&["RSA", "RSA-HSM"]), in_set(CREATE, false);
        pub key_file_path: Option<String> = "KeyFilePath", Path, "Import the key from this file: .pfx (PKCS#12) or PKCS#8 (PEM or DER, encrypted or not)", in_set(IMPORT, true);
        /// Wiped when dropped, from the moment the arguments are parsed.
        pub key_file_password: Option<Zeroizing<String>> = "KeyFilePassword", SecureString, "Password of a .pfx or encrypted PKCS#8 key file", in_set(IMPORT, false);
    }
}

/// What [`check_new_version`] found out about an Add-KeyVaultKey call before any work.
struct NewVersion {
    hsm: bool,
    not_before: Option<i64>,
    expires: Option<i64>,
    key_ops: Vec<String>,
    /// The key permission the call needs: create, or import.
    permission: &'static str,
}

/// Creates a key, or when the name exists a new version of it (a roll); older versions stay.
/// With -KeyFilePath the file is read here, and its bytes imported by [`import_key`].
pub fn add_key(ctx: &Context<'_>, a: AddKeyArgs) -> Result<KeyVaultKeyOut> {
    // -Size/-KeyType versus -KeyFilePath/-KeyFilePassword are the table's parameter sets
    // (InteractiveCreate, InteractiveImport), checked before this runs.
    let Some(path) = a.key_file_path.as_deref() else {
        let checked = check_new_version(ctx, &a, "create")?;
        let material = crypto::generate_rsa(a.shape()?.size as u32)?;
        return store_new_version(ctx, &a, checked, material);
    };
    // Access is checked before the file is read.
    let checked = check_new_version(ctx, &a, "import")?;
    let bytes = crypto::Secret::new(read_limited(path, "KeyFilePath", 64 * 1024)?);
    import_checked(ctx, &a, checked, &bytes)
}

/// Imports a key (a new version when the name exists) from `key_file`, the bytes a key file
/// holds (.pfx, or PKCS#8 in PEM or DER; -KeyFilePassword opens an encrypted one): the
/// in-memory entry of Add-KeyVaultKey -KeyFilePath, for a caller that holds the key itself.
pub fn import_key(
    ctx: &Context<'_>,
    a: AddKeyArgs,
    key_file: crypto::Secret,
) -> Result<KeyVaultKeyOut> {
    let checked = check_new_version(ctx, &a, "import")?;
    import_checked(ctx, &a, checked, &key_file)
}

fn import_checked(
    ctx: &Context<'_>,
    a: &AddKeyArgs,
    checked: NewVersion,
    key_file: &crypto::Secret,
) -> Result<KeyVaultKeyOut> {
    let material = crypto::import_rsa(
        key_file.expose(),
        a.key_file_password.as_deref().map(String::as_str),
    )?;
    store_new_version(ctx, a, checked, material)
}

/// What Add-KeyVaultKey's arguments ask of the new version, by their own rules (the store's
/// vaults and Azure's read them the same way).
pub(crate) struct KeyShape {
    pub hsm: bool,
    pub not_before: Option<i64>,
    pub expires: Option<i64>,
    pub key_ops: Vec<String>,
    /// -Size, checked (2048 when not given); not read by an import.
    pub size: i64,
}

impl AddKeyArgs {
    pub(crate) fn shape(&self) -> Result<KeyShape> {
        check_key_name(&self.name)?;
        let hsm = match (self.destination.as_deref(), self.key_type.as_deref()) {
            (Some("Software"), Some("RSA-HSM")) => {
                return Err(Error::invalid_argument(
                    "KeyType",
                    "RSA-HSM needs -Destination HSM",
                ))
            }
            (Some("HSM"), _) | (_, Some("RSA-HSM")) => true,
            _ => false,
        };
        let (not_before, expires) = (unix(self.not_before), unix(self.expires));
        check_dates(not_before, expires)?;
        let size = self.size.unwrap_or(2048);
        if ![2048, 3072, 4096].contains(&size) {
            return Err(Error::invalid_argument(
                "Size",
                "must be 2048, 3072 or 4096",
            ));
        }
        let key_ops: Vec<String> = match &self.key_ops {
            Some(ops) if ops.is_empty() => {
                return Err(Error::invalid_argument(
                    "KeyOps",
                    "must name at least one operation",
                ))
            }
            Some(ops) => ops.clone(),
            None => DEFAULT_RSA_KEY_OPS.iter().map(|s| s.to_string()).collect(),
        };
        Ok(KeyShape {
            hsm,
            not_before,
            expires,
            key_ops,
            size,
        })
    }
}

/// The arguments' own rules, then access: before a file is read or seconds are spent on key
/// generation.
fn check_new_version(
    ctx: &Context<'_>,
    a: &AddKeyArgs,
    permission: &'static str,
) -> Result<NewVersion> {
    let KeyShape {
        hsm,
        not_before,
        expires,
        key_ops,
        ..
    } = a.shape()?;
    // The write transaction checks again against the state it commits to.
    ctx.read(|tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, ctx.principal(), permission)
    })?;
    Ok(NewVersion {
        hsm,
        not_before,
        expires,
        key_ops,
        permission,
    })
}

fn store_new_version(
    ctx: &Context<'_>,
    a: &AddKeyArgs,
    checked: NewVersion,
    material: crypto::RsaKeyMaterial,
) -> Result<KeyVaultKeyOut> {
    let NewVersion {
        hsm,
        not_before,
        expires,
        key_ops,
        permission,
    } = checked;
    let version = crypto::new_version_id()?;
    let (wrapped, sealed) = ctx
        .store()
        .keys()
        .seal_private(&material.pkcs8, version.as_bytes())?;
    let now = ctx.now();
    ctx.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, ctx.principal(), permission)?;
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
    // Sized from the start, so that reading never regrows the buffer and leaves partial
    // copies of a key file in freed memory.
    let expected = f.metadata().map_or(0, |m| m.len()).min(limit) as usize;
    let mut bytes = Vec::with_capacity(expected + 1);
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

arguments! {
    pub struct GetKeyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: Option<String> = "Name", String, "Name of the key", pipeline, position(1), in_set(BY_VAULT_NAME, false), in_set(BY_KEY_VERSION, true), in_set(BY_KEY_VERSIONS, true);
        pub version: Option<String> = "Version", String, "Version of the key", pipeline, position(2), in_set(BY_KEY_VERSION, true);
        pub include_versions: bool = "IncludeVersions", Switch, "List every version of the key", in_set(BY_KEY_VERSIONS, true);
        pub in_removed_state: bool = "InRemovedState", Switch, "Get soft-deleted keys", in_set(BY_VAULT_NAME, false);
    }
}

pub fn get_key(ctx: &Context<'_>, a: GetKeyArgs) -> Result<Vec<KeyVaultKeyOut>> {
    // Which combinations may be given is the table's parameter sets (ByVaultName,
    // ByKeyVersion, ByKeyVersions), checked before this runs.
    let target = format!("{}/{}", a.vault_name, a.name.as_deref().unwrap_or("*"));
    let now = ctx.now();
    // A read purges nothing: a deleted key past its retention is treated as already gone.
    let live = |k: &KeyRow| k.scheduled_purge.is_none_or(|p| p > now);
    // One live key (the common case, and what workloads poll): from the store's snapshot,
    // without a transaction.
    if let (Some(name), false, false) = (&a.name, a.include_versions, a.in_removed_state) {
        if let Some(s) = ctx.store().key_snapshot(&a.vault_name, name)? {
            if let Some(row) = s.version(a.version.as_deref()) {
                super::authorize_by(&s, ctx.principal(), "get")?;
                let out = vec![key_out(&s.vault, &s.key, row)];
                ctx.audit_success(&target, "");
                return Ok(out);
            }
        }
    }
    ctx.read_audited(&target, |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        let listing = a.name.is_none() || a.include_versions;
        authorize(
            tx,
            &vault,
            ctx.principal(),
            if listing { "list" } else { "get" },
        )?;
        let mut keys = match &a.name {
            Some(n) if a.in_removed_state => vec![deleted_key(tx, &vault, n)?],
            Some(n) => vec![active_key(tx, &vault, n)?],
            None => sql::list_keys(tx, &vault.name, a.in_removed_state)?,
        };
        if a.in_removed_state {
            let wanted = keys.len();
            keys.retain(live);
            if a.name.is_some() && keys.len() < wanted {
                return Err(key_not_found(
                    &vault.name,
                    a.name.as_deref().unwrap_or(""),
                    true,
                ));
            }
        }
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

arguments! {
    pub struct UpdateKeyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
        pub version: Option<String> = "Version", String, "Version to update (default: the newest)", pipeline;
        pub enable: Option<bool> = "Enable", Bool, "Enable or disable the version";
        pub expires: Option<DateTime<Utc>> = "Expires", DateTime, "The key cannot be used after this time";
        pub not_before: Option<DateTime<Utc>> = "NotBefore", DateTime, "The key cannot be used before this time";
        pub key_ops: Option<Vec<String>> = "KeyOps", StringArray, "Operations the key may be used for", allowed(KEY_OPS);
        pub tag: Option<Tags> = "Tag", Hashtable, "Tags as name/value pairs (replaces the current ones)";
        pub accept_data_loss: bool = "AcceptDataLoss", Switch, "Disable even when a data encryption policy uses the version, accepting that what it protects becomes unreadable";
        pub pass_thru: bool = "PassThru", Switch, "Return the updated key";
    }
}

pub fn update_key(ctx: &Context<'_>, a: UpdateKeyArgs) -> Result<Option<KeyVaultKeyOut>> {
    let now = ctx.now();
    ctx.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, ctx.principal(), "update")?;
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
                    a.accept_data_loss,
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

arguments! {
    pub struct RemoveKeyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
        pub in_removed_state: bool = "InRemovedState", Switch, "Purge the soft-deleted key for good";
        // Az's -Force: only the prompt, which PowerShell asks; the engine has nothing to skip.
        pub force: bool = "Force", Switch, FORCE_HELP;
        pub pass_thru: bool = "PassThru", Switch, "Return the deleted key";
        pub accept_data_loss: bool = "AcceptDataLoss", Switch, "Remove even when a data encryption policy uses the key, accepting that what it protects becomes unreadable";
    }
}

/// Soft-deletes a key with every version, or (-InRemovedState) purges a deleted key.
pub fn remove_key(ctx: &Context<'_>, a: RemoveKeyArgs) -> Result<Option<KeyVaultKeyOut>> {
    let now = ctx.now();
    let removed = ctx.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        if a.in_removed_state {
            authorize(tx, &vault, ctx.principal(), "purge")?;
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
            refuse_if_referenced(tx, &vault.name, Some(&key.name), a.accept_data_loss, "purge")?;
            let out = find_version(tx, &key, None).map(|v| key_out(&vault, &key, &v))?;
            sql::delete_key(tx, &vault.name, &key.name)?;
            return Ok(a.pass_thru.then_some(out));
        }
        authorize(tx, &vault, ctx.principal(), "delete")?;
        let mut key = active_key(tx, &vault, &a.name)?;
        refuse_if_referenced(tx, &vault.name, Some(&key.name), a.accept_data_loss, "delete")?;
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
    ctx.store().forget_private_keys();
    Ok(removed)
}

arguments! {
    pub struct UndoKeyRemovalArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
    }
}

pub fn undo_key_removal(ctx: &Context<'_>, a: UndoKeyRemovalArgs) -> Result<KeyVaultKeyOut> {
    ctx.transaction(&format!("{}/{}", a.vault_name, a.name), |tx| {
        let vault = active_vault(tx, &a.vault_name)?;
        authorize(tx, &vault, ctx.principal(), "recover")?;
        let mut key = deleted_key(tx, &vault, &a.name)?;
        sql::set_key_deleted(tx, &vault.name, &key.name, None)?;
        key.deleted_date = None;
        key.scheduled_purge = None;
        let latest = find_version(tx, &key, None)?;
        Ok(key_out(&vault, &key, &latest))
    })
}
