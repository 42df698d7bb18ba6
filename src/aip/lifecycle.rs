//! Get-AipServiceTenantKeyLifecycle: the seed's table of lifecycle operations (revoke, re-key,
//! backup and recover, export, respond to a breach) worked out for this tenant's topology,
//! with the cmdlets that do each and, where the topology rules one out, why.

use super::{active_key, ensure_tenant_key, AIP_APP_ID};
use crate::error::Result;
use crate::operations::Context;
use crate::store::aip::{self as sql, TenantKeyRow};
use crate::vault::boundary::KeyReference;
use serde::Serialize;

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LifecycleOperation {
    pub operation: &'static str,
    pub available: bool,
    pub how: Option<String>,
    pub why_not: Option<String>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct TenantKeyLifecycle {
    /// `Microsoft-managed` or `Customer-managed (BYOK)`: the Active key's type.
    pub topology: String,
    pub active_key_identifier: String,
    pub operations: Vec<LifecycleOperation>,
}

fn yes(operation: &'static str, how: String) -> LifecycleOperation {
    LifecycleOperation {
        operation,
        available: true,
        how: Some(how),
        why_not: None,
    }
}

fn no(operation: &'static str, why_not: &str) -> LifecycleOperation {
    LifecycleOperation {
        operation,
        available: false,
        how: None,
        why_not: Some(why_not.to_string()),
    }
}

arguments! {
    pub struct LifecycleArgs {
    }
}

pub fn tenant_key_lifecycle(ctx: &Context<'_>, _a: LifecycleArgs) -> Result<TenantKeyLifecycle> {
    ensure_tenant_key(ctx)?;
    let (active, keys) = ctx.read(|tx| Ok((active_key(tx)?, sql::list_keys(tx)?)))?;
    let operations = if active.is_byok() {
        customer_managed(&active)?
    } else {
        microsoft_managed(&active, &keys)
    };
    Ok(TenantKeyLifecycle {
        topology: active.key_type.clone(),
        active_key_identifier: active.key_identifier.clone(),
        operations,
    })
}

fn microsoft_managed(active: &TenantKeyRow, keys: &[TenantKeyRow]) -> Vec<LifecycleOperation> {
    let candidates: Vec<&str> = keys
        .iter()
        .filter(|k| !k.is_active() && !k.is_byok())
        .map(|k| k.key_identifier.as_str())
        .collect();
    let activate = if candidates.is_empty() {
        "Import-CkAipServiceTpd -TpdFile <file> -ProtectionPassword <password>, then Set-CkAipServiceKeyProperties -KeyIdentifier <imported key> -Active $true".to_string()
    } else {
        format!(
            "Set-CkAipServiceKeyProperties -KeyIdentifier <key> -Active $true with an archived Microsoft-managed key ({})",
            candidates.join(", ")
        )
    };
    vec![
        no("Revoke", "A Microsoft-managed tenant key cannot be revoked by you: Microsoft revokes it when the subscription ends. To be able to revoke, move to a customer-managed (BYOK) key"),
        yes("ReKey", format!("{activate}; or move to BYOK: Use-CkAipServiceKeyVaultKey -KeyVaultKeyUrl <versioned url>, then Set-CkAipServiceKeyProperties -KeyIdentifier <that key> -Active $true. Content protected before keeps opening with the archived key")),
        no("BackupAndRecover", "Microsoft backs up and recovers Microsoft-managed tenant keys; there is nothing for you to back up. Export-CkAipServiceTpd gives you a copy"),
        yes("Export", format!("Export-CkAipServiceTpd -OutputFile <file> -ProtectionPassword <password> [-KeyIdentifier {}]: a password-protected trusted publishing domain file that Import-CkAipServiceTpd opens in another tenant", active.key_identifier)),
        yes("RespondToBreach", "If the tenant key itself leaked: re-key now (ReKey) so new content uses a new key, and treat content protected before as exposed. If only usage rights or a user's credentials leaked: re-keying does not help; revoke the user's access and rights instead".to_string()),
    ]
}

fn customer_managed(active: &TenantKeyRow) -> Result<Vec<LifecycleOperation>> {
    let reference = KeyReference::parse(
        "KeyVaultKeyUrl",
        active.key_vault_key_url.as_deref().unwrap_or_default(),
    )?;
    let (vault, name) = (&reference.vault_name, &reference.name);
    Ok(vec![
        yes("Revoke", format!("Remove-CkKeyVaultAccessPolicy -VaultName {vault} -ServicePrincipalName {AIP_APP_ID}: from then on no content protected with the key opens, and nothing new can be protected until another key is Active. Set-CkKeyVaultAccessPolicy -VaultName {vault} -ServicePrincipalName {AIP_APP_ID} -PermissionsToKeys get, decrypt, sign restores it")),
        yes("ReKey", format!("Add-CkKeyVaultKey -VaultName {vault} -Name {name} (a new version) or a new key, then Use-CkAipServiceKeyVaultKey -KeyVaultKeyUrl <its versioned url> and Set-CkAipServiceKeyProperties -KeyIdentifier <that key> -Active $true. Content protected before keeps opening with the archived key")),
        yes("BackupAndRecover", format!("Backup-CkKeyVaultKey -VaultName {vault} -Name {name} -OutputFile <file>; Restore-CkKeyVaultKey -VaultName {vault} -InputFile <file> recovers it. Backing up a BYOK key is your duty")),
        no("Export", "A customer-managed (BYOK) tenant key never leaves Key Vault, so it cannot be exported; back it up with Backup-CkKeyVaultKey instead"),
        yes("RespondToBreach", format!("If the key material leaked: re-key (a new key or version in vault {vault}, made Active) and consider revoking the old one. If only usage rights or a user's credentials leaked: re-keying does not help; revoke the user's access and rights instead")),
    ])
}
