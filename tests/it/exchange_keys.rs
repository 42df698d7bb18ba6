//! What the admin does to keys decides whether mailboxes read: disabled keys, a deleted vault,
//! a policy moved to other keys with -AzureKeyIDs -Replace, and the CLI entry.

use crate::common;

use crate::exchange_support::*;
use serde_json::{json, Value};

fn encrypted_tenant(tag: &str) -> (Tenant, String) {
    let t = tenant(tag);
    let id = t.policy("DEP")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.mailbox("ada", Some("DEP"));
    t.wait_encrypted_under("ada", &id);
    t.add_item("ada", "kept", "body");
    (t, id)
}

#[test]
fn disabled_keys_are_a_customer_action_and_revoke_reads_until_enabled() {
    let (t, _) = encrypted_tenant("exo-disable");
    let e = t.ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "Enable": false}),
    );
    assert!(
        e.message()
            .contains("Exchange 'DEP' (1 mailbox still needs it)"),
        "{}",
        e.message()
    );
    t.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "Enable": false, "AcceptDataLoss": true}),
    );
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    let s = t.stats("ada");
    assert_eq!(s["EncryptionState"], "OneKeyAvailable");
    let bad: Vec<&Value> = s["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["Usable"] == false)
        .collect();
    assert!(
        bad[0]["Reason"].as_str().unwrap().contains("disabled"),
        "{s}"
    );
    t.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": "exo-key", "Enable": false, "AcceptDataLoss": true}),
    );
    let e = t.items("ada").unwrap_err();
    assert_eq!(e.category(), "PermissionDenied");
    assert_eq!(t.stats("ada")["AvailabilityKeyUses"], 0);
    t.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "Enable": true}),
    );
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
}

#[test]
fn a_deleted_vault_leaves_the_other_key_and_is_refused_without_force() {
    let (t, _) = encrypted_tenant("exo-delete-vault");
    let e = t.ck.err("Remove-KeyVault", json!({"VaultName": VAULT_B}));
    assert_eq!(e.code(), "KeyInUse");
    assert!(e.message().contains("Exchange 'DEP'"));
    t.ck.ok(
        "Remove-KeyVault",
        json!({"VaultName": VAULT_B, "AcceptDataLoss": true}),
    );
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    assert_eq!(t.stats("ada")["EncryptionState"], "OneKeyAvailable");
    let p =
        t.ck.ok("Get-DataEncryptionPolicy", json!({"Identity": "DEP"}));
    let usable: Vec<bool> = p[0]["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["Usable"].as_bool().unwrap())
        .collect();
    assert_eq!(usable, [true, false]);
}

#[test]
fn replace_moves_the_policy_to_other_keys_and_the_old_key_stops_mattering() {
    let (t, first) = encrypted_tenant("exo-replace");
    t.ck.ok("New-KeyVault", json!({"VaultName": "contoso-exo-c", "Location": "westeurope", "EnablePurgeProtection": true}));
    let c = t.ck.ok("Add-KeyVaultKey", json!({"VaultName": "contoso-exo-c", "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}));
    grant(&t.ck, "contoso-exo-c");
    let key_c = versionless(c["Id"].as_str().unwrap());
    // A bad key list changes nothing.
    let e = t.ck.err(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "AzureKeyIDs": [t.key_a], "Replace": true}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert_eq!(
        t.ck.ok("Get-DataEncryptionPolicy", json!({"Identity": "DEP"}))[0]
            ["DataEncryptionPolicyID"],
        first
    );

    let p = t.ck.ok(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "AzureKeyIDs": [t.key_a, key_c], "Replace": true}),
    );
    assert_eq!(p["AzureKeyIDs"], json!([t.key_a, key_c]));
    let second = p["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    t.wait_encrypted_under("ada", &second);
    // Vault B no longer protects anything: its key is free and revoking it changes nothing.
    let usage =
        t.ck.ok("Get-KeyVaultKeyUsage", json!({"VaultName": VAULT_B}));
    assert_eq!(usage[0]["InUse"], false, "{usage}");
    revoke(&t.ck, VAULT_B);
    revoke(&t.ck, VAULT_A);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    revoke(&t.ck, "contoso-exo-c");
    assert_eq!(t.items("ada").unwrap_err().category(), "PermissionDenied");
}

#[test]
fn the_cli_reaches_the_exchange_operations() {
    let (t, id) = encrypted_tenant("exo-cli");
    let store = t.dir.join("store");
    drop(t.ck);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "--upn",
            common::ADMIN,
            "Get-MailboxStatistics",
            "-Identity",
            "ada@contoso.com",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stats: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["DataEncryptionPolicyID"], id);
    assert_eq!(stats["IsEncrypted"], true);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .args([
            "--store",
            store.to_str().unwrap(),
            "Set-DataEncryptionPolicy",
            "-Identity",
            "DEP",
            "-Replace",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("AzureKeyIDs"));
}
