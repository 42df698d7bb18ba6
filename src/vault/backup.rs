//! Backup and restore of a whole key (every version, all metadata).
//!
//! A backup file is `CKBACKUP1\n`, one line of JSON header (store id, geography, key name), then
//! the payload sealed with AES-256-GCM under the store's backup key, with the first two lines as
//! additional data: a changed byte anywhere fails the restore as a whole. Private parts inside
//! the payload stay sealed under the store's key encryption key as they are at rest, so a blob
//! can only ever be restored into the store that made it, and only within its geography.

use super::keys::active_key;
use super::model::{geography, key_out, KeyVaultKeyOut, VAULT_NAME_HELP};
use super::{active_vault, authorize};
use crate::b64;
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::vaults::{self as sql, KeyRow, Tags, VersionRow};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

pub(crate) const MAGIC: &[u8] = b"CKBACKUP1\n";

/// Test hook, for the panic boundary of the C ABI: no input reaches a panic, so when this
/// environment variable names the key being restored, Restore-KeyVaultKey panics inside its
/// write transaction, after inserting the versions and before committing. The tests drive it
/// through `ck_call` to check that the panic becomes an error status with its envelope, that the
/// session stays usable, and that nothing was committed. Unset (always, outside tests) it does
/// nothing; set, it touches only a restore of the key it names. Compiled only with the
/// `test-hooks` feature, so the library admins load has neither the hook nor its name.
#[cfg(feature = "test-hooks")]
#[doc(hidden)]
pub const PANIC_HOOK_ENV: &str = "CK_TEST_PANIC_RESTORING_KEY";

#[cfg(feature = "test-hooks")]
fn panic_hook_names(key_name: &str) -> bool {
    std::env::var_os(PANIC_HOOK_ENV).is_some_and(|v| v.eq_ignore_ascii_case(key_name))
}

/// Without the `test-hooks` feature no restore panics, whatever the environment says.
#[cfg(not(feature = "test-hooks"))]
fn panic_hook_names(_key_name: &str) -> bool {
    false
}
pub(crate) const MAX_BACKUP_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Header {
    store_id: String,
    geography: String,
    key_name: String,
    created: String,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Payload {
    source_vault: String,
    name: String,
    versions: Vec<BackupVersion>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BackupVersion {
    version: String,
    seq: i64,
    kty: String,
    size: i64,
    key_ops: Vec<String>,
    enabled: bool,
    not_before: Option<i64>,
    expires: Option<i64>,
    created: i64,
    updated: i64,
    tags: Tags,
    modulus: String,
    exponent: String,
    wrapped_data_key: String,
    sealed_private_key: String,
}

arguments! {
    pub struct BackupKeyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub name: String = "Name", String, "Name of the key", mandatory, pipeline, position(1);
        pub output_file: Option<String> = "OutputFile", Path, "File to write (default: a new file in the store's backups folder)", position(2);
        pub force: bool = "Force", Switch, "Overwrite an existing file";
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BackupResult {
    pub vault_name: String,
    pub name: String,
    pub output_file: String,
}

/// A key's backup in memory: the blob a backup file holds, for the caller to keep.
pub struct KeyBackup {
    pub vault_name: String,
    pub name: String,
    /// Key Vault's opaque blob (a remote session's), rather than this store's sealed format.
    pub from_azure: bool,
    pub blob: Zeroizing<Vec<u8>>,
}

/// A backup's bytes and, when they were read from -InputFile, its path (for the errors and
/// the audit row).
pub struct BackupBytes {
    pub blob: Zeroizing<Vec<u8>>,
    pub file: Option<String>,
}

/// Shows whose backup it is, never its bytes.
impl std::fmt::Debug for KeyBackup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "KeyBackup({}/{}, <{} bytes redacted>)",
            self.vault_name,
            self.name,
            self.blob.len()
        )
    }
}

/// The store's backup of a key: [`sealed_backup`], unaudited (the caller audits once the
/// blob is where it goes).
pub fn key_backup(ctx: &Context<'_>, a: BackupKeyArgs, _no_file: ()) -> Result<KeyBackup> {
    sealed_backup(ctx, &a.vault_name, &a.name)
}

/// Every version of a key, with its metadata, sealed under the store's backup key: the bytes of
/// a backup file. Not audited: the caller audits once the blob is where it goes.
pub fn sealed_backup(ctx: &Context<'_>, vault_name: &str, name: &str) -> Result<KeyBackup> {
    let now = ctx.now();
    let store = ctx.store();
    // A read, not a write transaction: the success is audited only once the blob is out.
    ctx.read(|tx| {
        let vault = active_vault(tx, vault_name)?;
        authorize(tx, &vault, ctx.principal(), "backup")?;
        let key = active_key(tx, &vault, name)?;
        let versions = sql::list_versions(tx, &vault.name, &key.name)?;
        let payload = Payload {
            source_vault: vault.name.clone(),
            name: key.name.clone(),
            versions: versions.iter().map(backup_version).collect(),
        };
        let header = Header {
            store_id: store.store_id().to_string(),
            geography: geography(&vault.location),
            key_name: key.name.clone(),
            created: crate::time::iso_from_unix(now),
        };
        let mut aad = MAGIC.to_vec();
        aad.extend_from_slice(&json_line(&header)?);
        let payload_json = Zeroizing::new(
            serde_json::to_vec(&payload).map_err(|e| Error::internal(e.to_string()))?,
        );
        let sealed = store.keys().seal_backup(&payload_json, &aad)?;
        let mut blob = Zeroizing::new(Vec::with_capacity(aad.len() + sealed.len()));
        blob.extend_from_slice(&aad);
        blob.extend_from_slice(&sealed);
        Ok(KeyBackup {
            vault_name: vault.name,
            name: key.name,
            from_azure: false,
            blob,
        })
    })
}

pub(crate) const BACKUP_DIR: &str = "backups";

/// Where a backup may go: not into the store's own files (a caller allowed only to back up
/// must not be able to overwrite master.key or store.db), and over an existing file only with
/// -Force and only when that file is itself a key backup.
pub(crate) fn check_output_file(
    store_dir: &std::path::Path,
    path: &std::path::Path,
    force: bool,
) -> Result<()> {
    let shown = path.display().to_string();
    let refuse = |why: String| Error::invalid_argument("OutputFile", why);
    let parent = path
        .parent()
        .ok_or_else(|| refuse(format!("{shown} has no folder")))?;
    let parent = parent
        .canonicalize()
        .map_err(|e| refuse(format!("the folder of {shown} cannot be used: {e}")))?;
    let store_dir = store_dir
        .canonicalize()
        .unwrap_or_else(|_| store_dir.to_path_buf());
    if parent.starts_with(&store_dir) && parent != store_dir.join(BACKUP_DIR) {
        return Err(refuse(format!(
            "{shown} is inside the store folder {}; write backups elsewhere (or omit -OutputFile to use its backups folder)",
            store_dir.display()
        )));
    }
    match std::fs::symlink_metadata(path) {
        Err(_) => Ok(()),
        Ok(_) if !force => Err(Error::new(
            crate::CkStatus::Conflict,
            "FileExists",
            format!("Parameter 'OutputFile': {shown} exists; use -Force to overwrite it"),
            shown,
        )),
        Ok(meta) => {
            let is_backup = meta.is_file()
                && std::fs::File::open(path)
                    .and_then(|mut f| {
                        use std::io::Read;
                        let mut head = vec![0u8; MAGIC.len()];
                        f.read_exact(&mut head).map(|_| head)
                    })
                    .is_ok_and(|head| head == MAGIC);
            if is_backup {
                Ok(())
            } else {
                Err(refuse(format!(
                    "{shown} exists and is not a key backup; -Force overwrites only earlier key backups"
                )))
            }
        }
    }
}

impl BackupVersion {
    /// The stored version back from its backup form, under its new vault; None when a byte
    /// field does not decode.
    fn to_row(&self, vault: &str, name: &str) -> Option<VersionRow> {
        let decode = |s: &str| b64::decode(s).ok();
        Some(VersionRow {
            vault: vault.to_string(),
            name: name.to_string(),
            version: self.version.clone(),
            seq: self.seq,
            kty: self.kty.clone(),
            size: self.size,
            key_ops: self.key_ops.clone(),
            enabled: self.enabled,
            not_before: self.not_before,
            expires: self.expires,
            created: self.created,
            updated: self.updated,
            tags: self.tags.clone(),
            modulus: decode(&self.modulus)?,
            exponent: decode(&self.exponent)?,
            wrapped_data_key: decode(&self.wrapped_data_key)?,
            sealed_private_key: decode(&self.sealed_private_key)?,
        })
    }
}

fn backup_version(v: &VersionRow) -> BackupVersion {
    BackupVersion {
        version: v.version.clone(),
        seq: v.seq,
        kty: v.kty.clone(),
        size: v.size,
        key_ops: v.key_ops.clone(),
        enabled: v.enabled,
        not_before: v.not_before,
        expires: v.expires,
        created: v.created,
        updated: v.updated,
        tags: v.tags.clone(),
        modulus: b64::encode(&v.modulus),
        exponent: b64::encode(&v.exponent),
        wrapped_data_key: b64::encode(&v.wrapped_data_key),
        sealed_private_key: b64::encode(&v.sealed_private_key),
    }
}

/// The store a CustomerKey backup was made by, when `blob` is one.
pub(crate) fn backup_store_id(blob: &[u8]) -> Option<String> {
    let rest = blob.strip_prefix(MAGIC)?;
    let end = rest.iter().position(|b| *b == b'\n')?;
    serde_json::from_slice::<Header>(&rest[..end])
        .ok()
        .map(|h| h.store_id)
}

fn json_line<T: Serialize>(v: &T) -> Result<Vec<u8>> {
    let mut line = serde_json::to_vec(v).map_err(|e| Error::internal(e.to_string()))?;
    line.push(b'\n');
    Ok(line)
}

arguments! {
    pub struct RestoreKeyArgs {
        pub vault_name: String = "VaultName", String, VAULT_NAME_HELP, mandatory, pipeline, position(0);
        pub input_file: String = "InputFile", Path, "Backup file written by Backup-KeyVaultKey", mandatory, pipeline, position(1);
    }
}

/// Restore-KeyVaultKey into the store's vaults: the bytes of [`restore_from`].
pub fn restore_backup(
    ctx: &Context<'_>,
    a: RestoreKeyArgs,
    bytes: BackupBytes,
) -> Result<KeyVaultKeyOut> {
    restore_from(ctx, &a.vault_name, &bytes.blob, bytes.file.as_deref())
}

/// A backup blob's refusal, naming the file it was read from when there was one.
fn bad_backup(file: Option<&str>, why: &str) -> Error {
    match file {
        Some(file) => Error::new(
            crate::CkStatus::InvalidArgument,
            "BadParameter",
            format!("Parameter 'InputFile': {file} {why}"),
            file,
        ),
        None => Error::new(
            crate::CkStatus::InvalidArgument,
            "BadParameter",
            format!("The backup {why}"),
            "",
        ),
    }
}

/// Restores a key with all its versions from the bytes of a backup file into `vault_name`;
/// `file` is where they were read from, for the errors.
pub fn restore_from(
    ctx: &Context<'_>,
    vault_name: &str,
    blob: &[u8],
    file: Option<&str>,
) -> Result<KeyVaultKeyOut> {
    let invalid = |why: &str| bad_backup(file, why);
    let rest = blob
        .strip_prefix(MAGIC)
        .ok_or_else(|| invalid("is not a CustomerKey key backup (a backup made by Azure Key Vault restores only into an Azure vault: connect with -Environment and restore there)"))?;
    let header_end = rest
        .iter()
        .position(|b| *b == b'\n')
        .ok_or_else(|| invalid("is damaged: its header is incomplete"))?;
    let header: Header = serde_json::from_slice(&rest[..header_end])
        .map_err(|_| invalid("is damaged: its header is unreadable"))?;
    let aad = &blob[..MAGIC.len() + header_end + 1];
    let sealed = &rest[header_end + 1..];
    let store = ctx.store();
    if header.store_id != store.store_id() {
        return Err(invalid(&format!(
            "was made by another CustomerKey store ({}); a backup can only be restored into the store that made it",
            header.store_id
        )));
    }
    let payload_json = store.keys().open_backup(sealed, aad).ok_or_else(|| {
        invalid(
            "is damaged or was altered: it failed its integrity check, and nothing was restored",
        )
    })?;
    let payload: Payload = serde_json::from_slice(payload_json.expose())
        .map_err(|_| invalid("holds a payload this version cannot read"))?;
    if payload.versions.is_empty() {
        return Err(invalid("holds no key versions"));
    }
    ctx.transaction(&format!("{vault_name}/{}", payload.name), |tx| {
        let vault = active_vault(tx, vault_name)?;
        authorize(tx, &vault, ctx.principal(), "restore")?;
        let target_geo = geography(&vault.location);
        if target_geo != header.geography {
            return Err(Error::invalid_operation(
                "GeographyMismatch",
                format!(
                    "The backup of key '{}' comes from geography {}; vault '{}' is in {} ({}). Keys restore only within their geography",
                    payload.name, header.geography, vault.name, target_geo, vault.location
                ),
                vault.name.clone(),
            ));
        }
        if payload.versions.iter().any(|v| v.kty == "RSA-HSM") && !vault.sku.eq_ignore_ascii_case("Premium") {
            return Err(Error::invalid_operation(
                "HsmNeedsPremium",
                format!(
                    "Key '{}' has HSM-protected versions; vault '{}' is {} and takes them only as Premium",
                    payload.name, vault.name, vault.sku
                ),
                vault.name.clone(),
            ));
        }
        if let Some(existing) = sql::get_key(tx, &vault.name, &payload.name)? {
            let state = if existing.deleted_date.is_some() { " (in the deleted state)" } else { "" };
            return Err(Error::conflict(
                format!(
                    "Key '{}' already exists in vault '{}'{state}; restore does not overwrite. Remove and purge it, or restore into another vault",
                    existing.name, vault.name
                ),
                existing.name,
            ));
        }
        sql::insert_key(tx, &vault.name, &payload.name)?;
        let key = KeyRow { vault: vault.name.clone(), name: payload.name.clone(), deleted_date: None, scheduled_purge: None };
        let mut latest = None;
        for v in &payload.versions {
            let row = v.to_row(&vault.name, &payload.name).ok_or_else(|| invalid("holds damaged key data"))?;
            sql::insert_version(tx, &row)?;
            if latest.as_ref().is_none_or(|l: &VersionRow| row.seq > l.seq) {
                latest = Some(row);
            }
        }
        let latest = latest.ok_or_else(|| invalid("holds no key versions"))?;
        if panic_hook_names(&payload.name) {
            panic!("test hook: a panic with the versions inserted, before the commit");
        }
        Ok(key_out(&vault, &key, &latest))
    })
}

/// What a folder of backups holds, for the setup check's backup rule.
#[derive(Debug, Default)]
pub struct BackupScan {
    /// This store's key backups: (source vault, key name, version ids), read from their
    /// payloads, whose private parts stay sealed.
    pub opened: Vec<(String, String, Vec<String>)>,
    /// Other files (Azure's opaque backup blobs among them): (file name, modified, unix).
    pub opaque: Vec<(String, i64)>,
    /// Key backups that could not be opened: another store's, or damaged.
    pub unreadable: usize,
}

/// More files than a backup folder holds in practice: the scan stops there rather than read
/// a whole disk someone pointed it at.
const MAX_SCANNED_FILES: usize = 10_000;

/// Reads every file directly in `dir` (not its subfolders). `parameter` names the argument
/// in the error for a folder that cannot be read.
pub(crate) fn scan_backups(
    store: &crate::store::Store,
    dir: &std::path::Path,
    parameter: &str,
) -> Result<BackupScan> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::invalid_argument(
            parameter,
            format!("{} is not a folder that can be read: {e}", dir.display()),
        )
    })?;
    let mut scan = BackupScan::default();
    for entry in entries.flatten().take(MAX_SCANNED_FILES) {
        let Ok(meta) = entry.metadata() else { continue };
        if !meta.is_file() || meta.len() > MAX_BACKUP_BYTES {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(blob) = std::fs::read(entry.path()) else {
            continue;
        };
        if !blob.starts_with(MAGIC) {
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_secs() as i64);
            scan.opaque.push((name, modified));
            continue;
        }
        match open_payload(store, &blob) {
            Some(p) => scan.opened.push((
                p.source_vault,
                p.name,
                p.versions.into_iter().map(|v| v.version).collect(),
            )),
            None => scan.unreadable += 1,
        }
    }
    Ok(scan)
}

/// The payload of one of this store's backups; None for anything else.
fn open_payload(store: &crate::store::Store, blob: &[u8]) -> Option<Payload> {
    let rest = blob.strip_prefix(MAGIC)?;
    let header_end = rest.iter().position(|b| *b == b'\n')?;
    let header: Header = serde_json::from_slice(&rest[..header_end]).ok()?;
    if header.store_id != store.store_id() {
        return None;
    }
    let aad = &blob[..MAGIC.len() + header_end + 1];
    let payload = store.keys().open_backup(&rest[header_end + 1..], aad)?;
    serde_json::from_slice(payload.expose()).ok()
}
