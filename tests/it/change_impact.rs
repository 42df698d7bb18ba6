//! One key used by all three workloads (an Exchange DEP, the SharePoint DEP, an AIP BYOK tenant
//! key): Get-KeyVaultKeyUsage lists the three policies, and Get-KeyVaultChangeImpact, the
//! read-only call the cmdlets make before ShouldProcess, says what still needs the key, the
//! vault, or a workload's access, and changes nothing.

use crate::aip_support;
use crate::exchange_support;

use crate::common::{Ck, ADMIN};
use crate::exchange_support::{tenant, versionless, VAULT_A, VAULT_B};
use serde_json::{json, Value};
use std::time::Duration;

const SHAREPOINT: &str = "00000003-0000-0ff1-ce00-000000000000";
const SHARED_KEY: &str = "shared-key";

fn impact(ck: &Ck, args: Value) -> Value {
    ck.ok("Get-KeyVaultChangeImpact", args)
}

#[test]
fn one_key_under_three_workloads_and_what_each_change_would_take_away() {
    let t = tenant("change-impact");
    // A key with every key operation (the default), in vault A, for all three workloads.
    let shared = t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": SHARED_KEY}),
    );
    let shared_id = shared["Id"].as_str().unwrap().to_string();
    let shared_version = shared["Version"].as_str().unwrap().to_string();
    for vault in [VAULT_A, VAULT_B] {
        t.ck.ok(
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": vault, "ServicePrincipalName": SHAREPOINT, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
        );
    }
    aip_support::grant(&t.ck, VAULT_A);

    // Exchange: a policy over the shared key and vault B's key, two mailboxes under it.
    let dep = t.ck.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "DEP-ALL", "AzureKeyIDs": [versionless(&shared_id), t.key_b]}),
    );
    let dep_id = dep["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    for who in ["ada", "bob"] {
        t.mailbox(who, Some("DEP-ALL"));
        t.add_item(who, "hello", "body");
    }
    for who in ["ada", "bob"] {
        t.wait_encrypted_under(who, &dep_id);
    }
    // SharePoint: the tenant's policy, primary key the shared one.
    let b = t.ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": "exo-key"}),
    );
    let b = b.get(0).cloned().unwrap_or(b);
    t.ck.ok(
        "Register-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": VAULT_A, "PrimaryKeyName": SHARED_KEY, "PrimaryKeyVersion": shared_version,
            "SecondaryKeyVaultName": VAULT_B, "SecondaryKeyName": "exo-key", "SecondaryKeyVersion": b["Version"],
        }),
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while t.ck.ok("Get-SPODataEncryptionPolicy", json!({}))["State"] != "Registered" {
        assert!(
            std::time::Instant::now() < deadline,
            "SharePoint never registered"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // AIP: the shared key's version as the BYOK tenant key.
    aip_support::use_and_activate(&t.ck, &shared_id);

    // Get-KeyVaultKeyUsage: one row, three policies, one per workload.
    let usage = t.ck.ok(
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Name": SHARED_KEY}),
    );
    let rows = usage.as_array().unwrap();
    assert_eq!(rows.len(), 1, "{usage}");
    let row = &rows[0];
    let workloads: Vec<&str> = row["References"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Workload"].as_str().unwrap())
        .collect();
    assert_eq!(workloads.len(), 3, "{row}");
    for w in ["Exchange", "SharePoint", "AIP"] {
        assert!(workloads.contains(&w), "{w} missing from {row}");
    }
    assert!(row["Policies"]
        .as_array()
        .unwrap()
        .contains(&json!("Exchange 'DEP-ALL'")));
    assert_eq!(row["MailboxesNeedingIt"], 2);
    assert_eq!(row["SafeToDisable"], false);
    let usage_impact = row["Impact"].as_str().unwrap().to_string();
    assert!(
        usage_impact.starts_with("3 policies, 2 mailboxes"),
        "{usage_impact}"
    );

    // The preview of removing, purging or disabling the key says the same.
    let key = impact(&t.ck, json!({"VaultName": VAULT_A, "Name": SHARED_KEY}));
    assert_eq!(key["InUse"], true);
    assert_eq!(key["Impact"], usage_impact.as_str());
    assert_eq!(key["MailboxesNeedingIt"], 2);
    let version = impact(
        &t.ck,
        json!({"VaultName": VAULT_A, "Name": SHARED_KEY, "Version": shared_version}),
    );
    assert_eq!(version["Impact"], usage_impact.as_str());
    // The whole vault (a vault removal): the same, vault A's other key being in no policy.
    let vault = impact(&t.ck, json!({"VaultName": VAULT_A}));
    assert_eq!(vault["InUse"], true);
    assert!(
        vault["Impact"]
            .as_str()
            .unwrap()
            .starts_with("3 policies, 2 mailboxes"),
        "{vault}"
    );

    // A workload's access policy: only that workload's policies count.
    let exchange = impact(
        &t.ck,
        json!({"VaultName": VAULT_A, "ServicePrincipalName": exchange_support::EXCHANGE}),
    );
    assert_eq!(exchange["Workload"], "Exchange");
    assert_eq!(exchange["Policies"], json!(["Exchange 'DEP-ALL'"]));
    assert_eq!(exchange["Impact"], "1 policy, 2 mailboxes");
    let sharepoint = impact(
        &t.ck,
        json!({"VaultName": VAULT_B, "ServicePrincipalName": SHAREPOINT}),
    );
    assert_eq!(sharepoint["Workload"], "SharePoint");
    assert_eq!(sharepoint["InUse"], true);
    assert_eq!(sharepoint["Policies"].as_array().unwrap().len(), 1);
    let aip = impact(
        &t.ck,
        json!({"VaultName": VAULT_A, "ServicePrincipalName": aip_support::AIP}),
    );
    assert_eq!(aip["Workload"], "AIP");
    assert_eq!(aip["InUse"], true);
    // AIP uses nothing in vault B; a user's policy is no workload's access.
    let aip_b = impact(
        &t.ck,
        json!({"VaultName": VAULT_B, "ServicePrincipalName": aip_support::AIP}),
    );
    assert_eq!(aip_b["InUse"], false);
    assert_eq!(aip_b["Impact"], "nothing");
    let user = impact(
        &t.ck,
        json!({"VaultName": VAULT_A, "UserPrincipalName": ADMIN}),
    );
    assert_eq!(user["InUse"], false);
    assert_eq!(user["Workload"], Value::Null);

    // Nothing changed: the mailboxes still read, the key is still there and enabled.
    assert_eq!(
        t.items("ada").unwrap()[0]["Subject"],
        "hello",
        "a preview must not change anything"
    );
    let still = t.ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": SHARED_KEY}),
    );
    let still = still.get(0).cloned().unwrap_or(still);
    assert_eq!(still["Enabled"], true);

    // Bad input names the parameter; someone without get on the vault is refused.
    let e = t.ck.err(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": VAULT_A, "Version": shared_version}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert_eq!(e.error["target"], "Version");
    let e = t.ck.err(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": VAULT_A, "Name": SHARED_KEY, "ServicePrincipalName": SHAREPOINT}),
    );
    assert_eq!(e.error["target"], "Name");
    let e = t.ck.err(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": VAULT_A, "ServicePrincipalName": SHAREPOINT, "ObjectId": "x"}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert_eq!(
        t.ck.err("Get-KeyVaultChangeImpact", json!({"VaultName": "nope"}))
            .category(),
        "ObjectNotFound"
    );
    let mallory = Ck::at(&t.dir.join("store"), "mallory@contoso.com");
    let e = mallory.err("Get-KeyVaultChangeImpact", json!({"VaultName": VAULT_A}));
    assert_eq!(e.category(), "PermissionDenied", "{}", e.message());
}
