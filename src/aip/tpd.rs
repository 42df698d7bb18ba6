//! Import-AipServiceTpd and Export-AipServiceTpd: Microsoft-managed tenant keys to and from a
//! password-protected trusted publishing domain file (`crypto::tpd`).

use super::keys::{check_friendly_name, check_usable_by_service, versioned_url, URL_HELP};
use super::{
    active_key, ensure_tenant_key, find_key, key_out, microsoft_managed_pkcs8,
    microsoft_managed_row, sync_key_references, AipServiceKey,
};
use crate::crypto;
use crate::crypto::tpd::{self as file_format, TpdKey};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::aip::{self as sql, TenantKeyRow, ARCHIVED, CUSTOMER_MANAGED};
use crate::store::write_private_file;
use serde::Serialize;
use std::path::Path;
use zeroize::Zeroizing;

const MIN_PASSWORD_CHARS: usize = 12;
const MAX_TPD_FILE_LEN: u64 = 17 * 1024 * 1024;

arguments! {
    pub struct ExportTpdArgs {
        pub output_file: String = "OutputFile", Path, "The TPD file to write", mandatory;
        pub protection_password: Zeroizing<String> = "ProtectionPassword", SecureString, "Password that protects the TPD file (12 characters or more)", mandatory;
        pub key_identifier: Option<String> = "KeyIdentifier", String, "Export only this Microsoft-managed key (default: every Microsoft-managed key)", pipeline;
        pub force: bool = "Force", Switch, "Overwrite OutputFile when it exists";
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TpdExport {
    pub output_file: String,
    pub key_identifiers: Vec<String>,
}

fn export_refused(k: &TenantKeyRow) -> Error {
    Error::invalid_operation(
        "ExportNotAllowed",
        format!(
            "Tenant key {} is customer-managed (BYOK): its private key never leaves Key Vault ({}), so it cannot be exported. Back it up with Backup-CkKeyVaultKey instead",
            k.key_identifier,
            k.key_vault_key_url.as_deref().unwrap_or_default()
        ),
        k.key_identifier.clone(),
    )
}

fn check_password(password: &str) -> Result<()> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::invalid_argument(
            "ProtectionPassword",
            format!("must be at least {MIN_PASSWORD_CHARS} characters: whoever holds the TPD file can try passwords offline, and the file holds the tenant's private keys"),
        ));
    }
    Ok(())
}

/// Refuses to put private keys inside the store folder, next to the master key.
fn check_outside_store(ctx: &Context<'_>, path: &str) -> Result<()> {
    let path = Path::new(path);
    let parent = path.parent().and_then(|p| p.canonicalize().ok());
    let store = ctx.store().dir().canonicalize().ok();
    if let (Some(parent), Some(store)) = (parent, store) {
        if parent.starts_with(&store) {
            return Err(Error::invalid_argument(
                "OutputFile",
                format!(
                    "{} is inside the store folder {}; write TPD files elsewhere",
                    path.display(),
                    store.display()
                ),
            ));
        }
    }
    Ok(())
}

pub fn export_tpd(ctx: &Context<'_>, a: ExportTpdArgs) -> Result<TpdExport> {
    check_password(&a.protection_password)?;
    super::content::check_output_folder(&a.output_file)?;
    check_outside_store(ctx, &a.output_file)?;
    ensure_tenant_key(ctx)?;
    let keys = ctx.read(|tx| match &a.key_identifier {
        Some(id) => {
            let k = find_key(tx, id)?;
            if k.is_byok() {
                return Err(export_refused(&k));
            }
            Ok(vec![k])
        }
        None => {
            let active = active_key(tx)?;
            if active.is_byok() {
                return Err(export_refused(&active));
            }
            Ok(sql::list_keys(tx)?
                .into_iter()
                .filter(|k| !k.is_byok())
                .collect())
        }
    })?;
    let mut entries = Vec::with_capacity(keys.len());
    for k in &keys {
        entries.push(TpdKey {
            key_identifier: k.key_identifier.clone(),
            friendly_name: k.friendly_name.clone(),
            creation_time: k.creation_time,
            pkcs8: microsoft_managed_pkcs8(ctx, k)?,
        });
    }
    let file = file_format::seal(&entries, a.protection_password.as_str())?;
    write_private_file(Path::new(&a.output_file), &file, a.force).map_err(|mut e| {
        if !e.message.starts_with("Parameter") {
            e.message = format!("Parameter 'OutputFile': {}", e.message);
        }
        e.target = "OutputFile".into();
        e
    })?;
    let ids: Vec<String> = keys.iter().map(|k| k.key_identifier.clone()).collect();
    // Committed before the call returns, as for a backup: key material written to disk must
    // never go unrecorded, even if the process dies the next moment.
    if let Err(e) = ctx.audit_success_now(
        &ids.join(","),
        &format!("Exported {} tenant keys to a TPD", ids.len()),
    ) {
        let _ = std::fs::remove_file(&a.output_file);
        return Err(e);
    }
    Ok(TpdExport {
        output_file: a.output_file,
        key_identifiers: ids,
    })
}

arguments! {
    pub struct ImportTpdArgs {
        pub tpd_file: String = "TpdFile", Path, "The trusted publishing domain file", mandatory;
        pub protection_password: Zeroizing<String> = "ProtectionPassword", SecureString, "Password the TPD file was exported with", mandatory;
        pub friendly_name: Option<String> = "FriendlyName", String, "A name for the imported key";
        pub key_vault_key_url: Option<String> = "KeyVaultKeyUrl", String, URL_HELP;
        pub accept_unrecoverable_vault: bool = "AcceptUnrecoverableVault", Switch, "With KeyVaultKeyUrl: accept a vault without soft delete and purge protection";
    }
}

fn read_tpd(path: &str) -> Result<Vec<u8>> {
    let refuse = |why: String| Error::invalid_argument("TpdFile", why);
    let meta = std::fs::metadata(path).map_err(|e| refuse(format!("cannot read '{path}': {e}")))?;
    if !meta.is_file() || meta.len() > MAX_TPD_FILE_LEN {
        return Err(refuse(format!(
            "'{path}' is not a TPD file (not a file, or larger than any TPD)"
        )));
    }
    std::fs::read(path).map_err(|e| refuse(format!("cannot read '{path}': {e}")))
}

fn check_key_identifier(id: &str) -> Result<()> {
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-{}".contains(c));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_argument(
            "TpdFile",
            "holds a key whose KeyIdentifier is not 1-64 letters, digits, hyphens or braces",
        ))
    }
}

pub fn import_tpd(ctx: &Context<'_>, a: ImportTpdArgs) -> Result<Vec<AipServiceKey>> {
    check_friendly_name(&a.friendly_name)?;
    let binding = a
        .key_vault_key_url
        .as_deref()
        .map(|url| versioned_url("KeyVaultKeyUrl", url))
        .transpose()?;
    let bytes = read_tpd(&a.tpd_file)?;
    let entries = file_format::open(&bytes, a.protection_password.as_str())?;
    let mut materials = Vec::with_capacity(entries.len());
    for entry in entries {
        check_key_identifier(&entry.key_identifier)?;
        let material = crypto::rsa_material(entry.pkcs8).map_err(|_| {
            Error::invalid_argument(
                "TpdFile",
                format!(
                    "holds key {}, which is not an RSA private key of 2048, 3072 or 4096 bits",
                    entry.key_identifier
                ),
            )
        })?;
        materials.push((
            entry.key_identifier,
            entry.friendly_name,
            entry.creation_time,
            material,
        ));
    }
    ensure_tenant_key(ctx)?;
    let now = ctx.now();
    let rows: Vec<TenantKeyRow> = match &binding {
        Some(reference) => {
            let [(id, name, created, material)] = materials.as_slice() else {
                return Err(Error::invalid_argument(
                    "KeyVaultKeyUrl",
                    format!(
                        "binds one TPD key to one Key Vault key, and the TPD holds {}",
                        materials.len()
                    ),
                ));
            };
            let vault_key = check_usable_by_service(
                ctx,
                "KeyVaultKeyUrl",
                reference,
                a.accept_unrecoverable_vault,
            )?;
            if vault_key.public_key.modulus != material.modulus
                || vault_key.public_key.exponent != material.exponent
            {
                return Err(Error::invalid_argument(
                    "KeyVaultKeyUrl",
                    format!("{} is not the TPD's key {id}: import the TPD's private key into the vault first (Add-CkKeyVaultKey -KeyFilePath), then bind that version", reference.id()),
                ));
            }
            vec![TenantKeyRow {
                key_identifier: id.clone(),
                key_type: CUSTOMER_MANAGED.to_string(),
                status: ARCHIVED.to_string(),
                creation_time: *created,
                friendly_name: a.friendly_name.clone().unwrap_or_else(|| name.clone()),
                origin: "ImportedTpd".to_string(),
                key_vault_key_url: Some(reference.id()),
                modulus: material.modulus.clone(),
                exponent: material.exponent.clone(),
                wrapped_data_key: None,
                sealed_private_key: None,
            }]
        }
        None => materials
            .iter()
            .map(|(id, name, created, material)| {
                microsoft_managed_row(
                    ctx,
                    id.clone(),
                    a.friendly_name.clone().unwrap_or_else(|| name.clone()),
                    if *created > 0 { *created } else { now },
                    "ImportedTpd",
                    material,
                    ARCHIVED,
                )
            })
            .collect::<Result<_>>()?,
    };
    ctx.transaction(&a.tpd_file, |tx| {
        for row in &rows {
            if let Some(existing) = sql::get_key(tx, &row.key_identifier)? {
                return Err(Error::conflict(
                    format!(
                        "The TPD's key {} is already tenant key {} ({}); nothing was imported",
                        row.key_identifier, existing.key_identifier, existing.status
                    ),
                    row.key_identifier.clone(),
                ));
            }
            if let Some(url) = &row.key_vault_key_url {
                if let Some(existing) = sql::find_by_url(tx, url)? {
                    return Err(Error::conflict(
                        format!(
                            "{url} is already tenant key {}; nothing was imported",
                            existing.key_identifier
                        ),
                        url.clone(),
                    ));
                }
            }
            sql::insert_key(tx, row)?;
        }
        sync_key_references(tx)?;
        rows.iter().map(key_out).collect()
    })
}
