//! The setup check's operation and its output type.

use super::BY_WORKLOAD;
use crate::operations::{Column, Operation, OutputType, PropertyType};

/// Its own PowerShell folder: it spans the workloads, and refuses nothing for want of a key
/// permission (what the caller may not read is NotChecked), unlike the KeyVault area's.
const AREA: &str = "Setup";

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("Test-CustomerKeySetup", AREA, super::test_customer_key_setup)
            .synopsis("Checks every Microsoft prerequisite of Customer Key on two keys and their vaults, and says how to fix each.")
            .description("Reads the two keys of a workload (-Workload Exchange, SharePoint or MultiWorkload with -AzureKeyIDs, versioned or not: parameter set ByWorkload, the default) or of an existing policy (-DataEncryptionPolicy: an Exchange policy's name, Guid or DataEncryptionPolicyID, or SPODataEncryptionPolicy; set ByPolicy) and their vaults, and returns one CustomerKey.SetupCheck per requirement: Check, Target, Status (Pass, Warning, Fail, NotChecked), Detail, Remediation (the Az or Microsoft 365 command, names filled in), RemediationCk (the same with this module's cmdlets) and Reference (Microsoft's page). The pair: SeparateVaults, VaultRegions (same region or an Azure region pair warns), DataLocation (-DataLocation). Each vault: SoftDelete, SoftDeleteRetention (90 days; fewer warns for Exchange and MultiWorkload and fails for SharePoint), PurgeProtection (or the older mandatory retention path), VaultSku (Standard warns), PermissionModel (access policies, or Azure RBAC with 'Key Vault Crypto Service Encryption User' for the workload's service principal at the vault or above; in RBAC mode access policies are ignored, and one left for the service warns), ServicePrincipalAccess (get, wrapKey and unwrapKey for the workload's service principal, proved by using them as it on the store's vaults, read from the access policies in Azure, or on an RBAC vault from its role assignments, read from Microsoft.Authorization in Azure, whose fix is New-AzRoleAssignment or New-CkRoleAssignment; more warns), AdminBackupAccess. Each key: KeyEnabled, KeyType (RSA-HSM; RSA warns; EC fails), KeySize, KeyOperations, KeyExpiry (none, or 12/31/9999), KeyNotBefore, RecoveryLevel (Recoverable or Recoverable+ProtectedSubscription), LatestVersion (a versioned id that is not the newest enabled version warns of a roll without -Refresh), KeyBackup (-BackupPath). The last object, Check 'Summary', counts them. Read-only; what the session's credentials cannot read is NotChecked with the permission named. With -Quiet, returns only $true when no check failed, else $false.")
            .output("CustomerKey.SetupCheck")
            .output_when("Quiet", "System.Boolean")
            .default_set(BY_WORKLOAD)
            .example("Test-CkCustomerKeySetup -Workload Exchange -AzureKeyIDs 'https://contoso-ck-weu.vault.azure.net/keys/exo-dep-key', 'https://contoso-ck-frc.vault.azure.net/keys/exo-dep-key' -DataLocation EUR -BackupPath ./key-backups", "Checks two keys for an Exchange data encryption policy before creating it, and shows the fix for each check that fails or warns.")
            .example("Get-CkDataEncryptionPolicy -Identity 'EXO-DEP' | Test-CkCustomerKeySetup | Where-Object Status -ne 'Pass' | Format-List Check, Target, Detail, RemediationCk", "Checks the keys an existing policy uses, after a roll say, and lists what to fix (parameter set ByPolicy).")
            .example("if (-not (Test-CkCustomerKeySetup -DataEncryptionPolicy 'SPODataEncryptionPolicy' -Quiet)) { throw 'The SharePoint keys are not ready' }", "Stops a script when a check of the SharePoint policy's keys fails."),
        // Exchange Online's name, here: it runs the setup checks, which read every workload.
        Operation::new("Test-M365DataAtRestEncryptionPolicy", "Exchange", super::policy_test::test_m365_policy)
            .synopsis("Tests whether a multi-workload data encryption policy can be used now, key by key.")
            .description("Runs the setup checks (as Test-CkCustomerKeySetup -Workload MultiWorkload does) on the keys the policy's current revision uses and their vaults, as the M365DataAtRestEncryption service principal. IsValid is true when no check failed; KeyResults gives, for each key, Usable and the Reasons (each failed check of the key or its vault) and Warnings; Checks holds every check with its fix. Read-only.")
            .output("CustomerKey.M365DataAtRestEncryptionPolicyTest")
            .example("Test-CkM365DataAtRestEncryptionPolicy -Identity 'M365-DEP' | Select-Object -ExpandProperty KeyResults", "Shows whether each key of the policy can be used, and why not.")
            .example("Get-CkM365DataAtRestEncryptionPolicy | Test-CkM365DataAtRestEncryptionPolicy | Where-Object { -not $_.IsValid }", "Lists the policies that cannot be used now."),
    ]
}

pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{Array, Boolean, String};
    vec![
        OutputType::new(
            "CustomerKey.M365DataAtRestEncryptionPolicyTest",
            &[
                ("Name", String),
                ("IsValid", Boolean),
                ("KeyResults", Array),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.SetupCheck",
            &[
                ("Check", String),
                ("Target", String),
                ("Status", String),
                ("Detail", String),
                ("Remediation", String),
                ("RemediationCk", String),
                ("Reference", String),
            ],
        )
        .table_of(&[
            Column::new("Check").width(22),
            Column::new("Status").width(10),
            Column::new("Target").width(40),
            Column::new("Detail"),
        ]),
    ]
}
