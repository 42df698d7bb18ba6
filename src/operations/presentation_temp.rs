//! TEMPORARY: the presentation fields of the registry (Area, Description, Examples,
//! ShouldProcess), taken from the hand-written PowerShell module so that the generator has real
//! input. The lead replaces this file with the real declarations.

use serde_json::{json, Value};

fn example(code: &str, remarks: &str) -> Value {
    json!({"Code": code, "Remarks": remarks})
}

fn should_process(target: &str, action: &str, when: &[(&str, &str)]) -> Value {
    json!({
        "Target": target,
        "Action": action,
        "ActionWhen": when.iter().map(|(p, a)| json!({"Parameter": p, "Action": a})).collect::<Vec<_>>(),
    })
}

/// {Area, Description, Examples, ShouldProcess} of one operation; `Value::Null` when unknown.
pub(super) fn presentation(operation: &str) -> Value {
    let (description, examples, should) = match operation {
        "New-KeyVault" => (
            "Creates a key vault, like New-AzKeyVault. Soft delete is on by default with a 90-day retention; Customer Key needs soft delete, and purge protection is recommended.",
            vec![example("New-CkKeyVault -VaultName 'contoso-ck-weu' -Location 'westeurope' -EnablePurgeProtection", "Creates a vault with soft delete and purge protection.")],
            should_process("Vault '{VaultName}' in '{Location}'", "Create key vault", &[]),
        ),
        "Get-KeyVault" => (
            "Gets one vault by name, or every vault of the store. With -InRemovedState, gets soft-deleted vaults instead (CustomerKey.DeletedKeyVault).",
            vec![
                example("Get-CkKeyVault", "Lists the vaults of the store."),
                example("Get-CkKeyVault -VaultName 'contoso-ck-weu' -InRemovedState", "Shows a deleted vault with its deletion and scheduled purge dates."),
            ],
            Value::Null,
        ),
        "Remove-KeyVault" => (
            "Deletes a vault with its keys. With soft delete on, the vault can be recovered with Undo-CkKeyVaultRemoval until its retention ends. With -InRemovedState, purges a deleted vault for good. Asks for confirmation (ConfirmImpact High) unless -Force is given; -WhatIf is honoured even with -Force. The engine refuses to remove a vault whose key a data encryption policy uses unless -Force is given.",
            vec![
                example("Remove-CkKeyVault -VaultName 'contoso-ck-test'", "Deletes the vault after confirmation."),
                example("Remove-CkKeyVault -VaultName 'contoso-ck-test' -InRemovedState -Force", "Purges the deleted vault without asking."),
            ],
            should_process("Vault '{VaultName}'", "Remove key vault with all its keys", &[("InRemovedState", "Purge deleted key vault (cannot be undone)")]),
        ),
        "Undo-KeyVaultRemoval" => (
            "Recovers a vault deleted with Remove-CkKeyVault while its retention has not ended.",
            vec![example("Undo-CkKeyVaultRemoval -VaultName 'contoso-ck-weu'", "Recovers the vault and its keys.")],
            should_process("Vault '{VaultName}'", "Recover deleted key vault", &[]),
        ),
        "Set-KeyVaultAccessPolicy" => (
            "Sets the key permissions of one principal on a vault, replacing its current ones. Give exactly one of -UserPrincipalName (parameter set ByUserPrincipalName, the default), -ObjectId (ByObjectId) and -ServicePrincipalName (ByServicePrincipalName).",
            vec![
                example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -UserPrincipalName 'admin@contoso.onmicrosoft.com' -PermissionsToKeys get, list, create, update, backup, restore", "Lets an admin manage the vault's keys (parameter set ByUserPrincipalName)."),
                example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000' -PermissionsToKeys get, wrapKey, unwrapKey", "Lets Exchange Online (its service principal's application id) use the vault's keys (parameter set ByServicePrincipalName)."),
                example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PermissionsToKeys get, list", "Lets a group, given by its object id, read the vault's keys (parameter set ByObjectId)."),
            ],
            should_process("Vault '{VaultName}'", "Set key permissions of '{UserPrincipalName}' to '{PermissionsToKeys}'", &[
                ("ObjectId", "Set key permissions of '{ObjectId}' to '{PermissionsToKeys}'"),
                ("ServicePrincipalName", "Set key permissions of '{ServicePrincipalName}' to '{PermissionsToKeys}'"),
            ]),
        ),
        "Remove-KeyVaultAccessPolicy" => (
            "Removes every key permission of one principal on a vault. Give exactly one of -UserPrincipalName (parameter set ByUserPrincipalName, the default), -ObjectId (ByObjectId) and -ServicePrincipalName (ByServicePrincipalName). Removing a service's wrap and unwrap permissions makes the data it protects with the vault's keys unreadable to it.",
            vec![
                example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -UserPrincipalName 'old-admin@contoso.onmicrosoft.com'", "Removes a former admin's permissions after confirmation."),
                example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ObjectId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d' -PassThru", "Removes the permissions of a principal given by its object id and shows the vault (parameter set ByObjectId)."),
                example("Remove-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-test' -ServicePrincipalName '00000002-0000-0ff1-ce00-000000000000'", "Stops Exchange Online from using the keys of a test vault (parameter set ByServicePrincipalName)."),
            ],
            should_process("Vault '{VaultName}'", "Remove the access policy of '{UserPrincipalName}'", &[
                ("ObjectId", "Remove the access policy of '{ObjectId}'"),
                ("ServicePrincipalName", "Remove the access policy of '{ServicePrincipalName}'"),
            ]),
        ),
        "Add-KeyVaultKey" => (
            "Creates a key in a vault, like Add-AzKeyVaultKey. When the name exists, a new version is added and the older versions are kept: this is how a Customer Key is rolled. With -KeyFilePath (parameter set InteractiveImport), imports the key from a .pfx (PKCS#12) or PKCS#8 file instead of generating one; -Size and -KeyType belong to the default set, InteractiveCreate, and cannot be combined with -KeyFilePath or -KeyFilePassword.",
            vec![
                example("Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Destination Software -Size 3072", "Creates a 3072-bit RSA key."),
                example("Add-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Destination Software", "Rolls the key: adds a new version; the older versions stay enabled."),
                example("$password = Read-Host -AsSecureString -Prompt 'PFX password'\nAdd-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'aip-tenant-key' -KeyFilePath ./tenant-key.pfx -KeyFilePassword $password", "Imports (bring your own key) the RSA key held in a password-protected .pfx file (parameter set InteractiveImport)."),
            ],
            should_process("Key '{Name}' in vault '{VaultName}'", "Create key, or a new version of the key", &[("KeyFilePath", "Import key from '{KeyFilePath}'")]),
        ),
        "Get-KeyVaultKey" => (
            "Gets the keys of a vault or one key (its newest version), or soft-deleted keys with -InRemovedState (CustomerKey.DeletedKeyVaultKey): parameter set ByVaultName, the default. With -Name and -Version, gets that version of the key (ByKeyVersion); with -Name and -IncludeVersions, every version of the key (ByKeyVersions).",
            vec![
                example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu'", "Lists the keys of the vault."),
                example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Version '0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921'", "Gets one version of the key, such as the one a data encryption policy used (parameter set ByKeyVersion)."),
                example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -IncludeVersions", "Lists every version of the key, as after a roll (parameter set ByKeyVersions)."),
                example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -InRemovedState", "Lists deleted keys with their scheduled purge dates."),
            ],
            Value::Null,
        ),
        "Update-KeyVaultKey" => (
            "Updates the newest version of a key, or the version given. Do not disable a version a data encryption policy still needs: the engine refuses unless -Force is given.",
            vec![example("Update-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Expires (Get-Date).AddYears(2) -PassThru", "Sets a new expiry on the newest version and shows the key.")],
            should_process("Key '{Name}' in vault '{VaultName}'", "Update key attributes", &[("Version", "Update the attributes of version '{Version}'")]),
        ),
        "Remove-KeyVaultKey" => (
            "Deletes a key, like Remove-AzKeyVaultKey. With soft delete on, the key can be recovered with Undo-CkKeyVaultKeyRemoval until its retention ends. With -InRemovedState, purges a deleted key for good. Asks for confirmation (ConfirmImpact High) unless -Force is given; -WhatIf is honoured even with -Force. The engine refuses to remove a key a data encryption policy uses unless -Force is given.",
            vec![
                example("Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'old-key' -PassThru", "Soft-deletes the key after confirmation and shows its scheduled purge date."),
                example("Remove-CkKeyVaultKey -VaultName 'contoso-ck-test' -Name 'old-key' -InRemovedState -Force", "Purges the deleted key without asking."),
            ],
            should_process("Key '{Name}' in vault '{VaultName}'", "Remove key with all its versions", &[("InRemovedState", "Purge deleted key (cannot be undone)")]),
        ),
        "Undo-KeyVaultKeyRemoval" => (
            "Recovers a key deleted with Remove-CkKeyVaultKey while its retention has not ended, like Undo-AzKeyVaultKeyRemoval.",
            vec![
                example("Undo-CkKeyVaultKeyRemoval -VaultName 'contoso-ck-weu' -Name 'exo-dep-key'", "Recovers the key."),
                example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' -InRemovedState | Undo-CkKeyVaultKeyRemoval", "Recovers every deleted key of the vault."),
            ],
            should_process("Key '{Name}' in vault '{VaultName}'", "Recover deleted key", &[]),
        ),
        "Backup-KeyVaultKey" => (
            "Backs up a key, like Backup-AzKeyVaultKey, and emits the path of the file written. An existing file is an error unless -Force is given. The backup restores only into a vault of the same geography.",
            vec![
                example("Backup-CkKeyVaultKey -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -OutputFile ./exo-dep-key.keybackup", "Writes the backup to the given file."),
                example("Get-CkKeyVaultKey -VaultName 'contoso-ck-weu' | Backup-CkKeyVaultKey", "Backs up every key of the vault into the store's backups folder."),
            ],
            should_process("Key '{Name}' in vault '{VaultName}'", "Back up key to the store backups folder", &[("OutputFile", "Back up key to '{OutputFile}'")]),
        ),
        "Restore-KeyVaultKey" => (
            "Restores a key written by Backup-CkKeyVaultKey, like Restore-AzKeyVaultKey. Fails when a key of that name exists in the vault, also as a soft-deleted key, and when the vault is in another geography than the one backed up from.",
            vec![example("Restore-CkKeyVaultKey -VaultName 'contoso-ck-weu-2' -InputFile ./exo-dep-key.keybackup", "Restores the key, with all its versions, into another vault of the same geography.")],
            should_process("Vault '{VaultName}'", "Restore key from '{InputFile}'", &[]),
        ),
        "Invoke-KeyVaultKeyOperation" => (
            "Runs one cryptographic operation with a key version, like Invoke-AzKeyVaultKeyOperation. Emits KeyId (the version used), RawResult (byte[]) and Algorithm.",
            vec![example("$wrapped = Invoke-CkKeyVaultKeyOperation -VaultName 'contoso-ck-weu' -Name 'exo-dep-key' -Operation Wrap -Algorithm RSA-OAEP-256 -ByteArrayValue $aesKey", "Wraps a 32-byte key; $wrapped.RawResult holds the wrapped bytes and $wrapped.KeyId the version used.")],
            Value::Null,
        ),
        _ => return Value::Null,
    };
    json!({
        "Area": "KeyVault",
        "Description": description,
        "Examples": examples,
        "ShouldProcess": should,
    })
}
