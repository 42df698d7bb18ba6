//! The AIP domain's operations (the AIPService module's names), each declared once with its
//! presentation, next to the handlers in this folder.

use super::{content, keys, lifecycle, tpd};
use crate::operations::{Column, Impact, Operation, OutputType, PropertyType};

pub(crate) const AREA: &str = "Aip";

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("Get-AipServiceKeys", AREA, keys::get_keys)
            .synopsis("Gets the tenant's Azure Information Protection keys.")
            .description("Lists every tenant key, like Get-AipServiceKeys: KeyIdentifier, KeyType (Microsoft-managed or Customer-managed (BYOK)), Status (Active or Archived), CreationTime, FriendlyName, and for BYOK keys KeyVaultKeyUrl and Publickey. Never key material. A new tenant starts with one Microsoft-managed key Active, made on the first AIP call.")
            .output("CustomerKey.AipServiceKey")
            .example("Get-CkAipServiceKeys", "Lists the tenant keys.")
            .example("Get-CkAipServiceKeys | Where-Object Status -eq 'Active'", "Shows the Active key, which protects new content."),
        Operation::new("Use-AipServiceKeyVaultKey", AREA, keys::use_key_vault_key)
            .synopsis("Adds a Key Vault key (BYOK) as an archived tenant key.")
            .description("Adds a customer-managed key, like Use-AipServiceKeyVaultKey, after checking as the AIP service principal 00000012-0000-0000-c000-000000000000 that the key exists, is RSA of 2048 bits or more, allows decrypt and sign, and that the service holds get, decrypt and sign on its vault. The URL must carry the key's version: a versionless tenant key would break at the key's next version. The key is added Archived; make it Active with Set-CkAipServiceKeyProperties. The vault must have soft delete and purge protection unless -AcceptUnrecoverableVault is given.")
            .output("CustomerKey.AipServiceKey")
            .changes(Impact::Medium, "Key Vault key '{KeyVaultKeyUrl}'", "Add as an archived AIP tenant key")
            .example("Set-CkKeyVaultAccessPolicy -VaultName 'contoso-aip' -ServicePrincipalName '00000012-0000-0000-c000-000000000000' -PermissionsToKeys get, decrypt, sign\nUse-CkAipServiceKeyVaultKey -KeyVaultKeyUrl 'https://contoso-aip.vault.azure.net/keys/tenant-key/0f6c5a3c2b1e4d7a9f8e7d6c5b4a3921' -FriendlyName 'Contoso BYOK'", "Lets the AIP service use the vault's keys, then adds one version as a tenant key."),
        Operation::new("Set-AipServiceKeyProperties", AREA, keys::set_key_properties)
            .synopsis("Makes a tenant key the Active key.")
            .description("Makes the key the tenant's one Active key, like Set-AipServiceKeyProperties -Active $true; the previous Active key becomes Archived and still opens the content it protected. The Active key cannot be archived directly. A BYOK key is made Active only when the AIP service can use it now. Asks for confirmation (ConfirmImpact High) unless -Force is given.")
            .output("CustomerKey.AipServiceKey")
            .changes(Impact::High, "Tenant key '{KeyIdentifier}'", "Make the Active tenant key (the current one becomes Archived)")
            .example("Set-CkAipServiceKeyProperties -KeyIdentifier 'c1a7e2f0-5d3b-4e8a-9f61-2b7c4d9e0a13' -Active $true -Force", "Re-keys: new content is protected with this key from now on."),
        Operation::new("Import-AipServiceTpd", AREA, tpd::import_tpd)
            .synopsis("Imports the keys of a trusted publishing domain file as archived tenant keys.")
            .description("Imports a password-protected TPD file, like Import-AipServiceTpd. Its keys are added Archived (Microsoft-managed); a wrong password or a changed byte imports nothing. With -KeyVaultKeyUrl, the TPD's key is bound to that Key Vault key instead (the migration from AD RMS): the vault key must be the TPD's key, and the tenant key becomes customer-managed.")
            .output("CustomerKey.AipServiceKey")
            .changes(Impact::Medium, "TPD file '{TpdFile}'", "Import the TPD's keys as archived tenant keys")
            .action_when("KeyVaultKeyUrl", "Import the TPD's key bound to Key Vault key '{KeyVaultKeyUrl}'")
            .example("$password = Read-Host -AsSecureString -Prompt 'TPD password'\nImport-CkAipServiceTpd -TpdFile ./contoso.tpd -ProtectionPassword $password -FriendlyName 'Contoso AD RMS'", "Imports the TPD's keys; content they protected opens here."),
        Operation::new("Export-AipServiceTpd", AREA, tpd::export_tpd)
            .synopsis("Exports Microsoft-managed tenant keys to a password-protected TPD file.")
            .description("Writes the tenant's Microsoft-managed keys (or the one -KeyIdentifier names) to a trusted publishing domain file, encrypted under a key derived from the password with PBKDF2-HMAC-SHA256 at 600,000 iterations and authenticated as a whole. Customer-managed (BYOK) keys never leave Key Vault and are refused. A project extension: Microsoft delivers this file on request.")
            .output("CustomerKey.AipServiceTpdExport")
            .changes(Impact::Medium, "File '{OutputFile}'", "Export Microsoft-managed tenant keys to a TPD file")
            .example("$password = Read-Host -AsSecureString -Prompt 'TPD password'\nExport-CkAipServiceTpd -OutputFile ./contoso.tpd -ProtectionPassword $password", "Exports every Microsoft-managed key, Active and Archived."),
        Operation::new("Get-AipServiceTenantKeyLifecycle", AREA, lifecycle::tenant_key_lifecycle)
            .synopsis("Shows which tenant key lifecycle operations this tenant's topology allows, and how.")
            .description("A project extension: the lifecycle table (Revoke, ReKey, BackupAndRecover, Export, RespondToBreach) for the Active key's topology, each with Available, How (the cmdlets) and WhyNot.")
            .output("CustomerKey.AipServiceTenantKeyLifecycle")
            .example("(Get-CkAipServiceTenantKeyLifecycle).Operations | Format-Table Operation, Available, WhyNot", "Shows what the tenant can do with its key."),
        Operation::new("Protect-AipContent", AREA, content::protect)
            .synopsis("Protects text or a file with the Active tenant key.")
            .description("Encrypts -Value or the file at -Path with a new content key, which the Active tenant key wraps and signs, and writes the protected file. The file names its tenant key (KeyIdentifier) and nothing secret. Fails while a BYOK Active key is revoked.")
            .output("CustomerKey.AipProtectedContent")
            .default_set("ByValue")
            .changes(Impact::Medium, "File '{OutputFile}'", "Write protected content")
            .example("Protect-CkAipContent -Value 'Q3 figures' -OutputFile ./q3.ckaip", "Protects a text.")
            .example("Protect-CkAipContent -Path ./plan.docx -OutputFile ./plan.docx.ckaip", "Protects a file (parameter set ByPath)."),
        Operation::new("Unprotect-AipContent", AREA, content::unprotect)
            .synopsis("Opens protected content with the tenant key that protected it.")
            .description("Verifies and decrypts a file written by Protect-CkAipContent with the key it names, Active or Archived. Without -OutputFile the text is returned as Value. BYOK keys are used through Key Vault as the AIP service principal, so a revoked key opens nothing.")
            .output("CustomerKey.AipUnprotectedContent")
            .changes(Impact::Medium, "File '{InputFile}'", "Open protected content")
            .action_when("OutputFile", "Open protected content into '{OutputFile}'")
            .example("(Unprotect-CkAipContent -InputFile ./q3.ckaip).Value", "Returns the protected text."),
    ]
}

/// What the Azure Information Protection cmdlets return, and how each is shown.
pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{Array, DateTime, String};
    vec![
        OutputType::new(
            "CustomerKey.AipServiceKey",
            &[
                ("KeyIdentifier", String),
                ("KeyType", String),
                ("Status", String),
                ("CreationTime", DateTime),
                ("FriendlyName", String),
            ],
        )
        .table_of_all(),
        OutputType::new(
            "CustomerKey.AipServiceTenantKeyLifecycle",
            &[
                ("Topology", String),
                ("ActiveKeyIdentifier", String),
                ("Operations", Array),
            ],
        )
        .table_of(&[
            Column::new("Topology"),
            Column::new("ActiveKeyIdentifier"),
            // The operations the topology allows now.
            Column::new("Operations")
                .label("Available")
                .joined_where("Available", "Operation"),
        ]),
        OutputType::new(
            "CustomerKey.AipServiceTpdExport",
            &[("OutputFile", String), ("KeyIdentifiers", Array)],
        )
        .table_of(&[
            Column::new("OutputFile"),
            Column::new("KeyIdentifiers").joined(),
        ]),
        OutputType::new(
            "CustomerKey.AipProtectedContent",
            &[
                ("OutputFile", String),
                ("KeyIdentifier", String),
                ("ContentId", String),
            ],
        )
        .table(&["OutputFile", "KeyIdentifier", "ContentId"]),
        OutputType::new(
            "CustomerKey.AipUnprotectedContent",
            &[
                ("KeyIdentifier", String),
                ("ContentId", String),
                ("OutputFile", String),
                ("Value", String),
            ],
        )
        .table_of_all(),
    ]
}
