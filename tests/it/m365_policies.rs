//! The multi-workload data encryption policy: created through the M365DataAtRestEncryption
//! service principal with the mailbox policies' checks, assigned to the tenant by the
//! background job (tenant data and the mailboxes without a mailbox policy move under it, a
//! mailbox policy wins), refreshed after a roll, revoked like an Exchange policy, listed by the
//! key usage, and tested key by key.

use crate::exchange_support::*;
use serde_json::{json, Value};

const M365: &str = "c066d759-24ae-40e7-a56f-027002b5d3e4";

fn grant_m365(t: &Tenant, vault: &str) {
    t.ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": M365, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
}

fn revoke_m365(t: &Tenant, vault: &str) {
    t.ck.ok(
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": vault, "ServicePrincipalName": M365}),
    );
}

fn new_policy(t: &Tenant, name: &str) -> Value {
    t.ck.ok(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": name, "AzureKeyIDs": [t.key_a, t.key_b]}),
    )
}

fn assignment(t: &Tenant) -> Value {
    t.ck.ok("Get-M365DataAtRestEncryptionPolicyAssignment", json!({}))
}

/// Waits until the assignment is Assigned under `revision`.
fn wait_assigned(t: &Tenant, revision: &str) -> Value {
    wait_until(|| {
        let a = assignment(t);
        (a["State"] == "Assigned" && a["DataEncryptionPolicyID"] == revision).then_some(a)
    })
}

fn data_items(t: &Tenant) -> Value {
    t.ck.ok("Get-M365DataItem", json!({}))
}

fn add_data(t: &Tenant, workload: &str, subject: &str) -> Value {
    t.ck.ok(
        "Add-M365DataItem",
        json!({"Workload": workload, "Subject": subject, "Body": format!("body of {subject}")}),
    )
}

#[test]
fn creation_checks_the_service_principal_the_keys_and_the_name() {
    let t = tenant("m365-create");
    // Only Exchange Online's principal has access so far: the M365 service is named.
    let e = t.ck.err(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "M365-DEP", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert_eq!(e.category(), "PermissionDenied", "{e:?}");
    assert!(e.message().contains(M365), "{}", e.message());
    assert!(
        e.message().contains("M365DataAtRestEncryption"),
        "{}",
        e.message()
    );
    grant_m365(&t, VAULT_A);
    grant_m365(&t, VAULT_B);
    let e = t.ck.err(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "M365 DEP", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(
        e.message().contains("Name") && e.message().contains("space"),
        "{}",
        e.message()
    );
    let e = t.ck.err(
        "New-M365DataAtRestEncryptionPolicy",
        json!({"Name": "M365-DEP", "AzureKeyIDs": [t.key_a]}),
    );
    assert!(
        e.message().contains("AzureKeyIDs") && e.message().contains("at least two"),
        "{}",
        e.message()
    );
    let p = new_policy(&t, "M365-DEP");
    assert_eq!(p["Enabled"], true);
    assert_eq!(p["Assigned"], false);
    assert_eq!(p["RewrapState"], "Done");
    let health = p["KeyHealth"].as_array().unwrap();
    assert_eq!(health.len(), 2);
    assert!(health.iter().all(|h| h["Usable"] == true), "{p}");
    // Both kinds of policy keep their own lists, and names stay unique across them.
    let mailbox_policies = t.ck.ok("Get-DataEncryptionPolicy", json!({}));
    assert_eq!(mailbox_policies, json!([]));
    let e =
        t.ck.err("Get-DataEncryptionPolicy", json!({"Identity": "M365-DEP"}));
    assert_eq!(e.category(), "ObjectNotFound");
    let found = t.ck.ok(
        "Get-M365DataAtRestEncryptionPolicy",
        json!({"Identity": p["DataEncryptionPolicyID"]}),
    );
    assert_eq!(found[0]["Guid"], p["Guid"]);
    let e = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "M365-DEP", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert_eq!(e.category(), "ResourceExists", "{e:?}");
}

#[test]
fn assignment_moves_tenant_data_and_mailboxes_without_a_policy_and_a_mailbox_policy_wins() {
    let t = tenant("m365-assign");
    grant_m365(&t, VAULT_A);
    grant_m365(&t, VAULT_B);
    // Data stored before any assignment is under the Microsoft-managed key.
    let chat = add_data(&t, "TeamsChat", "before");
    assert_eq!(chat["DataEncryptionPolicyID"], Value::Null);
    let exo = t.policy("EXO-DEP");
    t.mailbox("ada", None);
    t.mailbox("bob", Some("EXO-DEP"));
    t.add_item("ada@contoso.com", "ada-1", "hello");
    let bob = t.wait_encrypted_under(
        "bob@contoso.com",
        exo["DataEncryptionPolicyID"].as_str().unwrap(),
    );
    assert_eq!(t.stats("ada@contoso.com")["IsEncrypted"], false);
    assert_eq!(
        t.ck.call("Get-M365DataAtRestEncryptionPolicyAssignment", json!({}))
            .unwrap(),
        Value::Null
    );

    let p = new_policy(&t, "M365-DEP");
    let revision = p["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    let a = t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "M365-DEP"}),
    );
    assert_eq!(a["DataEncryptionPolicy"], "M365-DEP");
    // The answer is the assignment as committed, whether or not the runner has begun.
    assert_eq!(a["State"], "Assigning", "{a}");
    assert_eq!(a["JobState"], "Queued", "{a}");
    assert_eq!(a["ItemsDone"], 0, "{a}");
    let done = wait_assigned(&t, &revision);
    // ada's mailbox and the chat data: two items of work.
    assert_eq!(done["ItemsTotal"], 2, "{done}");
    assert_eq!(done["ItemsDone"], 2);
    let ada = t.wait_encrypted_under("ada@contoso.com", &revision);
    assert_eq!(ada["EncryptionState"], "Encrypted");
    assert_eq!(subjects(&t.items("ada@contoso.com").unwrap()), ["ada-1"]);
    // Get-Mailbox still names no mailbox policy for ada; bob keeps his.
    let ada_row =
        t.ck.ok("Get-Mailbox", json!({"Identity": "ada@contoso.com"}));
    assert_eq!(ada_row[0]["DataEncryptionPolicy"], Value::Null);
    assert_eq!(
        t.stats("bob@contoso.com")["DataEncryptionPolicyID"],
        bob["DataEncryptionPolicyID"]
    );
    // Old and new tenant data are readable and under the policy's revision.
    add_data(&t, "TeamsChat", "after");
    let rec = add_data(&t, "TeamsMeetingRecording", "standup");
    assert_eq!(rec["DataEncryptionPolicyID"], revision);
    let items = data_items(&t);
    assert_eq!(subjects(&items), ["before", "after", "standup"]);
    assert!(items
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["DataEncryptionPolicyID"] == revision));
    // A mailbox created now, without a policy, is moved under the tenant policy by the job.
    t.mailbox("cyd", None);
    t.wait_encrypted_under("cyd@contoso.com", &revision);
    // Unassigning bob's mailbox policy puts him under the tenant policy.
    t.ck.ok(
        "Set-Mailbox",
        json!({"Identity": "bob@contoso.com", "DataEncryptionPolicy": null}),
    );
    t.wait_encrypted_under("bob@contoso.com", &revision);
    let policy = t.ck.ok(
        "Get-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-DEP"}),
    );
    assert_eq!(policy[0]["Assigned"], true);
}

#[test]
fn revocation_and_refresh_behave_as_for_exchange_policies() {
    let t = tenant("m365-revoke");
    grant_m365(&t, VAULT_A);
    grant_m365(&t, VAULT_B);
    let p = new_policy(&t, "M365-DEP");
    let first = p["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    t.mailbox("ada", None);
    t.add_item("ada@contoso.com", "ada-1", "hello");
    add_data(&t, "TeamsChat", "chat-1");
    t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "M365-DEP"}),
    );
    wait_assigned(&t, &first);
    t.wait_encrypted_under("ada@contoso.com", &first);

    // A roll, then -Refresh: a new revision, and the job moves the covered data under it.
    t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let refreshed = t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-DEP", "Refresh": true}),
    );
    let second = refreshed["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second, first);
    assert_eq!(refreshed["RewrapState"], "Rewrapping", "{refreshed}");
    assert_eq!(refreshed["JobState"], "Queued", "{refreshed}");
    wait_assigned(&t, &second);
    t.wait_encrypted_under("ada@contoso.com", &second);
    assert!(data_items(&t)
        .as_array()
        .unwrap()
        .iter()
        .all(|i| i["DataEncryptionPolicyID"] == second));

    // Key usage lists the multi-workload policy on the new version.
    let usage = t.ck.ok(
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    let newest = usage
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["InUse"] == true)
        .expect("the new version is in use");
    assert_eq!(
        newest["Policies"],
        json!(["MultiWorkload 'M365-DEP'"]),
        "{usage}"
    );
    // What taking the service's access away would touch: the policy and the items under it
    // (ada's mailbox and the chat kind); Exchange's own access touches nothing of it.
    let impact = t.ck.ok(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": VAULT_A, "ServicePrincipalName": M365}),
    );
    assert_eq!(impact["Workload"], "MultiWorkload", "{impact}");
    assert_eq!(impact["Policies"], json!(["MultiWorkload 'M365-DEP'"]));
    assert_eq!(impact["Impact"], "1 policy, 2 items");
    let exchange = t.ck.ok(
        "Get-KeyVaultChangeImpact",
        json!({"VaultName": VAULT_A, "ServicePrincipalName": EXCHANGE}),
    );
    assert_eq!(exchange["InUse"], false, "{exchange}");

    // One key gone: reads go on. Both gone: PermissionDenied, for tenant data and ada alike.
    revoke_m365(&t, VAULT_A);
    assert_eq!(subjects(&data_items(&t)), ["chat-1"]);
    assert_eq!(subjects(&t.items("ada@contoso.com").unwrap()), ["ada-1"]);
    revoke_m365(&t, VAULT_B);
    let e = t.ck.err("Get-M365DataItem", json!({}));
    assert_eq!(e.category(), "PermissionDenied");
    assert!(
        e.message().contains("M365DataAtRestEncryption"),
        "{}",
        e.message()
    );
    let e = t.items("ada@contoso.com").unwrap_err();
    assert_eq!(e.category(), "PermissionDenied");
    // Access back: readable again; nothing was lost.
    grant_m365(&t, VAULT_B);
    assert_eq!(subjects(&data_items(&t)), ["chat-1"]);
}

#[test]
fn settings_assignment_rules_and_the_policy_test() {
    let t = tenant("m365-rules");
    grant_m365(&t, VAULT_A);
    grant_m365(&t, VAULT_B);
    let p = new_policy(&t, "M365-A");
    new_policy(&t, "M365-B");
    t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "M365-A"}),
    );
    wait_assigned(&t, p["DataEncryptionPolicyID"].as_str().unwrap());
    // An assigned policy cannot be disabled; the other can, and then cannot be assigned.
    let e = t.ck.err(
        "Set-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-A", "Enabled": false}),
    );
    assert_eq!(e.code(), "PolicyAssigned", "{e:?}");
    assert_eq!(
        t.ck.ok(
            "Get-M365DataAtRestEncryptionPolicy",
            json!({"Identity": "M365-A"})
        )[0]["Enabled"],
        true
    );
    let b = t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-B", "Enabled": false, "Description": "spare"}),
    );
    assert_eq!(b["Enabled"], false);
    assert_eq!(b["Description"], "spare");
    let e = t.ck.err(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "M365-B"}),
    );
    assert!(e.message().contains("disabled"), "{}", e.message());
    let e = t.ck.err(
        "Set-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-B", "Name": "with space"}),
    );
    assert_eq!(e.category(), "InvalidArgument");

    // -Replace moves the assigned policy to other keys; the job follows with what it covers.
    let others: Vec<String> = [VAULT_A, VAULT_B]
        .iter()
        .map(|v| {
            let k = t.ck.ok(
                "Add-KeyVaultKey",
                json!({"VaultName": v, "Name": "m365-other", "KeyOps": ["wrapKey", "unwrapKey"]}),
            );
            versionless(k["Id"].as_str().unwrap())
        })
        .collect();
    add_data(&t, "TeamsChat", "before the replace");
    let replaced = t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-A", "AzureKeyIDs": others, "Replace": true, "Force": true}),
    );
    assert_eq!(replaced["AzureKeyIDs"], json!(others));
    assert_ne!(
        replaced["DataEncryptionPolicyID"],
        p["DataEncryptionPolicyID"]
    );
    wait_assigned(&t, replaced["DataEncryptionPolicyID"].as_str().unwrap());
    assert!(replaced["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .all(|h| h["Id"].as_str().unwrap().contains("/keys/m365-other/")));
    assert_eq!(subjects(&data_items(&t)), ["before the replace"]);

    // The test: usable now; with the service's access gone from one vault, that key is not.
    let ok = t.ck.ok(
        "Test-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-A"}),
    );
    assert_eq!(ok["IsValid"], true, "{ok:#}");
    assert!(ok["KeyResults"]
        .as_array()
        .unwrap()
        .iter()
        .all(|k| k["Usable"] == true));
    revoke_m365(&t, VAULT_B);
    let bad = t.ck.ok(
        "Test-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "M365-A"}),
    );
    assert_eq!(bad["IsValid"], false);
    let keys = bad["KeyResults"].as_array().unwrap();
    let on_b: Vec<&Value> = keys
        .iter()
        .filter(|k| k["KeyId"].as_str().unwrap().contains(VAULT_B))
        .collect();
    assert_eq!(on_b.len(), 1);
    assert_eq!(on_b[0]["Usable"], false);
    assert!(
        on_b[0]["Reasons"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("ServicePrincipalAccess")),
        "{bad:#}"
    );
    assert!(keys
        .iter()
        .any(|k| k["Usable"] == true && k["KeyId"].as_str().unwrap().contains(VAULT_A)));
    // Test-CustomerKeySetup takes the policy too, and checks its service's access.
    let checks = t.ck.ok(
        "Test-CustomerKeySetup",
        json!({"DataEncryptionPolicy": "M365-A"}),
    );
    let access: Vec<&Value> = checks
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["Check"] == "ServicePrincipalAccess")
        .collect();
    assert_eq!(access.len(), 2, "{checks:#}");
    assert!(
        access
            .iter()
            .any(|c| c["Status"] == "Fail" && c["RemediationCk"].as_str().unwrap().contains(M365)),
        "{checks:#}"
    );
    let e = t.ck.err(
        "Test-M365DataAtRestEncryptionPolicy",
        json!({"Identity": "nope"}),
    );
    assert_eq!(e.category(), "ObjectNotFound");
}

#[test]
fn the_availability_key_answers_only_when_both_vaults_are_unreachable() {
    let t = tenant("m365-availability");
    grant_m365(&t, VAULT_A);
    grant_m365(&t, VAULT_B);
    let p = new_policy(&t, "M365-DEP");
    t.ck.ok(
        "Set-M365DataAtRestEncryptionPolicyAssignment",
        json!({"DataEncryptionPolicy": "M365-DEP"}),
    );
    wait_assigned(&t, p["DataEncryptionPolicyID"].as_str().unwrap());
    add_data(&t, "TeamsMeetingRecording", "kept");
    let unreachable = |vault: &str, down: bool| {
        t.ck.ok(
            "Set-KeyVault",
            json!({"VaultName": vault, "Unreachable": down}),
        );
    };
    // One vault down and the other's access removed: a customer action, no fallback.
    unreachable(VAULT_A, true);
    assert_eq!(subjects(&data_items(&t)), ["kept"]);
    revoke_m365(&t, VAULT_B);
    assert_eq!(
        t.ck.err("Get-M365DataItem", json!({})).category(),
        "PermissionDenied"
    );
    grant_m365(&t, VAULT_B);
    // Both down: the availability key keeps the data readable, and each use is audited.
    unreachable(VAULT_B, true);
    assert_eq!(subjects(&data_items(&t)), ["kept"]);
    let uses =
        t.ck.session()
            .store()
            .audit_log()
            .unwrap()
            .into_iter()
            .filter(|(_, _, op, target, result)| {
                op == "Get-M365DataItem"
                    && target.contains("availability key used")
                    && result.starts_with("Succeeded")
            })
            .count();
    assert_eq!(uses, 1);
}
