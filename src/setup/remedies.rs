//! The fix for each failed or warned check, as the command to run: with Az.KeyVault (and
//! Exchange Online or SharePoint Online PowerShell), and with this module's `Ck` cmdlets, the
//! vault, key, version, principal and policy names filled in.

use super::check::Check;
use super::Subject;
use crate::identity::Principal;
use crate::vault::inspect::Inspection;
use crate::vault::regions::alternative_region;
use crate::vault::rules::{Verdict, Workload, CRYPTO_SERVICE_ENCRYPTION_USER_NAME};

/// What a command needs to name, for one key of the pair and its vault.
pub(crate) struct Names<'a> {
    subject: &'a Subject,
    vault: String,
    resource_group: String,
    resource_id: String,
    location: String,
    key: String,
    /// The version checked (the id's, or the newest).
    version: Option<String>,
    /// The newest enabled version, when the versions could be listed.
    newest: Option<String>,
    /// 0 for the primary key, 1 for the secondary (SharePoint's -KeyType).
    position: usize,
    /// The other vault's region, for advice on where to put a new vault.
    other_location: Option<String>,
    vault_exists: bool,
    /// Azure RBAC authorization: the fix is a role assignment, not an access policy.
    rbac: bool,
}

impl<'a> Names<'a> {
    pub(crate) fn of(
        subject: &'a Subject,
        inspections: &[Inspection],
        position: usize,
    ) -> Names<'a> {
        let Some(i) = inspections.get(position) else {
            return Names {
                subject,
                vault: String::new(),
                resource_group: "<resource group>".into(),
                resource_id: String::new(),
                location: "<region>".into(),
                key: String::new(),
                version: None,
                newest: None,
                position,
                other_location: None,
                vault_exists: false,
                rbac: false,
            };
        };
        let vault = i.vault.as_ref().ok();
        let key = i.key.as_ref().ok();
        let other_location = inspections
            .iter()
            .filter(|o| o.reference.vault_name != i.reference.vault_name)
            .find_map(|o| o.vault.as_ref().ok().map(|v| v.location.clone()));
        Names {
            subject,
            vault: vault.map_or_else(|| i.reference.vault_name.clone(), |v| v.name.clone()),
            resource_group: vault
                .map_or_else(|| "<resource group>".into(), |v| v.resource_group.clone()),
            resource_id: vault.map_or_else(
                || format!("<resource id of vault {}>", i.reference.vault_name),
                |v| v.resource_id.clone(),
            ),
            location: vault.map_or_else(|| "<region>".into(), |v| v.location.clone()),
            key: i.reference.name.clone(),
            version: key
                .map(|k| k.version.clone())
                .or_else(|| i.reference.version.clone()),
            newest: key
                .and_then(|k| k.versions.as_ref().ok())
                .and_then(|versions| {
                    versions
                        .iter()
                        .rev()
                        .find(|v| v.enabled)
                        .map(|v| v.version.clone())
                }),
            position,
            other_location,
            vault_exists: vault.is_some(),
            rbac: vault.is_some_and(|v| v.rbac),
        }
    }

    fn vault_key(&self) -> String {
        format!("-VaultName {} -Name {}", q(&self.vault), q(&self.key))
    }

    fn version_arg(&self) -> String {
        self.version
            .as_ref()
            .map(|v| format!(" -Version {}", q(v)))
            .unwrap_or_default()
    }

    /// A name for a new vault beside this one, within Azure's 24 characters.
    fn new_vault(&self) -> String {
        let mut base: String = self.vault.chars().take(21).collect();
        while base.ends_with('-') {
            base.pop();
        }
        format!("{base}-v2")
    }

    fn new_region(&self) -> String {
        let keep = self.other_location.as_deref().unwrap_or(&self.location);
        alternative_region(keep, &self.location).map_or_else(
            || "<another region, not paired>".to_string(),
            str::to_string,
        )
    }
}

/// A PowerShell single-quoted string.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// A new vault with 90-day soft delete and purge protection, holding a copy of the key
/// (backup and restore stay within the subscription and geography).
fn move_key(n: &Names<'_>) -> (String, String) {
    let new = n.new_vault();
    let file = format!("./{}-{}.keybackup", n.vault, n.key);
    (
        format!(
            "New-AzKeyVault -Name {new} -ResourceGroupName {rg} -Location {loc} -Sku Premium -SoftDeleteRetentionInDays 90 -EnablePurgeProtection; Backup-AzKeyVaultKey {vk} -OutputFile {file}; Restore-AzKeyVaultKey -VaultName {new} -InputFile {file}",
            new = q(&new), rg = q(&n.resource_group), loc = q(&n.location), vk = n.vault_key(), file = q(&file)
        ),
        format!(
            "New-CkKeyVault -VaultName {new} -Location {loc} -Sku Premium -SoftDeleteRetentionInDays 90 -EnablePurgeProtection; Backup-CkKeyVaultKey {vk} -OutputFile {file}; Restore-CkKeyVaultKey -VaultName {new} -InputFile {file}",
            new = q(&new), loc = q(&n.location), vk = n.vault_key(), file = q(&file)
        ),
    )
}

/// A new vault in another region with a new HSM key, for the policy to move to.
fn new_vault_elsewhere(n: &Names<'_>) -> (String, String) {
    let (new, region) = (q(&n.new_vault()), q(&n.new_region()));
    (
        format!("New-AzKeyVault -Name {new} -ResourceGroupName {} -Location {region} -Sku Premium -EnablePurgeProtection; Add-AzKeyVaultKey -VaultName {new} -Name {} -Destination HSM -KeyOps wrapKey,unwrapKey", q(&n.resource_group), q(&n.key)),
        format!("New-CkKeyVault -VaultName {new} -Location {region} -Sku Premium -EnablePurgeProtection; Add-CkKeyVaultKey -VaultName {new} -Name {} -Destination HSM -KeyOps wrapKey,unwrapKey", q(&n.key)),
    )
}

fn principal_args(p: &Principal) -> String {
    match p {
        Principal::User(upn) => format!("-UserPrincipalName {}", q(upn)),
        Principal::ServicePrincipal(app) => format!("-ServicePrincipalName {}", q(app)),
    }
}

/// The command that makes the policy use the keys' newest versions.
fn refresh(n: &Names<'_>) -> (String, Option<String>) {
    let policy = n
        .subject
        .policy
        .clone()
        .unwrap_or_else(|| "<the policy over these keys>".into());
    match n.subject.workload {
        Workload::Exchange => (
            format!("Set-DataEncryptionPolicy -Identity {} -Refresh", q(&policy)),
            Some(format!(
                "Set-CkDataEncryptionPolicy -Identity {} -Refresh",
                q(&policy)
            )),
        ),
        Workload::SharePoint => {
            let args = format!(
                "-KeyVaultName {} -KeyName {} -KeyVersion {} -KeyType {}",
                q(&n.vault),
                q(&n.key),
                q(n.newest.as_deref().unwrap_or("<newest version>")),
                if n.position == 0 {
                    "Primary"
                } else {
                    "Secondary"
                }
            );
            (
                format!("Update-SPODataEncryptionPolicy {args}"),
                Some(format!("Update-CkSPODataEncryptionPolicy {args}")),
            )
        }
        // No multi-workload policy in this module: only Microsoft's cmdlet.
        Workload::MultiWorkload => (
            format!(
                "Set-M365DataAtRestEncryptionPolicy -Identity {} -Refresh",
                q(&policy)
            ),
            None,
        ),
    }
}

/// The Az and Ck commands for a check that warned or failed.
pub(crate) fn remedy(
    check: Check,
    verdict: &Verdict,
    n: &Names<'_>,
) -> (Option<String>, Option<String>) {
    let app = n.subject.workload.application_id();
    let vk = n.vault_key();
    let ver = n.version_arg();
    let both = |az: String, ck: String| (Some(az), Some(ck));
    match check {
        Check::SeparateVaults | Check::VaultRegions | Check::DataLocation => {
            let (az, ck) = new_vault_elsewhere(n);
            both(az, ck)
        }
        Check::SoftDelete => both(
            format!("$vault = Get-AzResource -ResourceId {id}; $vault.Properties | Add-Member -MemberType NoteProperty -Name enableSoftDelete -Value $true -Force; Set-AzResource -ResourceId $vault.ResourceId -Properties $vault.Properties -Force", id = q(&n.resource_id)),
            move_key(n).1,
        ),
        Check::SoftDeleteRetention => {
            let (az, ck) = move_key(n);
            both(az, ck)
        }
        Check::PurgeProtection => both(
            format!("Update-AzKeyVault -VaultName {} -ResourceGroupName {} -EnablePurgeProtection", q(&n.vault), q(&n.resource_group)),
            move_key(n).1,
        ),
        Check::RecoveryLevel if verdict.detail.starts_with("Customized") => {
            let (az, ck) = move_key(n);
            both(az, ck)
        }
        Check::RecoveryLevel => both(
            format!("Update-AzKeyVault -VaultName {} -ResourceGroupName {} -EnablePurgeProtection", q(&n.vault), q(&n.resource_group)),
            move_key(n).1,
        ),
        Check::VaultSku => both(
            format!("$vault = Get-AzResource -ResourceId {id}; $vault.Properties.sku.name = 'premium'; Set-AzResource -ResourceId $vault.ResourceId -Properties $vault.Properties -Force; Add-AzKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey", id = q(&n.resource_id)),
            format!("New-CkKeyVault -VaultName {} -Location {} -Sku Premium -EnablePurgeProtection; Add-CkKeyVaultKey -VaultName {} -Name {} -Destination HSM -KeyOps wrapKey,unwrapKey", q(&n.new_vault()), q(&n.location), q(&n.new_vault()), q(&n.key)),
        ),
        Check::PermissionModel if verdict.status == crate::vault::rules::Status::Warning => both(
            format!("Remove-AzKeyVaultAccessPolicy -VaultName {} -ResourceGroupName {} -ServicePrincipalName {}", q(&n.vault), q(&n.resource_group), q(app)),
            format!("Remove-CkKeyVaultAccessPolicy -VaultName {} -ServicePrincipalName {}", q(&n.vault), q(app)),
        ),
        Check::PermissionModel => both(
            format!("New-AzRoleAssignment -ApplicationId {} -RoleDefinitionName {} -Scope {}", q(app), q(CRYPTO_SERVICE_ENCRYPTION_USER_NAME), q(&n.resource_id)),
            format!("New-CkRoleAssignment -ApplicationId {} -RoleDefinitionName {} -Scope {}", q(app), q(CRYPTO_SERVICE_ENCRYPTION_USER_NAME), q(&n.resource_id)),
        ),
        Check::ServicePrincipalAccess if n.rbac => both(
            format!("New-AzRoleAssignment -ApplicationId {} -RoleDefinitionName {} -Scope {}", q(app), q(CRYPTO_SERVICE_ENCRYPTION_USER_NAME), q(&n.resource_id)),
            format!("New-CkRoleAssignment -ApplicationId {} -RoleDefinitionName {} -Scope {}", q(app), q(CRYPTO_SERVICE_ENCRYPTION_USER_NAME), q(&n.resource_id)),
        ),
        Check::ServicePrincipalAccess => both(
            format!("Set-AzKeyVaultAccessPolicy -VaultName {} -ResourceGroupName {} -ServicePrincipalName {} -PermissionsToKeys get,wrapKey,unwrapKey", q(&n.vault), q(&n.resource_group), q(app)),
            format!("Set-CkKeyVaultAccessPolicy -VaultName {} -ServicePrincipalName {} -PermissionsToKeys get, wrapKey, unwrapKey", q(&n.vault), q(app)),
        ),
        Check::AdminBackupAccess => {
            let who = principal_args(&n.subject.admin);
            both(
                format!("Set-AzKeyVaultAccessPolicy -VaultName {} -ResourceGroupName {} {who} -PermissionsToKeys create,import,list,get,backup,restore", q(&n.vault), q(&n.resource_group)),
                format!("Set-CkKeyVaultAccessPolicy -VaultName {} {who} -PermissionsToKeys create, import, list, get, backup, restore", q(&n.vault)),
            )
        }
        Check::KeyEnabled if n.vault_exists && verdict.detail.contains("not found") => both(
            format!("Add-AzKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey"),
            format!("Add-CkKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey"),
        ),
        Check::KeyEnabled if verdict.detail.contains("does not exist") || verdict.detail.contains("not found") => both(
            format!("New-AzKeyVault -Name {v} -ResourceGroupName {rg} -Location {loc} -Sku Premium -EnablePurgeProtection; Add-AzKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey", v = q(&n.vault), rg = q(&n.resource_group), loc = q(&n.location)),
            format!("New-CkKeyVault -VaultName {v} -Location {loc} -Sku Premium -EnablePurgeProtection; Add-CkKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey", v = q(&n.vault), loc = q(&n.location)),
        ),
        Check::KeyEnabled => both(
            format!("Update-AzKeyVaultKey {vk}{ver} -Enable $true"),
            format!("Update-CkKeyVaultKey {vk}{ver} -Enable $true"),
        ),
        Check::KeyType if verdict.status == crate::vault::rules::Status::Warning => both(
            format!("Add-AzKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey"),
            format!("Add-CkKeyVaultKey {vk} -Destination HSM -KeyOps wrapKey,unwrapKey"),
        ),
        Check::KeyType | Check::KeySize => {
            let new = format!("-VaultName {} -Name {}", q(&n.vault), q(&format!("{}-rsa", n.key)));
            both(
                format!("Add-AzKeyVaultKey {new} -Destination HSM -Size 3072 -KeyOps wrapKey,unwrapKey"),
                format!("Add-CkKeyVaultKey {new} -Destination HSM -Size 3072 -KeyOps wrapKey,unwrapKey"),
            )
        }
        Check::KeyOperations => both(
            format!("Update-AzKeyVaultKey {vk}{ver} -KeyOps wrapKey,unwrapKey"),
            format!("Update-CkKeyVaultKey {vk}{ver} -KeyOps wrapKey, unwrapKey"),
        ),
        Check::KeyExpiry => both(
            format!("Update-AzKeyVaultKey {vk}{ver} -Expires ([datetime]::new(9999, 12, 31, 0, 0, 0, 'Utc'))"),
            format!("Update-CkKeyVaultKey {vk}{ver} -Expires ([datetime]::new(9999, 12, 31, 0, 0, 0, 'Utc'))"),
        ),
        Check::KeyNotBefore => both(
            format!("Update-AzKeyVaultKey {vk}{ver} -NotBefore ([datetime]::UtcNow)"),
            format!("Update-CkKeyVaultKey {vk}{ver} -NotBefore ([datetime]::UtcNow)"),
        ),
        Check::LatestVersion => {
            let (az, ck) = refresh(n);
            (Some(az), ck)
        }
        Check::KeyBackup => {
            let folder = n.subject.backup_path.clone().unwrap_or_else(|| ".".into());
            let file = format!(
                "\"{}/{}-{}-$(Get-Date -Format yyyyMMddHHmmss).keybackup\"",
                folder.trim_end_matches('/').replace('`', "``").replace('"', "`\"").replace('$', "`$"),
                n.vault,
                n.key
            );
            both(
                format!("Backup-AzKeyVaultKey {vk} -OutputFile {file}"),
                format!("Backup-CkKeyVaultKey {vk} -OutputFile {file}"),
            )
        }
        Check::Summary => (None, None),
    }
}
