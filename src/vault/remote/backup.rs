//! Backup and restore against Azure Key Vault: the service's opaque blob, which
//! `vault::backup_files` writes to and reads from files as Az does, or hands over in memory.

use super::keys::{from_base64url, key_out, remote, target_of};
use super::{Replay, NO_BODY};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::vault::backup::{BackupBytes, BackupKeyArgs, KeyBackup, RestoreKeyArgs};
use crate::vault::model::KeyVaultKeyOut;
use crate::wire::keyvault::{BackupKeyResult, KeyBundle, KeyRestoreParameters};
use crate::wire::SecretText;
use reqwest::Method;
use zeroize::Zeroizing;

/// The vault's backup of a key, Key Vault's opaque blob; the caller audits it once it is
/// where it goes.
pub fn key_backup(ctx: &Context<'_>, a: BackupKeyArgs, _no_file: ()) -> Result<KeyBackup> {
    crate::vault::model::check_key_name(&a.name)?;
    let target = target_of(&a.vault_name, &a.name);
    let answer: BackupKeyResult = remote(ctx)?.call(
        Method::POST,
        &a.vault_name,
        &format!("/keys/{}/backup", a.name),
        NO_BODY,
        Replay::Harmless,
        &target,
    )?;
    let blob = Zeroizing::new(from_base64url("value", answer.value.expose(), &target)?);
    Ok(KeyBackup {
        vault_name: a.vault_name,
        name: a.name,
        from_azure: true,
        blob,
    })
}

/// Sends the backup's bytes to the vault's restore; the file they were read from, if any, is
/// named by the errors and the audit row.
pub fn restore_backup(
    ctx: &Context<'_>,
    a: RestoreKeyArgs,
    bytes: BackupBytes,
) -> Result<KeyVaultKeyOut> {
    use crate::vault::backup::backup_store_id;
    let (vault_name, blob, file) = (&a.vault_name, &bytes.blob[..], bytes.file.as_deref());
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
