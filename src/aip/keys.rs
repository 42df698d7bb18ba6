//! Get-AipServiceKeys, Use-AipServiceKeyVaultKey and Set-AipServiceKeyProperties: the tenant's
//! keys, adding a BYOK key, and choosing the one Active key.

use super::{
    as_service, ensure_tenant_key, find_key, key_out, sync_key_references, AipServiceKey,
    AIP_APP_ID,
};
use crate::error::{Error, Result};
use crate::operations::Context;
use crate::store::aip::{self as sql, TenantKeyRow, ARCHIVED, CUSTOMER_MANAGED};
use crate::vault::boundary::{KeyReference, VaultKey};

arguments! {
    pub struct GetKeysArgs {
    }
}

pub fn get_keys(ctx: &Context<'_>, _a: GetKeysArgs) -> Result<Vec<AipServiceKey>> {
    ensure_tenant_key(ctx)?;
    ctx.read(|tx| sql::list_keys(tx)?.iter().map(key_out).collect())
}

pub(crate) const URL_HELP: &str =
    "Versioned Key Vault key URL (https://<vault>.vault.azure.net/keys/<name>/<version>)";

/// Parses a key URL that must carry a version.
pub(crate) fn versioned_url(parameter: &str, url: &str) -> Result<KeyReference> {
    let reference = KeyReference::parse(parameter, url)?;
    if reference.version.is_none() {
        return Err(Error::invalid_argument(
            parameter,
            format!("'{url}' names no key version; give the URL with its version (…/keys/{}/<version>, as Get-CkKeyVaultKey shows it): a tenant key without a version would break when the key gets its next version", reference.name),
        ));
    }
    Ok(reference)
}

/// Checks, as the AIP service principal, that a vault key can be a tenant key: it exists, is
/// RSA of 2048 bits or more, allows decrypt and sign, is usable now, and the service holds
/// get, decrypt and sign on its vault. Without `force`, its vault must also keep deleted keys
/// recoverable (soft delete and purge protection), or one mistake destroys the tenant key.
pub(crate) fn check_usable_by_service(
    ctx: &Context<'_>,
    parameter: &str,
    reference: &KeyReference,
    force: bool,
) -> Result<VaultKey> {
    let now = ctx.now();
    as_service(ctx, |vaults, caller| {
        let key = vaults.get_key(caller, reference)?;
        let id = key.id();
        if !key.key_type.starts_with("RSA") || key.key_size < 2048 {
            return Err(Error::invalid_argument(
                parameter,
                format!(
                    "{id} is a {} key of {} bits; a tenant key must be RSA of 2048 bits or more",
                    key.key_type, key.key_size
                ),
            ));
        }
        for op in ["decrypt", "sign"] {
            if !key.allows(op) {
                return Err(Error::invalid_argument(
                    parameter,
                    format!("{id} does not allow '{op}' (its KeyOps are {}); the AIP service decrypts and signs with its tenant key", key.key_ops.join(", ")),
                ));
            }
        }
        if !key.is_usable_at(now) {
            return Err(Error::invalid_operation(
                "KeyNotUsable",
                format!("{id} is disabled or outside its NotBefore/Expires dates; the AIP service could not use it"),
                id,
            ));
        }
        for permission in ["decrypt", "sign"] {
            vaults.check_permission(caller, reference, permission).map_err(|mut e| {
                e.message = format!(
                    "{} The AIP service principal {AIP_APP_ID} needs get, decrypt and sign on vault '{}'.",
                    e.message, reference.vault_name
                );
                e
            })?;
        }
        let vault = vaults.vault_properties(caller, reference)?;
        let recoverable = vault.soft_delete && vault.purge_protection;
        if !force && !recoverable {
            return Err(Error::invalid_operation(
                "VaultNotRecoverable",
                format!("Vault '{}' does not have both soft delete and purge protection: a deleted tenant key could not be recovered, and everything it protects would be lost. Create the key in a vault with -EnablePurgeProtection, or repeat with -AcceptUnrecoverableVault if you accept the risk", reference.vault_name),
                reference.vault_name.clone(),
            ));
        }
        Ok(key)
    })
}

arguments! {
    pub struct UseKeyVaultKeyArgs {
        pub key_vault_key_url: String = "KeyVaultKeyUrl", String, URL_HELP, mandatory, pipeline;
        pub friendly_name: Option<String> = "FriendlyName", String, "A name for the key";
        pub accept_unrecoverable_vault: bool = "AcceptUnrecoverableVault", Switch, "Accept a vault without soft delete and purge protection";
    }
}

pub(crate) fn check_friendly_name(name: &Option<String>) -> Result<()> {
    if let Some(n) = name {
        if n.trim().is_empty() || n.chars().count() > 256 || n.chars().any(char::is_control) {
            return Err(Error::invalid_argument(
                "FriendlyName",
                "must be 1 to 256 characters without control characters",
            ));
        }
    }
    Ok(())
}

pub fn use_key_vault_key(ctx: &Context<'_>, a: UseKeyVaultKeyArgs) -> Result<AipServiceKey> {
    check_friendly_name(&a.friendly_name)?;
    let reference = versioned_url("KeyVaultKeyUrl", &a.key_vault_key_url)?;
    ensure_tenant_key(ctx)?;
    let url = reference.id();
    let refuse_duplicate = |existing: &TenantKeyRow| {
        Error::conflict(
            format!(
                "{url} is already tenant key {} ({})",
                existing.key_identifier, existing.status
            ),
            url.clone(),
        )
    };
    if let Some(existing) = ctx.read(|tx| sql::find_by_url(tx, &url))? {
        return Err(refuse_duplicate(&existing));
    }
    let key = check_usable_by_service(
        ctx,
        "KeyVaultKeyUrl",
        &reference,
        a.accept_unrecoverable_vault,
    )?;
    let row = TenantKeyRow {
        key_identifier: crate::crypto::new_guid()?,
        key_type: CUSTOMER_MANAGED.to_string(),
        status: ARCHIVED.to_string(),
        creation_time: ctx.now(),
        friendly_name: a
            .friendly_name
            .clone()
            .unwrap_or_else(|| format!("{}/{}", reference.vault_name, reference.name)),
        origin: "KeyVault".to_string(),
        key_vault_key_url: Some(url.clone()),
        modulus: key.public_key.modulus,
        exponent: key.public_key.exponent,
        wrapped_data_key: None,
        sealed_private_key: None,
    };
    ctx.transaction(&url, |tx| {
        if let Some(existing) = sql::find_by_url(tx, &url)? {
            return Err(refuse_duplicate(&existing));
        }
        sql::insert_key(tx, &row)?;
        sync_key_references(tx)?;
        key_out(&row)
    })
}

/// Why -Active $false is refused, in the terms of the key's topology: archiving the Active key
/// would be revoking it, which a Microsoft-managed key does not allow and a BYOK key does in
/// Key Vault.
fn refuse_archiving(ctx: &Context<'_>, key_identifier: &str) -> Error {
    let key = ctx
        .read(|tx| sql::get_key(tx, key_identifier))
        .ok()
        .flatten();
    let revoke = match key {
        Some(k) if k.is_byok() => format!(
            " To revoke this customer-managed key, remove the AIP service principal's access in Key Vault: Remove-CkKeyVaultAccessPolicy -VaultName {} -ServicePrincipalName {AIP_APP_ID}",
            KeyReference::parse("KeyVaultKeyUrl", k.key_vault_key_url.as_deref().unwrap_or_default())
                .map(|r| r.vault_name)
                .unwrap_or_default()
        ),
        Some(_) => " A Microsoft-managed tenant key cannot be revoked by you either: Microsoft revokes it when the subscription ends".to_string(),
        None => String::new(),
    };
    Error::invalid_argument(
        "Active",
        format!("only $true is accepted: the Active key cannot be archived directly, since the tenant always needs one Active key; make another key Active and this one becomes Archived.{revoke}"),
    )
}

arguments! {
    pub struct SetKeyPropertiesArgs {
        pub key_identifier: String = "KeyIdentifier", String, "KeyIdentifier of the tenant key (Get-CkAipServiceKeys)", mandatory, pipeline;
        pub active: bool = "Active", Bool, "$true makes the key the tenant's Active key", mandatory;
        pub force: bool = "Force", Switch, "Do not ask for confirmation";
    }
}

pub fn set_key_properties(ctx: &Context<'_>, a: SetKeyPropertiesArgs) -> Result<AipServiceKey> {
    if !a.active {
        return Err(refuse_archiving(ctx, &a.key_identifier));
    }
    ensure_tenant_key(ctx)?;
    let key = ctx.read(|tx| find_key(tx, &a.key_identifier))?;
    if key.is_active() {
        return key_out(&key);
    }
    if key.is_byok() {
        // Activating a key the service cannot use would stop all protection: check now.
        let reference = versioned_url(
            "KeyIdentifier",
            key.key_vault_key_url.as_deref().unwrap_or_default(),
        )?;
        check_usable_by_service(ctx, "KeyIdentifier", &reference, true).map_err(|mut e| {
            e.message = format!(
                "Tenant key {} cannot be made Active: {}",
                key.key_identifier, e.message
            );
            e
        })?;
    }
    ctx.transaction(&key.key_identifier, |tx| {
        let key = find_key(tx, &key.key_identifier)?;
        sql::activate(tx, &key.key_identifier)?;
        sync_key_references(tx)?;
        key_out(&find_key(tx, &key.key_identifier)?)
    })
}
