//! Get-KeyVaultKeyUsage and the safety rails over key_references: after a roll and a refresh,
//! the old versions stay needed (with the count of mailboxes not yet moved) until the job moved
//! the last one, then show as unused; disabling or removing a needed version is refused without
//! -Force, naming the policy and the mailbox count. A session without Exchange's job kinds
//! holds the job back, so the "not yet moved" state is observed without timing.

use crate::common::{Ck, ADMIN};
use crate::exchange_support::*;
use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};

fn call(session: &Session, op: &str, args: Value) -> Value {
    customer_key::registry()
        .call(session, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message))
}

fn usage_of(rows: &Value, version: &str) -> Value {
    rows.as_array()
        .unwrap()
        .iter()
        .find(|r| r["Version"] == version)
        .cloned()
        .unwrap_or_else(|| panic!("no row for {version} in {rows}"))
}

#[test]
fn old_versions_stay_needed_until_the_last_mailbox_moved_then_show_unused() {
    let t = tenant("exo-usage");
    let dep = t.policy("DEP-U");
    let first = dep["DataEncryptionPolicyID"].as_str().unwrap().to_string();
    for who in ["m1", "m2", "m3"] {
        t.mailbox(who, Some("DEP-U"));
        t.add_item(who, who, "body");
    }
    for who in ["m1", "m2", "m3"] {
        t.wait_encrypted_under(who, &first);
    }
    let old_a = t.ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    let old_a = old_a.get(0).cloned().unwrap_or(old_a)["Version"]
        .as_str()
        .unwrap()
        .to_string();
    let usage = t.ck.ok(
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    let row = usage_of(&usage, &old_a);
    assert_eq!(row["InUse"], true);
    assert_eq!(row["MailboxesNeedingIt"], 3);
    assert_eq!(row["Impact"], "1 policy, 3 mailboxes");
    assert_eq!(row["Policies"], json!(["Exchange 'DEP-U'"]));

    // Disabling the version a policy needs is refused, naming the policy and the mailboxes.
    let e = t.ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "Enable": false}),
    );
    assert_eq!(e.code(), "KeyInUse");
    assert!(
        e.message()
            .contains("Exchange 'DEP-U' (3 mailboxes still need it)"),
        "{}",
        e.message()
    );
    let e = t.ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    assert!(e.message().contains("3 mailboxes"), "{}", e.message());
    drop(t.ck);

    // Roll and refresh in a session that runs no Exchange job: the mailboxes stay behind.
    let held = Session::open(
        SessionOptions {
            store: Some(t.dir.join("store")),
            user_principal_name: Some(ADMIN.into()),
            time_shift_seconds: None,
            ..Default::default()
        },
        Vec::new(),
        customer_key::vault::open_azure,
    )
    .unwrap();
    let rolled = call(
        &held,
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let new_a = rolled["Version"].as_str().unwrap().to_string();
    let second = call(
        &held,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP-U", "Refresh": true}),
    )["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    let usage = call(
        &held,
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    assert_eq!(usage_of(&usage, &old_a)["MailboxesNeedingIt"], 3, "{usage}");
    assert_eq!(usage_of(&usage, &old_a)["SafeToDisable"], false);
    assert_eq!(usage_of(&usage, &new_a)["InUse"], true);
    assert_eq!(usage_of(&usage, &new_a)["MailboxesNeedingIt"], 0);
    let s = call(&held, "Get-MailboxStatistics", json!({"Identity": "m1"}));
    assert_eq!(s["DataEncryptionPolicyID"], first);
    assert_eq!(s["IsEncrypted"], false);
    assert_eq!(s["EncryptionState"], "Pending");
    // Readable meanwhile, under the old revision.
    assert_eq!(
        call(&held, "Get-MailboxItem", json!({"Identity": "m2"}))[0]["Subject"],
        "m2"
    );
    drop(held);

    // Any session with the job kinds resumes the job.
    let ck = Ck::at(&t.dir.join("store"), ADMIN);
    let t = Tenant {
        dir: t.dir,
        ck,
        key_a: t.key_a,
        key_b: t.key_b,
    };
    for who in ["m1", "m2", "m3"] {
        t.wait_encrypted_under(who, &second);
        assert_eq!(subjects(&t.items(who).unwrap()), [who]);
    }
    let usage = t.ck.ok(
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Name": "exo-key"}),
    );
    let old = usage_of(&usage, &old_a);
    assert_eq!(old["InUse"], false, "{usage}");
    assert_eq!(old["SafeToDisable"], true);
    assert_eq!(old["Impact"], "nothing");
    assert_eq!(usage_of(&usage, &new_a)["MailboxesNeedingIt"], 3);
    // Nothing was deleted, and the old version may now be disabled without -Force.
    assert_eq!(usage.as_array().unwrap().len(), 2);
    t.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "exo-key", "Version": old_a, "Enable": false}),
    );
    assert_eq!(subjects(&t.items("m1").unwrap()), ["m1"]);
    // Key B's only version stays needed by the new revision.
    let b =
        t.ck.ok("Get-KeyVaultKeyUsage", json!({"VaultName": VAULT_B}));
    assert_eq!(b.as_array().unwrap().len(), 1);
    assert_eq!(b[0]["MailboxesNeedingIt"], 3);
    // Bad input.
    let e = t.ck.err(
        "Get-KeyVaultKeyUsage",
        json!({"VaultName": VAULT_A, "Version": old_a}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert_eq!(
        t.ck.err(
            "Get-KeyVaultKeyUsage",
            json!({"VaultName": VAULT_A, "Name": "nope"})
        )
        .category(),
        "ObjectNotFound"
    );
}
