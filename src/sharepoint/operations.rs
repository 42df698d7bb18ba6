//! The SharePoint domain's operations, each declared once with its presentation.

use super::policy::{self, BY_NAME};
use super::sites;
use crate::operations::{Column, Impact, Operation, OutputType, PropertyType, WaitFor};

pub(crate) const AREA: &str = "SharePoint";
const POLICY_TARGET: &str = "The tenant's SharePoint Online data encryption policy";

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("New-SPOSite", AREA, sites::new_site)
            .synopsis("Creates a SharePoint Online or OneDrive site.")
            .description("Creates a site with its own site key. Before Register-CkSPODataEncryptionPolicy the site key is wrapped under the Microsoft-managed key; afterwards under the tenant intermediate key, which the customer keys protect. The first site fixes the store's tenant name (https://<tenant>.sharepoint.com).")
            .output("CustomerKey.SPOSite")
            .changes(Impact::Medium, "Site '{Url}'", "Create site")
            .example("New-CkSPOSite -Url 'https://contoso.sharepoint.com/sites/finance' -Title 'Finance' -Owner 'admin@contoso.com'", "Creates a team site.")
            .example("New-CkSPOSite -Url 'https://contoso-my.sharepoint.com/personal/alice_contoso_com' -Title 'Alice'", "Creates a OneDrive for Business site."),
        Operation::new("Get-SPOSite", AREA, sites::get_site)
            .synopsis("Gets one site, or every site.")
            .description("Gets a site by URL, or every site of the store, with which key protects it (Encryption: MicrosoftManagedKey or CustomerKey).")
            .output("CustomerKey.SPOSite")
            .example("Get-CkSPOSite", "Lists the sites.")
            .example("Get-CkSPOSite -Identity 'https://contoso.sharepoint.com/sites/finance'", "Gets one site."),
        Operation::new("Add-SPOFile", AREA, sites::add_file)
            .synopsis("Stores a file in a site, encrypted under its own file key.")
            .description("Encrypts the content (text with -Value, parameter set ByValue; a file's bytes with -Path, ByPath) with AES-256-GCM under a fresh file key, wrapped by the site key. A file of the same name is replaced.")
            .output("CustomerKey.SPOFile")
            .default_set("ByValue")
            .changes(Impact::Medium, "File '{Name}' in site '{Site}'", "Add file")
            .example("Add-CkSPOFile -Site 'https://contoso.sharepoint.com/sites/finance' -Name 'budget.txt' -Value 'Q3: 1.2M'", "Stores a text file.")
            .example("Add-CkSPOFile -Site 'https://contoso.sharepoint.com/sites/finance' -Name 'report.pdf' -Path ./report.pdf", "Stores a file's bytes (parameter set ByPath)."),
        Operation::new("Get-SPOFile", AREA, sites::get_file)
            .synopsis("Reads files of a site, decrypting them through the key hierarchy.")
            .description("Decrypts one file (-Name) or every file of a site: the tenant intermediate key is unwrapped with either customer key at that moment, as SharePoint's service principal, so a revoked permission on both vaults makes every read fail (PermissionDenied). Value is the content as text; with -OutputFile the bytes are written to that file instead (an existing file only with -Force).")
            .output("CustomerKey.SPOFile")
            .example("Get-CkSPOFile -Site 'https://contoso.sharepoint.com/sites/finance' -Name 'budget.txt'", "Shows the file with its decrypted Value.")
            .example("Get-CkSPOFile -Site 'https://contoso.sharepoint.com/sites/finance' -Name 'report.pdf' -OutputFile ./report.pdf", "Writes the decrypted bytes to a file."),
        Operation::new("Register-SPODataEncryptionPolicy", AREA, policy::register_policy)
            .wait_for(wait("Registering the SharePoint data encryption policy"))
            .synopsis("Registers the tenant's two customer keys for SharePoint Online and OneDrive.")
            .description("Validates both keys as Customer Key needs them (two vaults, enabled, KeyOps wrapKey and unwrapKey, get/wrapKey/unwrapKey for the SharePoint service principal 00000003-0000-0ff1-ce00-000000000000, soft delete, a version given), wraps a new tenant intermediate key under both, and starts rewrapping every site key under it in the background: State Registering with PercentComplete rising, then Registered. Returns at once, as Microsoft's cmdlet does; watch Get-CkSPODataEncryptionPolicy. Give -PrimaryKeyVaultName -PrimaryKeyName -PrimaryKeyVersion -SecondaryKeyVaultName -SecondaryKeyName -SecondaryKeyVersion (parameter set ByKeyVaultName, the default) or -PrimaryKeyVaultUri -SecondaryKeyVaultUri with versioned key ids (ByKeyVaultUri). Registering twice is refused.")
            .output("CustomerKey.SPODataEncryptionPolicy")
            .default_set(BY_NAME)
            .changes(Impact::Medium, POLICY_TARGET, "Register customer keys")
            .example("Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultName 'contoso-spo-weu' -PrimaryKeyName 'spo-key' -PrimaryKeyVersion 'f635a23bd4a44b9996ff6aadd88d42ba' -SecondaryKeyVaultName 'contoso-spo-neu' -SecondaryKeyName 'spo-key' -SecondaryKeyVersion '2b3c4d5e6f708192a3b4c5d6e7f80912'", "Registers two keys from two vaults.")
            .example("Register-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri 'https://contoso-spo-weu.vault.azure.net/keys/spo-key/f635a23bd4a44b9996ff6aadd88d42ba' -SecondaryKeyVaultUri 'https://contoso-spo-neu.vault.azure.net/keys/spo-key/2b3c4d5e6f708192a3b4c5d6e7f80912'", "The same with versioned key ids (parameter set ByKeyVaultUri)."),
        Operation::new("Update-SPODataEncryptionPolicy", AREA, policy::update_policy)
            .wait_for(wait("Rolling the SharePoint data encryption policy's key"))
            .synopsis("Rolls one of the policy's keys to a new key version.")
            .description("After Add-CkKeyVaultKey added a new version, makes SharePoint use it: a new tenant intermediate key is wrapped under the new version and the other key, and every site key is rewrapped under it in batches (State Rolling, RollingKeyType, PercentComplete), resuming after a crash or exit; files stay readable throughout. Only one roll at a time: while the policy is Registering, Rolling or Recovering, a second Update fails with ResourceBusy and the progress. Refused unless the policy is Registered; when a roll stopped (its job failed after its retries, or was cancelled), the same Update resumes it. Give -KeyVaultName -KeyName -KeyVersion (ByKeyVaultName, the default) or -KeyVaultUri (ByKeyVaultUri).")
            .output("CustomerKey.SPODataEncryptionPolicy")
            .default_set(BY_NAME)
            .changes(Impact::Medium, POLICY_TARGET, "Roll the {KeyType} key")
            .example("Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName 'contoso-spo-weu' -KeyName 'spo-key' -KeyVersion '0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921'", "Rolls the primary key to its new version.")
            .example("Update-CkSPODataEncryptionPolicy -KeyType Primary -KeyVaultName 'contoso-spo-weu' -KeyName 'spo-key' -KeyVersion '0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921' -Wait", "Rolls the primary key and shows the roll's progress (sites done of total) until the policy is Registered again, then shows the policy.")
            .example("Update-CkSPODataEncryptionPolicy -KeyType Secondary -KeyVaultUri 'https://contoso-spo-neu.vault.azure.net/keys/spo-key/7c6b5a4f3e2d1c0b9a8f7e6d5c4b3a29'", "Rolls the secondary key, once the primary's roll has finished (parameter set ByKeyVaultUri)."),
        Operation::new("Get-SPODataEncryptionPolicy", AREA, policy::get_policy)
            .synopsis("Shows the tenant's SharePoint data encryption policy and its progress.")
            .description("Shows PrimaryKeyVaultUri and SecondaryKeyVaultUri (the versioned key ids in use), State (Unregistered, Registering, Registered, Rolling, Recovering), PercentComplete while Registering, Rolling or Recovering, SitesTotal and SitesDone, RollingKeyType, KeyHealth: whether each key can unwrap the tenant intermediate key now, and why not; and KeyUsage: each key version the sites still depend on, with how many (during a roll the old version keeps the sites not yet moved; once the roll is done it is no longer listed).")
            .output("CustomerKey.SPODataEncryptionPolicy")
            .example("Get-CkSPODataEncryptionPolicy", "Shows the policy.")
            .example("while ((Get-CkSPODataEncryptionPolicy).State -ne 'Registered') { Start-Sleep -Seconds 5 }", "Waits for a registration or roll to finish."),
        Operation::new("Restore-SPODataEncryptionPolicy", AREA, policy::restore_policy)
            .wait_for(wait("Recovering the SharePoint data encryption policy"))
            .synopsis("Recovers the policy onto new keys when both registered keys are lost.")
            .description("Customer-initiated recovery: when neither registered key can unwrap the tenant intermediate key (purged, or their vaults gone), the engine unwraps it with its availability key and moves every site onto a new tenant intermediate key wrapped under the keys given, for example keys restored from backups into new vaults (State Recovering, then Registered). Also recovers a policy whose registration or roll stopped (its job failed or was cancelled) after the keys were lost. Refused while either registered key still works, and while a change is running. Same parameters and checks as Register-CkSPODataEncryptionPolicy.")
            .output("CustomerKey.SPODataEncryptionPolicy")
            .default_set(BY_NAME)
            .changes(Impact::High, POLICY_TARGET, "Recover onto new customer keys with the availability key")
            .example("Restore-CkSPODataEncryptionPolicy -PrimaryKeyVaultUri 'https://contoso-spo-weu2.vault.azure.net/keys/spo-key/f635a23bd4a44b9996ff6aadd88d42ba' -SecondaryKeyVaultUri 'https://contoso-spo-neu2.vault.azure.net/keys/spo-key/2b3c4d5e6f708192a3b4c5d6e7f80912'", "Recovers onto keys restored from backups into two new vaults."),
    ]
}

/// -Wait on the policy changes: poll the policy until it is Registered again.
fn wait(activity: &'static str) -> WaitFor {
    WaitFor {
        poll: "Get-SPODataEncryptionPolicy",
        activity,
        state_property: "State",
        done_states: &["Registered"],
        percent_property: "PercentComplete",
        status: "{State}: {SitesDone} of {SitesTotal} sites",
        failed_property: "JobState",
        failed_states: &["Failed", "Cancelled"],
        error_property: "LastError",
        poll_parameters: &[],
    }
}

/// What the SharePoint Online cmdlets return, and how each is shown.
pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{Array, DateTime, Integer, String};
    vec![
        OutputType::new(
            "CustomerKey.SPOSite",
            &[
                ("Url", String),
                ("Title", String),
                ("Owner", String),
                ("Encryption", String),
                ("Created", DateTime),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.SPOFile",
            &[
                ("Site", String),
                ("Name", String),
                ("Length", Integer),
                ("Value", String),
                ("OutputFile", String),
                ("Created", DateTime),
            ],
        )
        .table(&["Site", "Name", "Length", "Value", "OutputFile"]),
        // What a wait loop watches first (State, PercentComplete, SitesDone of SitesTotal), and
        // whether each customer key can unwrap the tenant intermediate key now.
        OutputType::new(
            "CustomerKey.SPODataEncryptionPolicy",
            &[
                ("State", String),
                ("PercentComplete", Integer),
                ("SitesDone", Integer),
                ("SitesTotal", Integer),
                ("RollingKeyType", String),
                ("KeyHealth", Array),
                ("PrimaryKeyVaultUri", String),
                ("SecondaryKeyVaultUri", String),
            ],
        )
        .table_of(&[
            Column::new("State"),
            Column::new("PercentComplete"),
            Column::new("SitesDone"),
            Column::new("SitesTotal"),
            Column::new("RollingKeyType"),
            Column::new("KeyHealth").script(
                "($_.KeyHealth | ForEach-Object { '{0}: {1}' -f $_.KeyType, $(if ($_.Healthy) { 'OK' } else { 'Failing' }) }) -join ', '",
            ),
            Column::new("PrimaryKeyVaultUri"),
            Column::new("SecondaryKeyVaultUri"),
        ]),
    ]
}
