//! The directory domain's operations.

use crate::operations::{Impact, Operation, OutputType, PropertyType};

const AREA: &str = "Directory";

pub fn operations() -> Vec<Operation> {
    vec![
        Operation::new("New-ServicePrincipal", AREA, super::new_service_principal)
            .synopsis("Registers an application (service principal) with a client secret, for the Key Vault endpoint.")
            .description("Creates a service principal with a new application id and a random client secret, like New-AzADServicePrincipal. The secret is shown in this answer only and stored as a salted slow hash: keep it now. Automation signs in with the application id and the secret at the token route of customer-key serve; grant it key permissions with Set-CkKeyVaultAccessPolicy -ServicePrincipalName <ApplicationId>.")
            .output("CustomerKey.ServicePrincipal")
            .changes(Impact::Medium, "Service principal '{DisplayName}'", "Create service principal with a client secret")
            .example("$sp = New-CkServicePrincipal -DisplayName 'backup-automation'\nSet-CkKeyVaultAccessPolicy -VaultName 'contoso-ck-weu' -ServicePrincipalName $sp.ApplicationId -PermissionsToKeys get, wrapKey, unwrapKey", "Registers an application and lets it wrap and unwrap with the vault's keys.")
            .example("New-CkServicePrincipal -DisplayName 'ci' -EndDate (Get-Date).AddDays(30)", "A principal whose secret stops working in 30 days."),
        Operation::new("Get-ServicePrincipal", AREA, super::get_service_principal)
            .synopsis("Lists service principals (never their secrets).")
            .description("Gets one service principal by application id, or every one of the store, optionally those with a display name. Secrets are never shown again after New-CkServicePrincipal.")
            .output("CustomerKey.ServicePrincipal")
            .example("Get-CkServicePrincipal", "Lists the registered applications.")
            .example("Get-CkServicePrincipal -DisplayName 'backup-automation'", "Finds an application by its display name."),
        Operation::new("Remove-ServicePrincipal", AREA, super::remove_service_principal)
            .synopsis("Revokes a service principal: its secret and tokens stop working at once.")
            .description("Deletes a service principal. Tokens already issued to it are refused from the next request on. Its access policies remain on the vaults until removed with Remove-CkKeyVaultAccessPolicy.")
            .changes(Impact::High, "Service principal '{ApplicationId}'", "Remove service principal (its tokens stop working)")
            .example("Remove-CkServicePrincipal -ApplicationId '6f1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d'", "Revokes the application after confirmation."),
    ]
}

/// What the directory cmdlets return, and how it is shown. The secret's dates are ISO 8601
/// strings, as they always were.
pub fn output_types() -> Vec<OutputType> {
    use PropertyType::{DateTime, String};
    vec![OutputType::new(
        "CustomerKey.ServicePrincipal",
        &[
            ("ApplicationId", String),
            ("DisplayName", String),
            ("SecretStartDate", String),
            ("SecretEndDate", String),
            ("Created", DateTime),
        ],
    )
    .table(&[
        "ApplicationId",
        "DisplayName",
        "SecretStartDate",
        "SecretEndDate",
    ])]
}
