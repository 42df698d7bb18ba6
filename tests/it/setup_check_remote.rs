//! Test-CustomerKeySetup through the remote target against `customer-key serve` started here:
//! the vaults read from its Resource Manager routes (one listing for both), the service
//! principal's object id from its Graph routes, each key from its Key Vault routes; what the
//! session's credentials cannot read is NotChecked naming the permission.

use crate::remote_common::{admin_as, Admin};
use crate::serve_common::Endpoint;
use customer_key::serve::ServeOptions;
use serde_json::{json, Value};

const A: &str = "contoso-rk-a";
const B: &str = "contoso-rk-b";
const EXO: &str = "00000002-0000-0ff1-ce00-000000000000";

/// The endpoint's store with two vaults an automation principal owns (so that Graph answers
/// it), an HSM key in each, Exchange Online granted what it needs; and that principal.
fn served_pair() -> (Endpoint, String, String) {
    let ep = Endpoint::start("setup-remote", &[], ServeOptions::default());
    let (owner, secret) = ep.service_principal("ck-automation");
    for (vault, location) in [(A, "westeurope"), (B, "francecentral")] {
        ep.as_principal(
            &owner,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "Sku": "Premium", "EnablePurgeProtection": true}),
        );
        ep.as_principal(
            &owner,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "ck-key", "Destination": "HSM", "KeyOps": ["wrapKey", "unwrapKey"]}),
        );
        ep.as_principal(
            &owner,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": EXO, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    (ep, owner, secret)
}

fn ids(ep: &Endpoint) -> Vec<String> {
    [A, B]
        .iter()
        .map(|v| format!("https://{v}.localhost:{}/keys/ck-key", ep.port))
        .collect()
}

fn check(admin: &Admin, ep: &Endpoint) -> Vec<Value> {
    admin
        .ok(
            "Test-CustomerKeySetup",
            json!({"Workload": "Exchange", "AzureKeyIDs": ids(ep)}),
        )
        .as_array()
        .cloned()
        .unwrap()
}

fn row<'a>(rows: &'a [Value], check: &str, target: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["Check"] == check && r["Target"].as_str().unwrap().contains(target))
        .unwrap_or_else(|| panic!("no {check} row for {target}: {rows:#?}"))
}

/// The endpoint's audit rows of `operation` so far.
fn served(ep: &Endpoint, operation: &str) -> usize {
    let log = ep.session.store().audit_log().unwrap();
    log.iter()
        .filter(|(_, _, op, _, _)| op == operation)
        .count()
}

#[test]
fn azure_vaults_are_checked_through_resource_manager_graph_and_the_data_plane() {
    let (ep, owner, secret) = served_pair();
    let admin = admin_as(&ep, "setup-remote-admin", &owner, &secret, true);
    let (vaults_before, keys_before) =
        (served(&ep, "Get-KeyVault"), served(&ep, "Get-KeyVaultKey"));
    let rows = check(&admin, &ep);
    // One listing of the subscription's vaults for both; per key one get and one listing of
    // its versions (each a Get-KeyVaultKey on the endpoint).
    assert_eq!(served(&ep, "Get-KeyVault") - vaults_before, 1);
    assert_eq!(served(&ep, "Get-KeyVaultKey") - keys_before, 4);
    for r in &rows {
        let expected = match r["Check"].as_str().unwrap() {
            "DataLocation" | "KeyBackup" => "NotChecked",
            _ => "Pass",
        };
        assert_eq!(r["Status"], expected, "{r:#}");
    }
    let access = row(&rows, "ServicePrincipalAccess", A);
    assert!(
        access["Detail"]
            .as_str()
            .unwrap()
            .contains("read from its access policy in Azure Resource Manager"),
        "{access}"
    );
    let level = row(&rows, "RecoveryLevel", A);
    assert!(
        level["Detail"]
            .as_str()
            .unwrap()
            .starts_with("Recoverable:"),
        "{level}"
    );
    assert_eq!(row(&rows, "KeySize", B)["Detail"], "2048 bits.");
    assert!(row(&rows, "AdminBackupAccess", A)["Detail"]
        .as_str()
        .unwrap()
        .contains("restore is not checked"));

    // Exchange Online loses wrapKey on one vault, and the key is rolled: both seen in Azure.
    ep.as_principal(
        &owner,
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": B, "ServicePrincipalName": EXO, "PermissionsToKeys": ["get", "unwrapKey", "purge"]}),
    );
    let first = ep.as_principal(
        &owner,
        "Get-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key"}),
    );
    ep.as_principal(
        &owner,
        "Add-KeyVaultKey",
        json!({"VaultName": A, "Name": "ck-key", "Destination": "HSM", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let versioned = vec![
        format!("{}/{}", ids(&ep)[0], first[0]["Version"].as_str().unwrap()),
        ids(&ep)[1].clone(),
    ];
    let rows: Vec<Value> = admin
        .ok(
            "Test-CustomerKeySetup",
            json!({"Workload": "Exchange", "AzureKeyIDs": versioned}),
        )
        .as_array()
        .cloned()
        .unwrap();
    let r = row(&rows, "ServicePrincipalAccess", B);
    assert_eq!(r["Status"], "Fail", "{r:#}");
    assert!(
        r["Detail"].as_str().unwrap().contains("lacks wrapKey"),
        "{r}"
    );
    assert!(
        r["Remediation"].as_str().unwrap().contains(&format!(
            "-VaultName '{B}' -ResourceGroupName 'customer-key'"
        )),
        "{r}"
    );
    assert_eq!(row(&rows, "LatestVersion", A)["Status"], "Warning");
    assert_eq!(
        admin.ok(
            "Test-CustomerKeySetup",
            json!({"Workload": "Exchange", "AzureKeyIDs": ids(&ep), "Quiet": true})
        ),
        json!(false)
    );
}

#[test]
fn what_the_session_cannot_read_is_not_checked_naming_the_permission() {
    let (ep, owner, secret) = served_pair();
    // No Resource Manager credentials: the vaults' checks are NotChecked, the keys' are made.
    let keys_only = admin_as(&ep, "setup-remote-keys-only", &owner, &secret, false);
    let rows = check(&keys_only, &ep);
    let r = row(&rows, "PurgeProtection", A);
    assert_eq!(r["Status"], "NotChecked", "{r:#}");
    assert!(
        r["Detail"].as_str().unwrap().contains("SubscriptionId"),
        "{r}"
    );
    assert_eq!(
        row(&rows, "ServicePrincipalAccess", A)["Status"],
        "NotChecked"
    );
    assert_eq!(row(&rows, "KeyType", A)["Status"], "Pass");
    assert_eq!(row(&rows, "VaultRegions", A)["Status"], "NotChecked");

    // A principal that may list keys but not get them, nor read vaults in Resource Manager.
    let sp = ep.admin("New-ServicePrincipal", json!({"DisplayName": "reader"}));
    let reader = sp["ApplicationId"].as_str().unwrap();
    for vault in [A, B] {
        ep.as_principal(
            &owner,
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": reader, "PermissionsToKeys": ["list"]}),
        );
    }
    let limited = admin_as(
        &ep,
        "setup-remote-limited",
        reader,
        sp["ClientSecret"].as_str().unwrap(),
        true,
    );
    let rows = check(&limited, &ep);
    let r = row(&rows, "KeyEnabled", A);
    assert_eq!(r["Status"], "NotChecked", "{r:#}");
    assert!(
        r["Detail"].as_str().unwrap().contains("needs keys/get"),
        "{r}"
    );
    let r = row(&rows, "AdminBackupAccess", A);
    assert_eq!(r["Status"], "Fail", "{r:#}");
    // The whole run still answers, with its summary.
    assert_eq!(rows.last().unwrap()["Check"], "Summary");
}

#[test]
fn a_key_id_outside_the_sessions_vault_domain_is_refused_naming_the_parameter() {
    let (ep, owner, secret) = served_pair();
    let admin = admin_as(&ep, "setup-remote-domain", &owner, &secret, false);
    let e = admin.err(
        "Test-CustomerKeySetup",
        json!({"Workload": "Exchange", "AzureKeyIDs": [ids(&ep)[0], "https://contoso-rk-b.vault.azure.net/keys/ck-key"]}),
    );
    assert_eq!(e.target, "AzureKeyIDs", "{e}");
    assert!(e.message.contains("this session's domain"), "{e}");
}
