//! The vault domain's operations: each declared once, with its presentation (help, examples,
//! ShouldProcess wording), next to the handlers in this folder.

use super::backup::{BackupKeyArgs, KeyBackup, RestoreKeyArgs};
use super::keys::AddKeyArgs;
use super::keys::{BY_KEY_VERSION, BY_KEY_VERSIONS, BY_VAULT_NAME, CREATE, IMPORT};
use super::model::KeyVaultKeyOut;
use super::{backend, backup_files};
use super::{BY_OBJECT_ID, BY_SPN, BY_UPN};
use crate::crypto::Secret;
use crate::operations::{
    Column, Impact, ImpactPreview, InMemory, Operation, OutputType, PropertyType,
};
use zeroize::Zeroizing;

const AREA: &str = "KeyVault";

const KEY_TARGET: &str = "Key '{Name}' in vault '{VaultName}'";
/// Get-KeyVaultChangeImpact, called by the cmdlets that take away what policies may need.
const CHANGE_IMPACT: &str = "Get-KeyVaultChangeImpact";
const VAULT_TARGET: &str = "Vault '{VaultName}'";

/// Add-KeyVaultKey -KeyFilePath with the key file's bytes in memory.
pub static IMPORT_KEY: InMemory<AddKeyArgs, Secret, KeyVaultKeyOut> = InMemory {
    operation: "Add-KeyVaultKey",
    file_parameter: "KeyFilePath",
    handler: backend::import_key,
};

/// Backup-KeyVaultKey with the backup handed back in memory instead of written to -OutputFile.
pub static BACKUP_KEY: InMemory<BackupKeyArgs, (), KeyBackup> = InMemory {
    operation: "Backup-KeyVaultKey",
    file_parameter: "OutputFile",
    handler: backup_files::backup_blob,
};

/// Restore-KeyVaultKey -InputFile with the backup's bytes in memory.
pub static RESTORE_KEY: InMemory<RestoreKeyArgs, Zeroizing<Vec<u8>>, KeyVaultKeyOut> = InMemory {
    operation: "Restore-KeyVaultKey",
    file_parameter: "InputFile",
    handler: backup_files::restore_blob,
};

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("New-KeyVault", AREA, backend::new_key_vault)
            .synopsis("Creates a key vault in the store.")
            .description("Creates a key vault, like New-AzKeyVault. Soft delete is on by default with a 90-day retention; Customer Key needs soft delete, and purge protection is recommended.")
            .output("CustomerKey.KeyVault")
            .changes(Impact::Medium, "Vault '{VaultName}' in '{Location}'", "Create key vault")
            .example("New-CkKeyVault -VaultName 'contoso-ck-weu' -Location 'westeurope' -EnablePurgeProtection", "Creates a vault with soft delete and purge protection.")
            .example("New-CkKeyVault -VaultName 'contoso-ck-rbac' -Location 'westeurope' -EnablePurgeProtection -EnableRbacAuthorization", "Creates a vault whose key operations are authorized by Azure role assignments (New-CkRoleAssignment) instead of access policies; as in Azure, its creator gets no access policy and assigns itself a role such as 'Key Vault Crypto Officer'."),
        Operation::new("Update-KeyVault", AREA, backend::update_key_vault)
            .synopsis("Changes a vault's permission model, or turns purge protection on.")
            .description("Updates a vault, like Update-AzKeyVault. -EnableRbacAuthorization $true makes every key operation on the vault authorized by the acting principal's role assignments at the vault (New-CkRoleAssignment): the vault's access policies are kept but ignored, as Key Vault ignores them. $false goes back to access policies (role assignments are kept but ignored). -EnablePurgeProtection turns purge protection on; it cannot be turned off. Owner only. Returns the vault. In a session with an Azure Environment, PATCHes the vault in Azure Resource Manager (located by -SubscriptionId and -ResourceGroupName as Get-CkKeyVault does).")
            .output("CustomerKey.KeyVault")
            .changes(Impact::Medium, VAULT_TARGET, "Update key vault (EnableRbacAuthorization '{EnableRbacAuthorization}', EnablePurgeProtection '{EnablePurgeProtection}')")
            .example("Update-CkKeyVault -VaultName 'contoso-ck-weu' -EnableRbacAuthorization $true", "Switches the vault to Azure RBAC: grant Exchange Online 'Key Vault Crypto Service Encryption User' with New-CkRoleAssignment first, or it loses access to the keys.")
            .example("Update-CkKeyVault -VaultName 'contoso-ck-weu' -EnablePurgeProtection", "Turns purge protection on."),
        Operation::new("New-RoleAssignment", AREA, backend::new_role_assignment)
            .synopsis("Assigns a Key Vault role to a principal at a vault's scope.")
            .description("Assigns one of Key Vault's built-in data-plane roles to a user (-SignInName), a service principal (-ApplicationId) or an object id (-ObjectId) at a vault's scope (-Scope, the vault's ResourceId), as New-AzRoleAssignment does. Give the role by -RoleDefinitionName (Key Vault Administrator, Key Vault Crypto Officer, Key Vault Crypto User, Key Vault Crypto Service Encryption User, Key Vault Reader) or -RoleDefinitionId. The assignment decides key operations on a vault whose permission model is Azure RBAC (Update-CkKeyVault -EnableRbacAuthorization $true); in access policy mode it is kept but ignored. Only the vault's owner may assign roles. An existing assignment of the same role to the same principal is a Conflict (RoleAssignmentExists). In a session with an Azure Environment, PUTs the assignment to Azure Resource Manager (Microsoft.Authorization/roleAssignments, api-version 2022-04-01); -ApplicationId and -SignInName are looked up in Microsoft Graph.")
            .output("CustomerKey.RoleAssignment")
            .changes(Impact::Medium, "Scope '{Scope}'", "Assign role '{RoleDefinitionName}{RoleDefinitionId}' to '{ObjectId}{ApplicationId}{SignInName}'")
            .example("New-CkRoleAssignment -ApplicationId '00000002-0000-0ff1-ce00-000000000000' -RoleDefinitionName 'Key Vault Crypto Service Encryption User' -Scope (Get-CkKeyVault -VaultName 'contoso-ck-weu').ResourceId", "Lets Exchange Online get, wrap and unwrap with the keys of an RBAC vault, as Customer Key needs.")
            .example("New-CkRoleAssignment -SignInName 'admin@contoso.onmicrosoft.com' -RoleDefinitionName 'Key Vault Crypto Officer' -Scope $vault.ResourceId", "Lets an admin manage the keys of an RBAC vault."),
        Operation::new("Get-RoleAssignment", AREA, backend::get_role_assignment)
            .synopsis("Lists role assignments at vaults' scopes.")
            .description("Lists the role assignments at a vault's scope (-Scope), or at every vault of the store, as Get-AzRoleAssignment does; -ObjectId, -ApplicationId or -SignInName keeps one principal's, -RoleDefinitionName or -RoleDefinitionId one role's. Any signed-in principal may read them. In a session with an Azure Environment, reads them from Azure Resource Manager (without -Scope, at the subscription: its assignments and those below it).")
            .output("CustomerKey.RoleAssignment")
            .example("Get-CkRoleAssignment -Scope (Get-CkKeyVault -VaultName 'contoso-ck-weu').ResourceId", "Lists who holds which role on the vault.")
            .example("Get-CkRoleAssignment -ApplicationId '00000002-0000-0ff1-ce00-000000000000'", "Shows Exchange Online's roles on the store's vaults."),
        Operation::new("Remove-RoleAssignment", AREA, backend::remove_role_assignment)
            .synopsis("Removes a principal's role assignment at a vault's scope.")
            .description("Removes the assignment of one role (-RoleDefinitionName or -RoleDefinitionId) to one principal (-ObjectId, -ApplicationId or -SignInName) at a vault's scope (-Scope), as Remove-AzRoleAssignment does, and returns it. Only the vault's owner may. On an RBAC vault of the store, the engine refuses to remove the last role that lets a workload's service principal (Exchange Online, SharePoint Online, AIP) wrap and unwrap while its data encryption policies use the vault's keys, which would make their data unreadable (KeyInUse, naming the policies), unless -AcceptDataLoss is given. In a session with an Azure Environment, DELETEs the assignment in Azure Resource Manager (no such check there).")
            .output("CustomerKey.RoleAssignment")
            .changes(Impact::High, "Scope '{Scope}'", "Remove role '{RoleDefinitionName}{RoleDefinitionId}' of '{ObjectId}{ApplicationId}{SignInName}'")
            .example("Remove-CkRoleAssignment -SignInName 'old-admin@contoso.onmicrosoft.com' -RoleDefinitionName 'Key Vault Crypto Officer' -Scope $vault.ResourceId", "Removes a former admin's role after confirmation.")
            .example("Remove-CkRoleAssignment -ApplicationId '00000002-0000-0ff1-ce00-000000000000' -RoleDefinitionName 'Key Vault Crypto Service Encryption User' -Scope $vault.ResourceId -AcceptDataLoss", "Takes Exchange Online's access to a test vault's keys away although a data encryption policy still uses them, accepting that its mailboxes there become unreadable."),
        Operation::new("Get-KeyVault", AREA, backend::get_key_vault)
            .synopsis("Gets key vaults, with their access policies.")
            .description("Gets one vault by name, or every vault of the store. With -InRemovedState, gets soft-deleted vaults instead (CustomerKey.DeletedKeyVault). In a session with an Azure Environment, reads the vaults from Azure Resource Manager in the subscription of -SubscriptionId (default: AZURE_SUBSCRIPTION_ID): the one of -ResourceGroupName, or, without it, found among the subscription's vaults, as Get-AzKeyVault does; the store's own vaults are all in resource group 'customer-key' of the store's subscription.")
            .output("CustomerKey.KeyVault")
            .output_when("InRemovedState", "CustomerKey.DeletedKeyVault")
            .example("Get-CkKeyVault", "Lists the vaults of the store.")
            .example("Get-CkKeyVault -VaultName 'contoso-ck-weu' -InRemovedState", "Shows a deleted vault with its deletion and scheduled purge dates.")
            .example("Get-CkKeyVault -VaultName 'contoso-ck-weu' -ResourceGroupName 'rg-customer-key' -SubscriptionId '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d'", "In a session connected with -Environment AzureCloud: reads the vault and its access policies from Azure Resource Manager."),
        Operation::new("Remove-KeyVault", AREA, backend::remove_key_vault)
            .synopsis("Deletes a key vault (soft delete when enabled), or purges a deleted one.")
            .description("Deletes a vault with its keys. With soft delete on, the vault can be recovered with Undo-CkKeyVaultRemoval until its retention ends. With -InRemovedState, purges a deleted vault for good. Asks for confirmation (ConfirmImpact High) unless -Force is given, as Remove-AzKeyVault does; -WhatIf is honoured even with -Force. The engine refuses to remove a vault whose key a data encryption policy uses unless -AcceptDataLoss is given, which never skips the prompt.")
            .changes(Impact::High, VAULT_TARGET, "Remove key vault with all its keys")
            .action_when("InRemovedState", "Purge deleted key vault (cannot be undone)")
            .preview_impact(ImpactPreview::of(CHANGE_IMPACT, &["VaultName"]))
            .example("Remove-CkKeyVault -VaultName 'contoso-ck-test'", "Deletes the vault after confirmation.")
            .example("Remove-CkKeyVault -VaultName 'contoso-ck-test' -InRemovedState -Force", "Purges the deleted vault without asking."),
        Operation::new("Undo-KeyVaultRemoval", AREA, backend::undo_key_vault_removal)
            .synopsis("Recovers a soft-deleted key vault with its keys.")
            .description("Recovers a vault deleted with Remove-CkKeyVault while its retention has not ended.")
            .output("CustomerKey.KeyVault")
            .changes(Impact::Medium, VAULT_TARGET, "Recover deleted key vault")
            .example("Undo-CkKeyVaultRemoval -VaultName 'contoso-ck-weu'", "Recovers the vault and its keys."),
        Operation::new("Set-KeyVaultAccessPolicy", AREA, backend::set_access_policy)
            .synopsis("Grants key permissions on a vault to a user or service principal.")
            .description("Sets the key permissions of one principal on a vault, replacing its current ones. On a vault whose permission model is Azure RBAC (EnableRbacAuthorization), the policy is stored, as Resource Manager stores it, but ignored: grant a role with New-CkRoleAssignment instead. Give exactly one of -UserPrincipalName (parameter set ByUserPrincipalName, the default), -ObjectId (ByObjectId) and -ServicePrincipalName (ByServicePrincipalName). In a session with an Azure Environment, changes the vault's access policies through Azure Resource Manager (the vault located as Get-CkKeyVault does, by -SubscriptionId and -ResourceGroupName); -UserPrincipalName and -ServicePrincipalName are looked up in Microsoft Graph, and when the session's credentials may not read the directory the error says to pass -ObjectId.")
            .output("CustomerKey.KeyVault")
            .default_set(BY_UPN)
            .resource_id_sets(&[(BY_UPN, "ResourceIdByUserPrincipalName"), (BY_OBJECT_ID, "ResourceIdByObjectId"), (BY_SPN, "ResourceIdByServicePrincipalName")], super::locate_by_resource_id)
            .changes(Impact::Medium, VAULT_TARGET, "Set key permissions of '{UserPrincipalName}{ObjectId}{ServicePrincipalName}' to '{PermissionsToKeys}'")
            .example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -UserPrincipalName 'admin@contoso.onmicrosoft.com' -PermissionsToKeys get, list, create, update, backup, restore", "Lets an admin manage the vault's keys (parameter set ByUserPrincipalName).")
            .example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000' -PermissionsToKeys get, wrapKey, unwrapKey", "Lets Exchange Online (its service principal's application id) use the vault's keys (parameter set ByServicePrincipalName).")
            .example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PermissionsToKeys get, list", "Lets a group, given by its object id, read the vault's keys (parameter set ByObjectId).")
            .example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ResourceGroupName 'rg-customer-key' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PermissionsToKeys get, wrapKey, unwrapKey", "In a session connected with -Environment AzureCloud and a ManagementAccessToken: sets the principal's permissions on the vault in Azure (the subscription from AZURE_SUBSCRIPTION_ID)."),
        Operation::new("Remove-KeyVaultAccessPolicy", AREA, backend::remove_access_policy)
            .synopsis("Removes a principal's access policy from a vault.")
            .description("Removes every key permission of one principal on a vault. Give exactly one of -UserPrincipalName (parameter set ByUserPrincipalName, the default), -ObjectId (ByObjectId) and -ServicePrincipalName (ByServicePrincipalName). Removing a service's wrap and unwrap permissions makes the data it protects with the vault's keys unreadable to it. In a session with an Azure Environment, removes the policy through Azure Resource Manager, as Set-CkKeyVaultAccessPolicy changes it.")
            .output("CustomerKey.KeyVault")
            .default_set(BY_UPN)
            .resource_id_sets(&[(BY_UPN, "ResourceIdByUserPrincipalName"), (BY_OBJECT_ID, "ResourceIdByObjectId"), (BY_SPN, "ResourceIdByServicePrincipalName")], super::locate_by_resource_id)
            .changes(Impact::High, VAULT_TARGET, "Remove the access policy of '{UserPrincipalName}{ObjectId}{ServicePrincipalName}'")
            .preview_impact(ImpactPreview::of(CHANGE_IMPACT, &["VaultName", "ResourceId", "UserPrincipalName", "ObjectId", "ServicePrincipalName"]))
            .example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -UserPrincipalName 'old-admin@contoso.onmicrosoft.com'", "Removes a former admin's permissions after confirmation.")
            .example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PassThru", "Removes the permissions of a principal given by its object id and shows the vault (parameter set ByObjectId).")
            .example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-test' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000'", "Stops Exchange Online from using the keys of a test vault (parameter set ByServicePrincipalName).")
            .example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -SubscriptionId '2a3b4c5d-6e7f-4a8b-9c0d-1e2f3a4b5c6d' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -WhatIf", "In a session with an Azure Environment: says what the store's policies would lose, then removes nothing."),
        Operation::new("Add-KeyVaultKey", AREA, backend::add_key)
            .synopsis("Creates a key, or a new version of an existing key (a key roll).")
            .description("Creates a key in a vault, like Add-AzKeyVaultKey. When the name exists, a new version is added and the older versions are kept: this is how a Customer Key is rolled. With -KeyFilePath (parameter set InteractiveImport), imports the key from a .pfx (PKCS#12) or PKCS#8 file instead of generating one; -Size and -KeyType belong to the default set, InteractiveCreate, and cannot be combined with -KeyFilePath or -KeyFilePassword.")
            .output("CustomerKey.KeyVaultKey")
            .default_set(CREATE)
            .resource_id_sets(&[(CREATE, "ResourceIdCreate"), (IMPORT, "ResourceIdImport")], super::locate_by_resource_id)
            .changes(Impact::Medium, KEY_TARGET, "Create key, or a new version of the key")
            .action_when("KeyFilePath", "Import key from '{KeyFilePath}'")
            .example("Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Destination Software -Size 3072", "Creates a 3072-bit RSA key.")
            .example("Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Destination Software", "Rolls the key: adds a new version; the older versions stay enabled.")
            .example("$password = Read-Host -AsSecureString -Prompt 'PFX password'\nAdd-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'aip-tenant-key' -KeyFilePath ./tenant-key.pfx -KeyFilePassword $password", "Imports (bring your own key) the RSA key held in a password-protected .pfx file (parameter set InteractiveImport)."),
        Operation::new("Get-KeyVaultKey", AREA, backend::get_key)
            .synopsis("Gets keys, key versions, or soft-deleted keys.")
            .description("Gets the keys of a vault or one key (its newest version), or soft-deleted keys with -InRemovedState (CustomerKey.DeletedKeyVaultKey): parameter set ByVaultName, the default. With -Name and -Version, gets that version of the key (ByKeyVersion); with -Name and -IncludeVersions, every version of the key (ByKeyVersions). In a session with an Azure Environment, a listing (the keys of a vault, -IncludeVersions, -InRemovedState without -Name) is one request per page of Key Vault's listing, as Get-AzKeyVaultKey's, and its keys carry what the listing gives: Key, KeyType, KeySize and Attributes.KeyOps are null, and so is Version for the keys of a vault; get one key with -Name for its public key.")
            .output("CustomerKey.KeyVaultKey")
            .output_when("InRemovedState", "CustomerKey.DeletedKeyVaultKey")
            .default_set(BY_VAULT_NAME)
            .resource_id_sets(&[(BY_VAULT_NAME, "ByResourceIdVaultName"), (BY_KEY_VERSION, "ByResourceIdKeyVersion"), (BY_KEY_VERSIONS, "ByResourceIdKeyVersions")], super::locate_by_resource_id)
            .example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu'", "Lists the keys of the vault.")
            .example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Version '0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921'", "Gets one version of the key, such as the one a data encryption policy used (parameter set ByKeyVersion).")
            .example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -IncludeVersions", "Lists every version of the key, as after a roll (parameter set ByKeyVersions).")
            .example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -InRemovedState", "Lists deleted keys with their scheduled purge dates."),
        Operation::new("Update-KeyVaultKey", AREA, backend::update_key)
            .synopsis("Changes a key version's attributes (enabled, dates, operations, tags).")
            .description("Updates the newest version of a key, or the version given. Do not disable a version a data encryption policy still needs: the engine refuses unless -AcceptDataLoss is given.")
            .output("CustomerKey.KeyVaultKey")
            .changes(Impact::Medium, KEY_TARGET, "Update key attributes")
            .action_when("Version", "Update the attributes of version '{Version}'")
            .preview_impact(ImpactPreview::of(CHANGE_IMPACT, &["VaultName", "Name", "Version"]).when_false("Enable"))
            .example("Update-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Expires (Get-Date).AddYears(2) -PassThru", "Sets a new expiry on the newest version and shows the key."),
        Operation::new("Remove-KeyVaultKey", AREA, backend::remove_key)
            .synopsis("Deletes a key with all its versions (soft delete when enabled), or purges a deleted key.")
            .description("Deletes a key, like Remove-AzKeyVaultKey. With soft delete on, the key can be recovered with Undo-CkKeyVaultKeyRemoval until its retention ends. With -InRemovedState, purges a deleted key for good. Asks for confirmation (ConfirmImpact High) unless -Force is given, as Remove-AzKeyVaultKey does; -WhatIf is honoured even with -Force. The engine refuses to remove a key a data encryption policy uses unless -AcceptDataLoss is given, which never skips the prompt.")
            .output("CustomerKey.DeletedKeyVaultKey")
            .changes(Impact::High, KEY_TARGET, "Remove key with all its versions")
            .action_when("InRemovedState", "Purge deleted key (cannot be undone)")
            .preview_impact(ImpactPreview::of(CHANGE_IMPACT, &["VaultName", "Name"]))
            .example("Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'old-key' -PassThru", "Soft-deletes the key after confirmation and shows its scheduled purge date.")
            .example("Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'old-key' -InRemovedState -Force", "Purges the deleted key without asking.")
            .example("Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'exo-old-key' -AcceptDataLoss", "Deletes a key a data encryption policy still uses, after a prompt that names what becomes unreadable; -AcceptDataLoss never skips the prompt."),
        Operation::new("Undo-KeyVaultKeyRemoval", AREA, backend::undo_key_removal)
            .synopsis("Recovers a soft-deleted key with all its versions.")
            .description("Recovers a key deleted with Remove-CkKeyVaultKey while its retention has not ended, like Undo-AzKeyVaultKeyRemoval.")
            .output("CustomerKey.KeyVaultKey")
            .changes(Impact::Medium, KEY_TARGET, "Recover deleted key")
            .example("Undo-CkKeyVaultKeyRemoval -VaultName 'contoso-ck-weu' -Name 'exo-dep-key'", "Recovers the key.")
            .example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -InRemovedState | Undo-CkKeyVaultKeyRemoval", "Recovers every deleted key of the vault."),
        Operation::new("Backup-KeyVaultKey", AREA, backup_files::backup_key)
            .synopsis("Writes every version of a key, with its metadata, to an encrypted backup file.")
            .description("Backs up a key, like Backup-AzKeyVaultKey, and emits the path of the file written. An existing file is an error unless -Force is given. The backup restores only into a vault of the same geography.")
            .output("System.String")
            .output_property("OutputFile")
            .changes(Impact::Medium, KEY_TARGET, "Back up key to the store backups folder")
            .action_when("OutputFile", "Back up key to '{OutputFile}'")
            .example("Backup-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -OutputFile ./exo-dep-key.keybackup", "Writes the backup to the given file.")
            .example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' | Backup-CkKeyVaultKey", "Backs up every key of the vault into the store's backups folder."),
        Operation::new("Restore-KeyVaultKey", AREA, backup_files::restore_key)
            .synopsis("Restores a key with all its versions from a backup file.")
            .description("Restores a key written by Backup-CkKeyVaultKey, like Restore-AzKeyVaultKey. Fails when a key of that name exists in the vault, also as a soft-deleted key, and when the vault is in another geography than the one backed up from.")
            .output("CustomerKey.KeyVaultKey")
            .resource_id_sets(&[(BY_VAULT_NAME, "ByResourceId")], super::locate_by_resource_id)
            .changes(Impact::Medium, VAULT_TARGET, "Restore key from '{InputFile}'")
            .example("Restore-CkKeyVaultKey -VaultName 'contoso-ck-weu-2' -InputFile ./exo-dep-key.keybackup", "Restores the key, with all its versions, into another vault of the same geography."),
        Operation::new("Invoke-KeyVaultKeyOperation", AREA, backend::invoke_key_operation)
            .synopsis("Wraps, unwraps, encrypts or decrypts a value with a key.")
            .description("Runs one cryptographic operation with a key version, like Invoke-AzKeyVaultKeyOperation. Emits KeyId (the version used), RawResult (byte[]) and Algorithm.")
            .output("CustomerKey.KeyOperationResult")
            .example("$wrapped = Invoke-CkKeyVaultKeyOperation -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue $aesKey", "Wraps a 32-byte key; $wrapped.RawResult holds the wrapped bytes and $wrapped.KeyId the version used."),
        Operation::new("Get-KeyVaultKeyUsage", AREA, backend::get_key_usage)
            .synopsis("Shows, per key version, which policies still need it and how many mailboxes.")
            .description("For each version of a key (or of every key of the vault): the policies of each workload that need it, how many of their items still do (Exchange: mailboxes not yet moved to a policy's newest revision), InUse, SafeToDisable, and Impact, what disabling, deleting or purging the version would make unreadable (\"3 policies, 5,000 mailboxes\"). Nothing is ever deleted: after a roll and a refresh the old versions show as unused once the last mailbox moved.")
            .output("CustomerKey.KeyVaultKeyUsage")
            .example("Get-CkKeyVaultKeyUsage -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' | Format-Table Version, InUse, SafeToDisable, Impact", "Shows which versions of the key may be disabled after a roll."),
        Operation::new(CHANGE_IMPACT, AREA, backend::get_change_impact)
            .synopsis("Says which policies, and how many mailboxes, still need what a change would take away.")
            .resource_id_sets(&[(BY_VAULT_NAME, "ByResourceId")], super::locate_by_resource_id)
            .description("A project extension, and the read-only call that -WhatIf and the confirmation prompt of Remove-CkKeyVaultKey, Remove-CkKeyVault, Update-CkKeyVaultKey -Enable $false and Remove-CkKeyVaultAccessPolicy make first. With -Name (and -Version), for that key (version); with -ServicePrincipalName or -ObjectId, for the vault's keys that the principal's workload (Exchange, SharePoint, AIP) uses; with -VaultName alone, for every key of the vault. Impact reads like \"3 policies, 5,000 mailboxes\", or \"nothing\". The vault's owner, or anyone with the get key permission, may ask. Nothing is changed. In a session with an Azure Environment, it reads what this store's workloads use of the vault's keys.")
            .output("CustomerKey.KeyVaultChangeImpact")
            .example("Get-CkKeyVaultChangeImpact -VaultName 'contoso-ck-weu' -Name 'exo-dep-key'", "Shows what still needs the key before it is removed.")
            .example("Get-CkKeyVaultChangeImpact -VaultName 'contoso-ck-weu' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000'", "Shows which Exchange policies and mailboxes use the vault's keys, before Exchange Online's access policy is removed."),
        Operation::new("Set-KeyVault", AREA, backend::set_key_vault)
            .synopsis("Rehearses a vault outage: the vault answers workload calls as if down.")
            .description("A project extension. With -Unreachable $true, every call a workload (Exchange, SharePoint, AIP) makes to the vault fails with a ConnectionError, as when the vault cannot be reached; Exchange then uses a policy's availability key only if both its keys' vaults are unreachable. -Unreachable $false ends the rehearsal. Owner only.")
            .changes(Impact::Medium, VAULT_TARGET, "Set Unreachable to '{Unreachable}'")
            .example("Set-CkKeyVault -VaultName 'contoso-ck-weu' -Unreachable $true", "Makes the vault answer as if down."),
        Operation::new("Invoke-KeyVaultKeySignature", AREA, backend::invoke_key_signature)
            .synopsis("Signs a digest with a key, or verifies a signature.")
            .description("Signs a digest the caller computed (SHA-256 for RS256 and PS256, SHA-384, SHA-512), or verifies a signature of it, with a key version, as Key Vault's sign and verify do. Needs the sign or verify permission and key operation. Emits KeyId (the version used), Algorithm, and Signature (Sign) or IsValid (Verify).")
            .output("CustomerKey.KeySignatureResult")
            .example("$digest = [System.Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes('payload'))\n$signed = Invoke-CkKeyVaultKeySignature -VaultName 'contoso-ck-weu' -Name 'aip-tenant-key' -Operation Sign -Algorithm RS256 -Digest $digest", "Signs the SHA-256 digest of a payload.")
            .example("Invoke-CkKeyVaultKeySignature -VaultName 'contoso-ck-weu' -Name 'aip-tenant-key' -Operation Verify -Algorithm RS256 -Digest $digest -Signature $signed.Signature", "Verifies the signature: IsValid is True or False."),
    ]
}

/// What the vault cmdlets return, and how each is shown. A key's times are on the key and on
/// its `Attributes`.
pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{Array, Boolean, Bytes, DateTime, Hashtable, Integer, String};
    const KEY: &[(&str, PropertyType)] = &[
        ("VaultName", String),
        ("Name", String),
        ("Version", String),
        ("Enabled", Boolean),
        ("Created", DateTime),
        ("Updated", DateTime),
        ("NotBefore", DateTime),
        ("Expires", DateTime),
        ("DeletedDate", DateTime),
        ("ScheduledPurgeDate", DateTime),
        ("RecoveryLevel", String),
        ("Tags", Hashtable),
    ];
    const VAULT: &[(&str, PropertyType)] = &[
        ("VaultName", String),
        ("ResourceGroupName", String),
        ("Location", String),
        ("ResourceId", String),
        ("VaultUri", String),
        ("TenantId", String),
        ("Sku", String),
        ("EnableSoftDelete", Boolean),
        ("SoftDeleteRetentionInDays", Integer),
        ("EnablePurgeProtection", Boolean),
        ("EnableRbacAuthorization", Boolean),
        ("AccessPolicies", Array),
        ("DeletedDate", DateTime),
        ("ScheduledPurgeDate", DateTime),
        ("Tags", Hashtable),
    ];
    // As Get-AzKeyVault shows a vault: a list, its access policies included, so that the
    // seed's "Get-AzKeyVault -VaultName" shows who may do what.
    const ACCESS_POLICIES: &str = "$_.AccessPolicies | ForEach-Object { \"`n  Display Name        : {0}`n  Object ID           : {1}`n  Application ID      : {2}`n  Permissions to Keys : {3}\" -f $_.DisplayName, $_.ObjectId, $_.ApplicationId, ($_.PermissionsToKeys -join ', ') } | Out-String";
    vec![
        OutputType::new("CustomerKey.KeyVault", VAULT).list_of(&[
            Column::new("VaultName").label("Vault Name"),
            Column::new("ResourceGroupName").label("Resource Group Name"),
            Column::new("Location").label("Location"),
            Column::new("ResourceId").label("Resource ID"),
            Column::new("VaultUri").label("Vault URI"),
            Column::new("TenantId").label("Tenant ID"),
            Column::new("Sku").label("SKU"),
            Column::new("EnableSoftDelete").label("Soft Delete Enabled?"),
            Column::new("SoftDeleteRetentionInDays").label("Soft Delete Retention Period (days)"),
            Column::new("EnablePurgeProtection").label("Purge Protection Enabled?"),
            Column::new("EnableRbacAuthorization").label("Enabled For RBAC Authorization?"),
            Column::new("AccessPolicies")
                .label("Access Policies")
                .script(ACCESS_POLICIES),
            Column::new("Tags").label("Tags").pairs(),
        ]),
        OutputType::new(
            "CustomerKey.RoleAssignment",
            &[
                ("RoleAssignmentId", String),
                ("RoleAssignmentName", String),
                ("Scope", String),
                ("DisplayName", String),
                ("SignInName", String),
                ("RoleDefinitionName", String),
                ("RoleDefinitionId", String),
                ("ObjectId", String),
                ("ObjectType", String),
            ],
        )
        .list_of(&[
            Column::new("RoleAssignmentId"),
            Column::new("Scope"),
            Column::new("DisplayName"),
            Column::new("SignInName"),
            Column::new("RoleDefinitionName"),
            Column::new("RoleDefinitionId"),
            Column::new("ObjectId"),
            Column::new("ObjectType"),
        ]),
        OutputType::new("CustomerKey.DeletedKeyVault", VAULT).table(&[
            "VaultName",
            "Location",
            "DeletedDate",
            "ScheduledPurgeDate",
        ]),
        OutputType::new("CustomerKey.KeyVaultKey", KEY).table(&[
            "VaultName",
            "Name",
            "Version",
            "Enabled",
            "Expires",
            "Updated",
        ]),
        OutputType::new("CustomerKey.DeletedKeyVaultKey", KEY).table(&[
            "VaultName",
            "Name",
            "DeletedDate",
            "ScheduledPurgeDate",
            "RecoveryLevel",
        ]),
        OutputType::new(
            "CustomerKey.KeyOperationResult",
            &[
                ("KeyId", String),
                ("Algorithm", String),
                ("RawResult", Bytes),
            ],
        )
        .table(&["KeyId", "Algorithm"]),
        OutputType::new(
            "CustomerKey.KeySignatureResult",
            &[
                ("KeyId", String),
                ("Algorithm", String),
                ("IsValid", Boolean),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.KeyVaultKeyUsage",
            &[
                ("VaultName", String),
                ("Name", String),
                ("Version", String),
                ("Enabled", Boolean),
                ("Policies", Array),
                ("MailboxesNeedingIt", Integer),
                ("InUse", Boolean),
                ("SafeToDisable", Boolean),
                ("Impact", String),
            ],
        )
        .table(&[
            "VaultName",
            "Name",
            "Version",
            "Enabled",
            "InUse",
            "SafeToDisable",
            "Impact",
        ]),
        OutputType::new(
            "CustomerKey.KeyVaultChangeImpact",
            &[
                ("VaultName", String),
                ("Name", String),
                ("Principal", String),
                ("Workload", String),
                ("InUse", Boolean),
                ("Impact", String),
            ],
        )
        .table_of_all(),
    ]
}

#[cfg(test)]
mod tests {
    use crate::operations::ParamType;

    #[test]
    fn each_in_memory_entry_stands_for_a_path_parameter_of_its_operation() {
        for (operation, file_parameter) in [
            (
                super::IMPORT_KEY.operation,
                super::IMPORT_KEY.file_parameter,
            ),
            (
                super::BACKUP_KEY.operation,
                super::BACKUP_KEY.file_parameter,
            ),
            (
                super::RESTORE_KEY.operation,
                super::RESTORE_KEY.file_parameter,
            ),
        ] {
            let op = crate::registry().find(operation).expect(operation);
            let param = op.param(file_parameter).expect(file_parameter);
            assert_eq!(param.ty, ParamType::Path, "{operation} -{file_parameter}");
        }
    }
}
