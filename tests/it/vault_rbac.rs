//! Azure RBAC on the store's vaults, through the C ABI: a vault's permission model
//! (New-KeyVault -EnableRbacAuthorization, Update-KeyVault -EnableRbacAuthorization, shown by
//! Get-KeyVault), role assignments at a vault's scope (New-, Get- and Remove-RoleAssignment,
//! owner only, bad input refused naming the parameter), every key access check of an RBAC
//! vault decided by the acting principal's roles with access policies ignored, and
//! Test-CustomerKeySetup's permission checks on such vaults.

use crate::common;

use crate::common::{b64, store_with_vaults, CallError, Ck, ADMIN};
use serde_json::{json, Value};

const VAULT: &str = "contoso-rbac";
const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";
const READER: &str = "reader@contoso.com";
const SERVICE_ROLE: &str = "Key Vault Crypto Service Encryption User";

fn wrap_as(ck: &Ck, vault: &str) -> Result<Value, CallError> {
    ck.call(
        "Invoke-KeyVaultKeyOperation",
        json!({"VaultName": vault, "Name": "k", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(&[7u8; 32])}),
    )
}

fn scope(ck: &Ck, vault: &str) -> String {
    let v = ck.ok("Get-KeyVault", json!({"VaultName": vault}));
    let v = if v.is_array() { v[0].clone() } else { v };
    v["ResourceId"].as_str().unwrap().to_string()
}

fn refused_naming(e: &CallError, parameter: &str) {
    assert_eq!(e.code(), "BadParameter", "{e:?}");
    assert!(
        e.message().contains(&format!("Parameter '{parameter}'")),
        "{e:?}"
    );
}

#[test]
fn role_assignments_decide_key_access_on_an_rbac_vault_and_policies_are_ignored() {
    let (dir, ck) = store_with_vaults("rbac-ops", &[(VAULT, "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k", "Destination": "Software"}),
    );
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": VAULT, "UserPrincipalName": READER, "PermissionsToKeys": ["get", "wrapKey"]}),
    );
    let reader = Ck::at(&dir.join("store"), READER);
    wrap_as(&reader, VAULT).expect("the access policy lets the reader wrap");
    let v = ck.ok("Get-KeyVault", json!({"VaultName": VAULT}));
    assert_eq!(v[0]["EnableRbacAuthorization"], json!(false), "{v}");

    // Azure RBAC: the policies (the owner's too) stop counting.
    let updated = ck.ok(
        "Update-KeyVault",
        json!({"VaultName": VAULT, "EnableRbacAuthorization": true}),
    );
    assert_eq!(updated["EnableRbacAuthorization"], json!(true), "{updated}");
    assert_eq!(
        updated["AccessPolicies"].as_array().unwrap().len(),
        2,
        "kept, as Resource Manager keeps them: {updated}"
    );
    let e = wrap_as(&reader, VAULT).unwrap_err();
    assert!(
        e.message()
            .contains("Microsoft.KeyVault/vaults/keys/wrap/action")
            && e.message().contains("access policies are ignored"),
        "{e:?}"
    );
    let e = ck
        .call("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k"}))
        .unwrap_err();
    assert!(
        e.message().contains("Microsoft.KeyVault/vaults/keys/read"),
        "{e:?}"
    );
    // Setting a policy on an RBAC vault is stored but changes nothing.
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": VAULT, "UserPrincipalName": READER, "PermissionsToKeys": ["all"]}),
    );
    assert!(wrap_as(&reader, VAULT).is_err());

    let scope = scope(&ck, VAULT);
    // Bad input is refused naming the parameter and the rule.
    for (args, parameter) in [
        (
            json!({"SignInName": READER, "Scope": scope}),
            "RoleDefinitionName",
        ),
        (
            json!({"SignInName": READER, "RoleDefinitionName": "Contributor", "Scope": scope}),
            "RoleDefinitionName",
        ),
        (
            json!({"SignInName": READER, "RoleDefinitionName": SERVICE_ROLE, "RoleDefinitionId": "e147488a-f6f5-4113-8e2d-b22465e65bf6", "Scope": scope}),
            "RoleDefinitionName",
        ),
        (
            json!({"SignInName": READER, "RoleDefinitionId": "b24988ac-6180-42a0-ab88-20f7382dd24c", "Scope": scope}),
            "RoleDefinitionId",
        ),
        (
            json!({"RoleDefinitionName": SERVICE_ROLE, "Scope": scope}),
            "ObjectId",
        ),
        (
            json!({"SignInName": READER, "ApplicationId": EXO, "RoleDefinitionName": SERVICE_ROLE, "Scope": scope}),
            "ObjectId",
        ),
        (
            json!({"ApplicationId": "exchange", "RoleDefinitionName": SERVICE_ROLE, "Scope": scope}),
            "ApplicationId",
        ),
        (
            json!({"ObjectId": "not-a-guid", "RoleDefinitionName": SERVICE_ROLE, "Scope": scope}),
            "ObjectId",
        ),
        (
            json!({"SignInName": "reader", "RoleDefinitionName": SERVICE_ROLE, "Scope": scope}),
            "SignInName",
        ),
        (
            json!({"ApplicationId": EXO, "RoleDefinitionName": SERVICE_ROLE, "Scope": format!("/subscriptions/{}", scope.split('/').nth(2).unwrap())}),
            "Scope",
        ),
        (
            json!({"ApplicationId": EXO, "RoleDefinitionName": SERVICE_ROLE, "Scope": scope, "RoleAssignmentName": "one"}),
            "RoleAssignmentName",
        ),
    ] {
        let e = ck.err("New-RoleAssignment", args.clone());
        refused_naming(&e, parameter);
        if parameter == "RoleDefinitionName" && args["RoleDefinitionName"] == "Contributor" {
            assert!(e.message().contains("Key Vault Crypto Officer"), "{e:?}");
        }
    }
    let elsewhere = scope.replace("customer-key", "rg-other");
    let e = ck.err(
        "New-RoleAssignment",
        json!({"ApplicationId": EXO, "RoleDefinitionName": SERVICE_ROLE, "Scope": elsewhere}),
    );
    assert!(e.message().contains("rg-other"), "{e:?}");

    // Only the owner assigns roles.
    let e = reader.err(
        "New-RoleAssignment",
        json!({"SignInName": READER, "RoleDefinitionName": "Key Vault Administrator", "Scope": scope}),
    );
    assert!(e.message().contains("only the vault's owner"), "{e:?}");

    // The owner assigns itself Crypto Officer and manages keys again.
    let officer = ck.ok(
        "New-RoleAssignment",
        json!({"SignInName": ADMIN, "RoleDefinitionName": "key vault crypto officer", "Scope": scope}),
    );
    assert_eq!(officer["RoleDefinitionName"], "Key Vault Crypto Officer");
    assert_eq!(
        officer["RoleDefinitionId"],
        "14b46e9e-c2b7-41b4-b07b-48a6ebf60603"
    );
    assert_eq!(officer["ObjectType"], "User");
    assert_eq!(officer["SignInName"], ADMIN);
    assert_eq!(officer["Scope"], json!(scope));
    let name = officer["RoleAssignmentName"].as_str().unwrap();
    assert_eq!(
        officer["RoleAssignmentId"],
        json!(format!(
            "{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"
        ))
    );
    let e = ck.err(
        "New-RoleAssignment",
        json!({"SignInName": ADMIN, "RoleDefinitionName": "Key Vault Crypto Officer", "Scope": scope}),
    );
    assert!(e.message().contains("already exists"), "{e:?}");
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "k", "Destination": "Software"}),
    );

    // Key Vault Reader reads keys and wraps nothing; Crypto Service Encryption User wraps.
    ck.ok(
        "New-RoleAssignment",
        json!({"SignInName": READER, "RoleDefinitionName": "Key Vault Reader", "Scope": scope}),
    );
    reader.ok("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k"}));
    assert!(wrap_as(&reader, VAULT).is_err());
    let service = ck.ok(
        "New-RoleAssignment",
        json!({"ApplicationId": EXO, "RoleDefinitionId": "/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/e147488a-f6f5-4113-8e2d-b22465e65bf6", "Scope": scope}),
    );
    assert_eq!(service["DisplayName"], "Office 365 Exchange Online");
    assert_eq!(service["ObjectType"], "ServicePrincipal");
    assert_eq!(service["RoleDefinitionName"], SERVICE_ROLE);

    // Reads: by scope, by principal, by role.
    let all = ck.ok("Get-RoleAssignment", json!({"Scope": scope}));
    assert_eq!(all.as_array().unwrap().len(), 3, "{all:#}");
    let exo = reader.ok("Get-RoleAssignment", json!({"ApplicationId": EXO}));
    assert_eq!(exo.as_array().unwrap().len(), 1, "{exo:#}");
    let readers = ck.ok(
        "Get-RoleAssignment",
        json!({"RoleDefinitionName": "Key Vault Reader"}),
    );
    assert_eq!(readers[0]["SignInName"], READER, "{readers:#}");

    // Removal: the owner's, once; the reader loses its reads.
    let e = reader.err(
        "Remove-RoleAssignment",
        json!({"SignInName": READER, "RoleDefinitionName": "Key Vault Reader", "Scope": scope}),
    );
    assert!(e.message().contains("only the vault's owner"), "{e:?}");
    let removed = ck.ok(
        "Remove-RoleAssignment",
        json!({"SignInName": READER, "RoleDefinitionName": "Key Vault Reader", "Scope": scope}),
    );
    assert_eq!(removed["SignInName"], READER);
    assert!(reader
        .call("Get-KeyVaultKey", json!({"VaultName": VAULT, "Name": "k"}))
        .is_err());
    let e = ck.err(
        "Remove-RoleAssignment",
        json!({"SignInName": READER, "RoleDefinitionName": "Key Vault Reader", "Scope": scope}),
    );
    assert!(
        e.message().contains("does not map to a role assignment"),
        "{e:?}"
    );

    // Back to access policies: the roles are kept but ignored, the policies count again.
    let back = ck.ok(
        "Update-KeyVault",
        json!({"VaultName": VAULT, "EnableRbacAuthorization": false}),
    );
    assert_eq!(back["EnableRbacAuthorization"], json!(false));
    wrap_as(&reader, VAULT).expect("the reader's policy (all) counts again");
    let e = ck.err("Update-KeyVault", json!({"VaultName": VAULT}));
    refused_naming(&e, "EnableRbacAuthorization");
}

fn rows(ck: &Ck, ids: &[String]) -> Vec<Value> {
    ck.ok(
        "Test-CustomerKeySetup",
        json!({"Workload": "Exchange", "AzureKeyIDs": ids}),
    )
    .as_array()
    .cloned()
    .unwrap()
}

fn status<'a>(rows: &'a [Value], check: &str, vault: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["Check"] == check && r["Target"].as_str().unwrap().contains(vault))
        .unwrap_or_else(|| panic!("no {check} for {vault}: {rows:#?}"))
}

#[test]
fn the_setup_check_reads_an_rbac_vault_by_its_roles_and_says_policies_are_ignored() {
    let dir = common::TempDir::new("rbac-setup");
    let ck = Ck::at(&dir.join("store"), ADMIN);
    let mut ids = Vec::new();
    for (vault, location) in [
        ("contoso-rb-a", "westeurope"),
        ("contoso-rb-b", "francecentral"),
    ] {
        let v = ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "Sku": "Premium", "EnablePurgeProtection": true, "EnableRbacAuthorization": true}),
        );
        assert_eq!(v["AccessPolicies"], json!([]), "{v}");
        ck.ok(
            "New-RoleAssignment",
            json!({"SignInName": ADMIN, "RoleDefinitionName": "Key Vault Administrator", "Scope": v["ResourceId"]}),
        );
        let key = ck.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "ck-key", "Destination": "HSM", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ids.push(format!("https://{vault}.vault.azure.net/keys/ck-key"));
        let _ = key;
        // Exchange's access policy: ignored in RBAC mode.
        ck.ok(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXO, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    let r = rows(&ck, &ids);
    let model = status(&r, "PermissionModel", "contoso-rb-a");
    assert_eq!(model["Status"], "Fail", "{model:#}");
    assert!(
        model["Detail"].as_str().unwrap().contains("ignored"),
        "{model:#}"
    );
    let access = status(&r, "ServicePrincipalAccess", "contoso-rb-a");
    assert_eq!(access["Status"], "Fail", "{access:#}");
    let fix = access["RemediationCk"].as_str().unwrap();
    assert!(fix.starts_with("New-CkRoleAssignment -ApplicationId '00000002-0000-0ff1-ce00-000000000000' -RoleDefinitionName 'Key Vault Crypto Service Encryption User' -Scope '/subscriptions/"), "{fix}");
    assert!(access["Remediation"]
        .as_str()
        .unwrap()
        .starts_with("New-AzRoleAssignment"));
    // The admin's backup permission comes from its role.
    assert_eq!(
        status(&r, "AdminBackupAccess", "contoso-rb-a")["Status"],
        "Pass"
    );

    // What the remediation says, done (as written, through the engine), fixes it.
    for vault in ["contoso-rb-a", "contoso-rb-b"] {
        let scope = scope(&ck, vault);
        ck.ok(
            "New-RoleAssignment",
            json!({"ApplicationId": EXO, "RoleDefinitionName": SERVICE_ROLE, "Scope": scope}),
        );
        ck.ok(
            "Remove-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXO}),
        );
    }
    let r = rows(&ck, &ids);
    for vault in ["contoso-rb-a", "contoso-rb-b"] {
        for check in [
            "PermissionModel",
            "ServicePrincipalAccess",
            "AdminBackupAccess",
        ] {
            let row = status(&r, check, vault);
            assert_eq!(row["Status"], "Pass", "{row:#}");
        }
    }
}

#[test]
fn removing_the_role_exchange_needs_for_a_policys_keys_is_refused_without_accept_data_loss() {
    let (_dir, ck) = store_with_vaults(
        "rbac-in-use",
        &[
            ("contoso-rbac-a", "westeurope"),
            ("contoso-rbac-b", "northeurope"),
        ],
    );
    let mut ids = Vec::new();
    for vault in ["contoso-rbac-a", "contoso-rbac-b"] {
        let key = ck.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "k", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ids.push(
            key["Id"]
                .as_str()
                .unwrap()
                .rsplit_once('/')
                .unwrap()
                .0
                .to_string(),
        );
        ck.ok(
            "Update-KeyVault",
            json!({"VaultName": vault, "EnableRbacAuthorization": true}),
        );
        let scope = scope(&ck, vault);
        for role in [SERVICE_ROLE, "Key Vault Reader"] {
            ck.ok(
                "New-RoleAssignment",
                json!({"ApplicationId": EXO, "RoleDefinitionName": role, "Scope": scope}),
            );
        }
    }
    ck.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP", "AzureKeyIDs": ids}),
    );
    let scope_a = scope(&ck, "contoso-rbac-a");
    let remove = |role: &str, accept: bool| {
        ck.call(
            "Remove-RoleAssignment",
            json!({"ApplicationId": EXO, "RoleDefinitionName": role, "Scope": scope_a, "AcceptDataLoss": accept}),
        )
    };

    // A role that gives no wrap or unwrap goes without a word.
    remove("Key Vault Reader", false).expect("the reader role is not what the policy needs");
    // The one that does is refused, naming the policy, and nothing changes.
    let e = remove(SERVICE_ROLE, false).unwrap_err();
    assert_eq!(e.code(), "KeyInUse", "{e:?}");
    assert!(e.message().contains("Exchange 'DEP'"), "{e:?}");
    assert!(e.message().contains("-AcceptDataLoss"), "{e:?}");
    let held = ck.ok(
        "Get-RoleAssignment",
        json!({"ApplicationId": EXO, "Scope": scope_a}),
    );
    assert_eq!(held.as_array().unwrap().len(), 1, "{held:#}");
    let usable = |ck: &Ck| -> Vec<bool> {
        ck.ok("Get-DataEncryptionPolicy", json!({"Identity": "DEP"}))[0]["KeyHealth"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["Usable"].as_bool().unwrap())
            .collect()
    };
    assert_eq!(usable(&ck), [true, true]);

    // With -AcceptDataLoss the role goes, and Exchange loses the key of that vault.
    remove(SERVICE_ROLE, true).expect("accepted");
    assert_eq!(usable(&ck), [false, true]);
}
