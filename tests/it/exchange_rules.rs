//! Exchange behaviours beyond the seed's main path, through the C ABI: New-DataEncryptionPolicy's
//! checks, the availability key only for unreachable vaults, the purge, a mail user migrated
//! under its pre-assigned policy, identities, and bad input changing nothing.

use crate::common::{Ck, ADMIN};
use crate::exchange_support::*;
use serde_json::json;

#[test]
fn new_policy_checks_name_the_parameter_and_the_rule() {
    let t = tenant("exo-new-checks");
    let one = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P", "AzureKeyIDs": [t.key_a]}),
    );
    assert_eq!(one.category(), "InvalidArgument");
    assert!(
        one.message().contains("AzureKeyIDs") && one.message().contains("at least two"),
        "{}",
        one.message()
    );

    // Two keys in one vault.
    t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": "second", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let second = t.key_a.replace("exo-key", "second");
    let same = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P", "AzureKeyIDs": [t.key_a, second]}),
    );
    assert!(
        same.message().contains("different vault"),
        "{}",
        same.message()
    );

    // A key that cannot wrap.
    t.ck.ok(
        "New-KeyVault",
        json!({"VaultName": "contoso-exo-c", "Location": "westeurope"}),
    );
    let sign_only = t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "contoso-exo-c", "Name": "signer", "KeyOps": ["sign", "verify"]}),
    );
    grant(&t.ck, "contoso-exo-c");
    let e = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P", "AzureKeyIDs": [t.key_a, sign_only["Id"]]}),
    );
    assert!(
        e.message().contains("wrapKey and unwrapKey"),
        "{}",
        e.message()
    );
    assert_eq!(e.error["target"], "AzureKeyIDs");

    // The service principal without permissions on one vault.
    revoke(&t.ck, VAULT_B);
    let e = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert_eq!(e.category(), "PermissionDenied", "{:?}", e.error);
    assert!(
        e.message().contains("AzureKeyIDs") && e.message().contains(EXCHANGE),
        "{}",
        e.message()
    );
    grant(&t.ck, VAULT_B);

    // A vault without soft delete is refused; one without purge protection is a warning.
    t.ck.ok("New-KeyVault", json!({"VaultName": "contoso-exo-nosd", "Location": "westeurope", "DisableSoftDelete": true}));
    let k = t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "contoso-exo-nosd", "Name": "k", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    grant(&t.ck, "contoso-exo-nosd");
    let e = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P", "AzureKeyIDs": [t.key_a, k["Id"]]}),
    );
    assert!(e.message().contains("soft delete"), "{}", e.message());
    t.ck.ok(
        "New-KeyVault",
        json!({"VaultName": "contoso-exo-nopp", "Location": "westeurope"}),
    );
    let k = t.ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "contoso-exo-nopp", "Name": "k", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    grant(&t.ck, "contoso-exo-nopp");
    let p = t.ck.ok(
        "New-DataEncryptionPolicy",
        json!({"Name": "Warned", "AzureKeyIDs": [t.key_a, k["Id"]]}),
    );
    let warnings = p["Warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].as_str().unwrap().contains("purge protection"));

    // A disabled newest version is refused for a versionless id.
    t.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": "exo-key", "Enable": false, "AcceptDataLoss": true}),
    );
    let e = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert!(e.message().contains("not enabled"), "{}", e.message());
    t.ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": "exo-key", "Enable": true}),
    );

    // Names are unique; a failed create leaves nothing behind.
    t.policy("P");
    let dup = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "p", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert_eq!(dup.category(), "ResourceExists");
    let all = t.ck.ok("Get-DataEncryptionPolicy", json!({}));
    let names: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["Name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Warned", "P"]);
}

#[test]
fn availability_key_only_when_both_vaults_are_unreachable_and_it_is_audited() {
    let t = tenant("exo-availability");
    let id = t.policy("DEP")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.mailbox("ada", Some("DEP"));
    t.wait_encrypted_under("ada", &id);
    t.add_item("ada", "kept", "body");

    // One vault down: the other key answers, no availability key.
    t.ck.ok(
        "Set-KeyVault",
        json!({"VaultName": VAULT_A, "Unreachable": true}),
    );
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    let s = t.stats("ada");
    assert_eq!(s["EncryptionState"], "OneKeyAvailable");
    assert_eq!(s["AvailabilityKeyUses"], 0);

    // One vault down and the other's permission removed: a customer action, so no fallback.
    revoke(&t.ck, VAULT_B);
    let e = t.items("ada").unwrap_err();
    assert_eq!(e.category(), "PermissionDenied");
    assert_eq!(t.stats("ada")["AvailabilityKeyUses"], 0);
    grant(&t.ck, VAULT_B);

    // Both vaults down: the availability key keeps the mailbox readable, each use recorded.
    t.ck.ok(
        "Set-KeyVault",
        json!({"VaultName": VAULT_B, "Unreachable": true}),
    );
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    let s = t.stats("ada");
    assert_eq!(s["AvailabilityKeyUses"], 2);
    assert!(s["LastAvailabilityKeyUse"].is_string());
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(t.dir.join("store")),
        user_principal_name: Some(ADMIN.into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    let uses = session
        .store()
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|(_, _, op, target, result)| {
            op == "Get-MailboxItem"
                && target.contains("availability key used")
                && result.starts_with("Succeeded")
        })
        .count();
    assert_eq!(uses, 2);
    drop(session);

    // Back up: the customer keys are used again.
    for v in [VAULT_A, VAULT_B] {
        t.ck.ok(
            "Set-KeyVault",
            json!({"VaultName": v, "Unreachable": false}),
        );
    }
    t.items("ada").unwrap();
    assert_eq!(t.stats("ada")["AvailabilityKeyUses"], 2);
    assert_eq!(t.stats("ada")["EncryptionState"], "Encrypted");

    // Only the vault's owner rehearses an outage.
    let other = Ck::at(&t.dir.join("store"), "eve@contoso.com");
    let e = other.err(
        "Set-KeyVault",
        json!({"VaultName": VAULT_A, "Unreachable": true}),
    );
    assert_eq!(e.category(), "PermissionDenied");
}

#[test]
fn purge_needs_the_service_cut_off_then_destroys_the_data_for_good() {
    let t = tenant("exo-purge");
    let id = t.policy("Doomed")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.mailbox("ada", Some("Doomed"));
    t.wait_encrypted_under("ada", &id);
    t.add_item("ada", "secret", "plans");
    let args = json!({"Identity": "Doomed", "PermanentDataPurgeRequested": true, "PermanentDataPurgeReason": "Leaving", "PermanentDataPurgeContact": "ciso@contoso.com", "Force": true});
    let e = t.ck.err("Set-DataEncryptionPolicy", args.clone());
    assert_eq!(e.code(), "PurgeRefused");
    assert!(e.message().contains(VAULT_A) || e.message().contains(VAULT_B));
    revoke(&t.ck, VAULT_A);
    let e = t.ck.err("Set-DataEncryptionPolicy", args.clone());
    assert!(e.message().contains(VAULT_B), "{}", e.message());
    // Refused: the data is still there once the permission is back.
    grant(&t.ck, VAULT_A);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["secret"]);
    revoke(&t.ck, VAULT_A);
    revoke(&t.ck, VAULT_B);
    let purged = t.ck.ok("Set-DataEncryptionPolicy", args.clone());
    assert_eq!(purged["PermanentDataPurgeRequested"], true);
    assert_eq!(purged["PermanentDataPurgeContact"], "ciso@contoso.com");
    // Even with the permissions back and every vault down, nothing opens the content again.
    grant(&t.ck, VAULT_A);
    grant(&t.ck, VAULT_B);
    let e = t.items("ada").unwrap_err();
    assert_eq!(e.code(), "DataPurged");
    assert!(e.message().contains("purged at the customer's request"));
    assert_eq!(t.stats("ada")["EncryptionState"], "Purged");
    assert_eq!(t.stats("ada")["ItemCount"], 0);
    // The purged policy cannot be assigned or refreshed.
    t.mailbox("bob", None);
    let e = t.ck.err(
        "Set-Mailbox",
        json!({"Identity": "bob", "DataEncryptionPolicy": "Doomed"}),
    );
    assert!(e.message().contains("purged"));
    let e = t.ck.err(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "Doomed", "Refresh": true}),
    );
    assert_eq!(e.code(), "DataPurged");
}

#[test]
fn mail_user_pre_assigned_and_migrated_with_new_move_request() {
    let t = tenant("exo-move");
    let id = t.policy("DEP")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.ck.ok(
        "New-MailUser",
        json!({"Name": "Bob", "Alias": "bob", "PrimarySmtpAddress": "bob@contoso.com"}),
    );
    t.add_item("bob", "on-premises mail", "held for migration");
    t.ck.ok(
        "Set-MailUser",
        json!({"Identity": "bob", "DataEncryptionPolicy": "DEP"}),
    );
    // Pre-assigned only: nothing moves until the migration, though the session's job runner has
    // been through the job table since.
    assert!(t
        .ck
        .session()
        .settle_jobs(std::time::Duration::from_secs(60)));
    let s = t.stats("bob");
    assert_eq!(s["IsEncrypted"], false);
    assert_eq!(s["EncryptionState"], "Pending");
    let mu = t.ck.ok("Get-Mailbox", json!({"Identity": "bob"}));
    assert_eq!(mu[0]["RecipientTypeDetails"], "MailUser");
    assert_eq!(mu[0]["DataEncryptionPolicy"], "DEP");
    // Set-Mailbox is for mailboxes.
    let e = t.ck.err(
        "Set-Mailbox",
        json!({"Identity": "bob", "DataEncryptionPolicy": "DEP"}),
    );
    assert!(e.message().contains("Set-CkMailUser"));

    let mv =
        t.ck.ok("New-MoveRequest", json!({"Identity": "bob@contoso.com"}));
    assert_eq!(mv["Alias"], "bob");
    t.wait_encrypted_under("bob", &id);
    let done = wait_until(|| {
        let s =
            t.ck.ok("Get-MoveRequestStatistics", json!({"Identity": "bob"}));
        (s["Status"] == "Completed").then_some(s)
    });
    assert_eq!(done["PercentComplete"], 100);
    assert!(done["BytesTransferred"].as_i64().unwrap() > 0);
    assert_eq!(
        t.ck.ok("Get-MoveRequest", json!({}))[0]["Status"],
        "Completed"
    );
    assert_eq!(
        t.ck.ok("Get-Mailbox", json!({"Identity": "bob"}))[0]["RecipientTypeDetails"],
        "UserMailbox"
    );
    assert_eq!(t.items("bob").unwrap()[0]["Body"], "held for migration");
    // Encrypted under the policy: revoking both keys makes it unreadable.
    revoke(&t.ck, VAULT_A);
    revoke(&t.ck, VAULT_B);
    assert_eq!(t.items("bob").unwrap_err().category(), "PermissionDenied");
}

#[test]
fn identities_resolve_by_name_alias_smtp_or_guid_and_bad_input_changes_nothing() {
    let t = tenant("exo-identity");
    let dep = t.policy("DEP");
    let mbx = t.mailbox("ada", None);
    let guid = mbx["Guid"].as_str().unwrap();
    for identity in ["User ada", "ada", "ADA@contoso.com", guid] {
        let got = t.ck.ok("Get-Mailbox", json!({"Identity": identity}));
        assert_eq!(got[0]["Guid"], guid, "{identity}");
    }
    // Two mailboxes with one display name: ambiguous, and the assignment changes nothing.
    t.ck.ok(
        "New-Mailbox",
        json!({"Name": "Same", "Alias": "s1", "PrimarySmtpAddress": "s1@contoso.com"}),
    );
    t.ck.ok(
        "New-Mailbox",
        json!({"Name": "Same", "Alias": "s2", "PrimarySmtpAddress": "s2@contoso.com"}),
    );
    let e = t.ck.err(
        "Set-Mailbox",
        json!({"Identity": "Same", "DataEncryptionPolicy": "DEP"}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(e.message().contains("more than one"));
    for a in ["s1", "s2"] {
        assert_eq!(
            t.ck.ok("Get-Mailbox", json!({"Identity": a}))[0]["DataEncryptionPolicy"],
            serde_json::Value::Null
        );
    }
    // Unknown identities.
    assert_eq!(
        t.ck.err("Get-Mailbox", json!({"Identity": "nobody"}))
            .category(),
        "ObjectNotFound"
    );
    assert_eq!(
        t.ck.err(
            "Set-Mailbox",
            json!({"Identity": "ada", "DataEncryptionPolicy": "nope"})
        )
        .category(),
        "ObjectNotFound"
    );
    // Duplicate alias or address.
    let e = t.ck.err(
        "New-Mailbox",
        json!({"Name": "X", "Alias": "ada", "PrimarySmtpAddress": "x@contoso.com"}),
    );
    assert_eq!(e.category(), "ResourceExists");
    // -Replace without -AzureKeyIDs is a parameter-set error.
    let e = t.ck.err(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Replace": true}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(e.message().contains("AzureKeyIDs"), "{}", e.message());
    // A revision id is accepted for assignment and resolves to the policy.
    let rev = dep["DataEncryptionPolicyID"].as_str().unwrap();
    t.ck.ok(
        "Set-Mailbox",
        json!({"Identity": "ada", "DataEncryptionPolicy": rev}),
    );
    assert_eq!(
        t.ck.ok("Get-Mailbox", json!({"Identity": "ada"}))[0]["DataEncryptionPolicy"],
        "DEP"
    );
    t.wait_encrypted_under("ada", rev);
    // Renaming keeps the mailboxes' assignment.
    t.ck.ok(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Name": "DEP-renamed", "Description": "d"}),
    );
    assert_eq!(
        t.ck.ok("Get-Mailbox", json!({"Identity": "ada"}))[0]["DataEncryptionPolicy"],
        "DEP-renamed"
    );
}

#[test]
fn at_most_fifty_policies() {
    let t = tenant("exo-fifty");
    for i in 0..50 {
        t.policy(&format!("P{i}"));
    }
    let e = t.ck.err(
        "New-DataEncryptionPolicy",
        json!({"Name": "P50", "AzureKeyIDs": [t.key_a, t.key_b]}),
    );
    assert_eq!(e.code(), "PolicyLimit");
    assert!(e.message().contains("50"));
    assert_eq!(
        t.ck.ok("Get-DataEncryptionPolicy", json!({}))
            .as_array()
            .unwrap()
            .len(),
        50
    );
}

#[test]
fn the_job_waits_for_unreachable_vaults_instead_of_using_the_availability_key() {
    let t = tenant("exo-job-outage");
    let first = t.policy("DEP")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.mailbox("ada", Some("DEP"));
    t.wait_encrypted_under("ada", &first);
    t.add_item("ada", "kept", "body");
    let Tenant {
        dir,
        ck,
        key_a,
        key_b,
    } = t;
    drop(ck);
    // Refresh in a session that runs no job, then take both vaults down.
    let held = customer_key::Session::open(
        customer_key::SessionOptions {
            store: Some(dir.join("store")),
            user_principal_name: Some(ADMIN.into()),
            time_shift_seconds: None,
            ..Default::default()
        },
        Vec::new(),
        customer_key::vault::open_azure,
    )
    .unwrap();
    let call = |op: &str, args: serde_json::Value| {
        customer_key::registry()
            .call(&held, op, &args)
            .unwrap_or_else(|e| panic!("{op}: {}", e.message))
    };
    let second = call(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Refresh": true}),
    )["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    for v in [VAULT_A, VAULT_B] {
        call("Set-KeyVault", json!({"VaultName": v, "Unreachable": true}));
    }
    let t = Tenant {
        ck: Ck::at(&dir.join("store"), ADMIN),
        dir,
        key_a,
        key_b,
    };
    let job = wait_until(|| {
        let jobs = customer_key::jobs::list(
            held.store(),
            Some(customer_key::exchange::APPLY_POLICY_KIND),
            None,
        )
        .unwrap();
        jobs.into_iter().last().filter(|j| {
            j.last_error
                .as_deref()
                .is_some_and(|e| e.contains("cannot be reached"))
        })
    });
    assert_eq!(job.done, 0);
    let s = t.stats("ada");
    assert_eq!(s["DataEncryptionPolicyID"], first);
    assert_eq!(s["AvailabilityKeyUses"], 0);
    for v in [VAULT_A, VAULT_B] {
        call(
            "Set-KeyVault",
            json!({"VaultName": v, "Unreachable": false}),
        );
    }
    t.wait_encrypted_under("ada", &second);
    assert_eq!(subjects(&t.items("ada").unwrap()), ["kept"]);
    assert_eq!(t.stats("ada")["AvailabilityKeyUses"], 0);
}

#[test]
fn item_text_is_never_stored_or_audited_in_the_clear() {
    let t = tenant("exo-at-rest");
    let id = t.policy("DEP")["DataEncryptionPolicyID"]
        .as_str()
        .unwrap()
        .to_string();
    t.mailbox("ada", None);
    t.add_item("ada", "subject-marker-7f3a", "body-marker-91c2");
    t.ck.ok(
        "Set-Mailbox",
        json!({"Identity": "ada", "DataEncryptionPolicy": "DEP"}),
    );
    t.wait_encrypted_under("ada", &id);
    assert_eq!(t.items("ada").unwrap()[0]["Body"], "body-marker-91c2");
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    let mut bytes = Vec::new();
    for file in ["store.db", "store.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join("store").join(file)) {
            bytes.extend(b);
        }
    }
    assert!(!bytes.is_empty());
    for marker in ["subject-marker-7f3a", "body-marker-91c2"] {
        assert!(
            !bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} is in the store in the clear"
        );
    }
}
