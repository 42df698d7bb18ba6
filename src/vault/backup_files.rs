//! Backup- and Restore-KeyVaultKey for both backends: the session's backend makes or takes the
//! blob (the store's sealed format, or Key Vault's opaque one); the files, the default name in
//! the store's backups folder and the audit of a blob handed out are done here, once.

use super::backend;
use super::backup::{
    check_output_file, BackupBytes, BackupKeyArgs, BackupResult, KeyBackup, RestoreKeyArgs,
    BACKUP_DIR, MAX_BACKUP_BYTES,
};
use super::keys::read_limited;
use super::model::KeyVaultKeyOut;
use crate::error::Result;
use crate::operations::Context;
use crate::store::{create_private_dir, write_private_file};
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

/// How the audit row names a backup of this kind, and its default file's extension.
fn kind(backup: &KeyBackup) -> (&'static str, &'static str) {
    if backup.from_azure {
        ("Azure backup ", "azure.keybackup")
    } else {
        ("", "keybackup")
    }
}

/// Backup-KeyVaultKey: the backend's blob written to -OutputFile (or a new file in the store's
/// backups folder), and audited once it is on disk.
pub fn backup_key(ctx: &Context<'_>, a: BackupKeyArgs) -> Result<BackupResult> {
    let store = ctx.store();
    if let Some(p) = &a.output_file {
        check_output_file(store.dir(), Path::new(p), a.force)?;
    }
    let (output_file, force) = (a.output_file.clone(), a.force);
    let backup = backend::key_backup(ctx, a, ())?;
    let (described, extension) = kind(&backup);
    let path = match output_file {
        Some(p) => PathBuf::from(p),
        None => {
            let dir = store.dir().join(BACKUP_DIR);
            create_private_dir(&dir)?;
            let stamp = crate::time::file_stamp(ctx.now());
            dir.join(format!(
                "{}-{}-{stamp}.{extension}",
                backup.vault_name, backup.name
            ))
        }
    };
    // A failure from here on is audited as the operation's failure by the operation table.
    write_private_file(&path, &backup.blob, force).map_err(|mut e| {
        if e.code == "FileExists" {
            e.message = format!("Parameter 'OutputFile': {}", e.message);
        }
        e
    })?;
    let shown = path.display().to_string();
    let target = format!("{}/{}", backup.vault_name, backup.name);
    if let Err(e) = ctx.audit_success_now(&target, &format!("{described}written to {shown}")) {
        // A backup nobody can find in the audit is what the audit exists to prevent: take it
        // back rather than leave key material on disk unrecorded.
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(BackupResult {
        vault_name: backup.vault_name,
        name: backup.name,
        output_file: shown,
    })
}

/// Backup-KeyVaultKey's in-memory entry: the backend's blob handed to the caller, audited
/// first (as for a file, a backup nobody can find in the audit is not handed out).
pub fn backup_blob(ctx: &Context<'_>, a: BackupKeyArgs, _no_file: ()) -> Result<KeyBackup> {
    let backup = backend::key_backup(ctx, a, ())?;
    let (described, _) = kind(&backup);
    ctx.audit_success_now(
        &format!("{}/{}", backup.vault_name, backup.name),
        &format!("{described}returned to the caller"),
    )?;
    Ok(backup)
}

/// Restore-KeyVaultKey: -InputFile read here, its bytes restored by the backend.
pub fn restore_key(ctx: &Context<'_>, a: RestoreKeyArgs) -> Result<KeyVaultKeyOut> {
    let blob = Zeroizing::new(read_limited(&a.input_file, "InputFile", MAX_BACKUP_BYTES)?);
    let file = Some(a.input_file.clone());
    backend::restore_backup(ctx, a, BackupBytes { blob, file })
}

/// Restore-KeyVaultKey's in-memory entry: the blob a backup file holds, from the caller.
pub fn restore_blob(
    ctx: &Context<'_>,
    a: RestoreKeyArgs,
    blob: Zeroizing<Vec<u8>>,
) -> Result<KeyVaultKeyOut> {
    backend::restore_backup(ctx, a, BackupBytes { blob, file: None })
}
