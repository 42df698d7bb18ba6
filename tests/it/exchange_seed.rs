//! The seed scenario end to end through the C ABI: two vaults and keys, the Exchange service
//! principal's permissions, a policy, mailboxes with items, assignment reaching IsEncrypted,
//! a key roll with -Refresh changing DataEncryptionPolicyID (the old id still resolving),
//! items readable throughout, one key revoked (OneKeyAvailable), both (PermissionDenied),
//! restored.

use crate::exchange_support::*;
use serde_json::json;

#[test]
fn seed_scenario_assign_roll_refresh_revoke_restore() {
    let t = tenant("exo-seed");
    let dep = t.policy("EXO-DEP-1");
    assert_eq!(dep["Name"], "EXO-DEP-1");
    assert_eq!(dep["Enabled"], true);
    assert_eq!(dep["KeyHealth"].as_array().unwrap().len(), 2);
    assert!(
        dep["KeyHealth"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k["Usable"] == true),
        "{dep}"
    );
    let first_id = dep["DataEncryptionPolicyID"].as_str().unwrap().to_string();

    t.mailbox("ada", None);
    t.mailbox("bob", None);
    t.add_item("ada", "Q3", "figures");
    t.add_item("bob", "Hello", "world");
    let before = t.stats("ada@contoso.com");
    assert_eq!(before["IsEncrypted"], false);
    assert_eq!(before["EncryptionState"], "Unencrypted");
    assert_eq!(before["ItemCount"], 1);

    for who in ["ada", "bob"] {
        t.ck.ok(
            "Set-Mailbox",
            json!({"Identity": who, "DataEncryptionPolicy": "EXO-DEP-1"}),
        );
    }
    let mbx = t.ck.ok("Get-Mailbox", json!({"Identity": "ada"}));
    assert_eq!(mbx[0]["DataEncryptionPolicy"], "EXO-DEP-1");
    assert_eq!(mbx[0]["RecipientTypeDetails"], "UserMailbox");
    let s = t.wait_encrypted_under("ada", &first_id);
    assert_eq!(s["EncryptionState"], "Encrypted");
    t.wait_encrypted_under("bob", &first_id);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["Q3"]);
    assert_eq!(t.items("bob").unwrap()[0]["Body"], "world");

    // Roll key A, refresh: a new revision, each mailbox moves to it.
    t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let refreshed = t.ck.ok(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "EXO-DEP-1", "Refresh": true}),
    );
    let second_id = refreshed["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(second_id, first_id);
    assert_eq!(refreshed["MailboxCount"], 2);
    t.wait_encrypted_under("ada", &second_id);
    t.wait_encrypted_under("bob", &second_id);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["Q3"]);
    // Both revision ids resolve to the policy.
    for id in [&first_id, &second_id] {
        let p = t.ck.ok("Get-DataEncryptionPolicy", json!({"Identity": id}));
        assert_eq!(p[0]["Name"], "EXO-DEP-1", "{id}");
    }
    // The new revision uses key A's new version.
    let newest_a = t.ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    let newest_a = if newest_a.is_array() {
        newest_a[0].clone()
    } else {
        newest_a
    };
    let p =
        t.ck.ok("Get-DataEncryptionPolicy", json!({"Identity": "EXO-DEP-1"}));
    let health_ids: Vec<&str> = p[0]["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["Id"].as_str().unwrap())
        .collect();
    assert!(
        health_ids.contains(&newest_a["Id"].as_str().unwrap()),
        "{health_ids:?}"
    );

    // One key revoked: reads go on, the state says which key fails.
    revoke(&t.ck, VAULT_A);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["Q3"]);
    let s = t.stats("ada");
    assert_eq!(s["EncryptionState"], "OneKeyAvailable");
    let failing: Vec<_> = s["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["Usable"] == false)
        .collect();
    assert_eq!(failing.len(), 1);
    assert!(failing[0]["Id"].as_str().unwrap().contains(VAULT_A));
    assert!(
        failing[0]["Reason"]
            .as_str()
            .unwrap()
            .to_lowercase()
            .contains("wrapkey"),
        "{s}"
    );

    // Both revoked: nothing readable, PermissionDenied.
    revoke(&t.ck, VAULT_B);
    for who in ["ada", "bob"] {
        let e = t.items(who).unwrap_err();
        assert_eq!(e.category(), "PermissionDenied", "{:?}", e.error);
        assert!(e.message().contains("EXO-DEP-1"));
    }
    assert_eq!(t.stats("ada")["EncryptionState"], "Unreadable");
    // The availability key never covers a customer's revocation.
    assert_eq!(t.stats("ada")["AvailabilityKeyUses"], 0);

    // Restoring either permission restores reads at once (no cached key).
    grant(&t.ck, VAULT_B);
    assert_eq!(subjects(&t.items("bob").unwrap()), ["Hello"]);
    assert_eq!(t.stats("bob")["EncryptionState"], "OneKeyAvailable");
}

#[test]
fn unassigning_goes_back_to_the_microsoft_managed_key_with_items_kept() {
    let t = tenant("exo-unassign");
    let dep = t.policy("DEP");
    let id = dep["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    t.mailbox("cy", Some("DEP"));
    t.wait_encrypted_under("cy", &id);
    t.add_item("cy", "one", "1");
    t.ck.ok("Set-Mailbox", json!({"Identity": "cy"}));
    wait_until(|| (t.stats("cy")["EncryptionState"] == "Unencrypted").then_some(()));
    // Under the Microsoft-managed key the customer keys no longer matter.
    revoke(&t.ck, VAULT_A);
    revoke(&t.ck, VAULT_B);
    assert_eq!(subjects(&t.items("cy").unwrap()), ["one"]);
    assert_eq!(
        t.ck.ok("Get-Mailbox", json!({"Identity": "cy"}))[0]["DataEncryptionPolicy"],
        serde_json::Value::Null
    );
}
