//! Backup and restore against Azure Key Vault: the service's opaque blob, written to and read
//! from files by Backup- and Restore-KeyVaultKey as Az does, or handed over in memory by the
//! operations' in-memory entries.

use super::keys::{from_base64url, key_out, remote, target_of};
use super::{Replay, NO_BODY};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::vault::backup::{BackupKeyArgs, BackupResult, KeyBackup, RestoreKeyArgs};
use crate::vault::model::KeyVaultKeyOut;
use crate::wire::keyvault::{BackupKeyResult, KeyBundle, KeyRestoreParameters};
use crate::wire::SecretText;
use reqwest::Method;
use zeroize::Zeroizing;

/// The vault's backup of a key: Key Vault's opaque blob.
fn fetch_backup(ctx: &Context<'_>, vault_name: &str, name: &str) -> Result<Zeroizing<Vec<u8>>> {
    crate::vault::model::check_key_name(name)?;
    let target = target_of(vault_name, name);
    let answer: BackupKeyResult = remote(ctx)?.call(
        Method::POST,
        vault_name,
        &format!("/keys/{name}/backup"),
        NO_BODY,
        Replay::Harmless,
        &target,
    )?;
    let value = answer.value.expose();
    Ok(Zeroizing::new(from_base64url("value", value, &target)?))
}

pub fn backup_key(ctx: &Context<'_>, a: BackupKeyArgs) -> Result<BackupResult> {
    use crate::vault::backup::{check_output_file, BACKUP_DIR};
    crate::vault::model::check_key_name(&a.name)?;
    let store = ctx.store();
    if let Some(p) = &a.output_file {
        check_output_file(store.dir(), std::path::Path::new(p), a.force)?;
    }
    let target = target_of(&a.vault_name, &a.name);
    // The service's opaque blob, as Backup-AzKeyVaultKey writes it.
    let blob = fetch_backup(ctx, &a.vault_name, &a.name)?;
    let path = match &a.output_file {
        Some(p) => std::path::PathBuf::from(p),
        None => {
            let dir = store.dir().join(BACKUP_DIR);
            crate::store::create_private_dir(&dir)?;
            dir.join(format!(
                "{}-{}-{}.azure.keybackup",
                a.vault_name,
                a.name,
                crate::time::file_stamp(ctx.now())
            ))
        }
    };
    crate::store::write_private_file(&path, &blob, a.force).map_err(|mut e| {
        if e.code == "FileExists" {
            e.message = format!("Parameter 'OutputFile': {}", e.message);
        }
        e
    })?;
    let shown = path.display().to_string();
    if let Err(e) = ctx.audit_success_now(&target, &format!("Azure backup written to {shown}")) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(BackupResult {
        vault_name: a.vault_name,
        name: a.name,
        output_file: shown,
    })
}

/// Backup-KeyVaultKey's in-memory entry: the vault's blob handed to the caller, audited first.
pub fn backup_blob(ctx: &Context<'_>, a: BackupKeyArgs, _no_file: ()) -> Result<KeyBackup> {
    let blob = fetch_backup(ctx, &a.vault_name, &a.name)?;
    ctx.audit_success_now(
        &target_of(&a.vault_name, &a.name),
        "Azure backup returned to the caller",
    )?;
    Ok(KeyBackup {
        vault_name: a.vault_name,
        name: a.name,
        blob,
    })
}

pub fn restore_key(ctx: &Context<'_>, a: RestoreKeyArgs) -> Result<KeyVaultKeyOut> {
    use crate::vault::backup::MAX_BACKUP_BYTES;
    let blob = Zeroizing::new(crate::vault::keys::read_limited(
        &a.input_file,
        "InputFile",
        MAX_BACKUP_BYTES,
    )?);
    restore(ctx, &a.vault_name, &blob, Some(&a.input_file))
}

/// Restore-KeyVaultKey's in-memory entry: the blob from the caller.
pub fn restore_blob(
    ctx: &Context<'_>,
    a: RestoreKeyArgs,
    blob: Zeroizing<Vec<u8>>,
) -> Result<KeyVaultKeyOut> {
    restore(ctx, &a.vault_name, &blob, None)
}

/// Sends `blob` to the vault's restore; `file` is where it was read from, for the errors and
/// the audit row.
fn restore(
    ctx: &Context<'_>,
    vault_name: &str,
    blob: &[u8],
    file: Option<&str>,
) -> Result<KeyVaultKeyOut> {
    use crate::vault::backup::backup_store_id;
    // The vault's blob is opaque; only a backup this session's own store made is known to
    // be one no vault can take.
    if backup_store_id(blob).as_deref() == Some(ctx.store().store_id()) {
        let why = "is a backup of this session's local store: it restores only into that store (Environment Local), never into an Azure vault";
        return Err(match file {
            Some(file) => Error::invalid_argument("InputFile", format!("{file} {why}")),
            None => Error::new(
                crate::CkStatus::InvalidArgument,
                "BadParameter",
                format!("The backup {why}"),
                "",
            ),
        });
    }
    if blob.is_empty() {
        return Err(match file {
            Some(_) => Error::invalid_argument("InputFile", "is empty"),
            None => Error::new(
                crate::CkStatus::InvalidArgument,
                "BadParameter",
                "The backup is empty",
                "",
            ),
        });
    }
    let target = vault_name.to_string();
    let body = KeyRestoreParameters {
        value: SecretText::of_bytes(blob),
    };
    let bundle: KeyBundle = remote(ctx)?.call(
        Method::POST,
        vault_name,
        "/keys/restore",
        Some(&body),
        Replay::OnlyIfUnsent,
        &target,
    )?;
    let out = key_out(vault_name, &bundle, &target)?;
    ctx.audit_success(
        &target_of(vault_name, &out.name),
        &format!(
            "restored in Azure from {}",
            file.unwrap_or("the caller's backup")
        ),
    );
    Ok(out)
}
