//! A change whose job stopped (cancelled, or failed after its retries) leaves the policy in its
//! state with the progress made; other changes are refused saying so, and asking for the same
//! change again resumes it from where it stopped.

use crate::sharepoint_common::*;
use customer_key::jobs::{self, JobState};
use customer_key::store::Store;
use serde_json::json;
use std::time::Duration;

const SITES: usize = 200;

#[test]
fn a_cancelled_roll_is_resumed_by_the_same_update() {
    pace_batches(10, 30);
    let t = tenant("spo-resume", SITES, 4);
    let ck = &t.ck;
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    wait_registered(ck, Duration::from_secs(120));
    let new_a = add_key(ck, VAULT_A, KEY);
    let roll =
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": new_a});
    ck.ok("Update-SPODataEncryptionPolicy", roll.clone());

    let store = Store::open(&t.dir.join("store"), false).unwrap();
    let job = jobs::list(&store, Some("sharepoint-rewrap"), None)
        .unwrap()
        .pop()
        .unwrap();
    assert!(jobs::cancel(&store, job.id, 0).unwrap(), "{job:?}");
    assert_eq!(
        jobs::get(&store, job.id).unwrap().unwrap().state,
        JobState::Cancelled
    );

    let stopped = policy(ck);
    assert_eq!(stopped["State"], "Rolling");
    let done = stopped["SitesDone"].as_u64().unwrap();
    assert!(done < SITES as u64, "{stopped}");
    // Sites on either TIK stay readable while the roll is stopped.
    assert_files_readable(ck, SITES, 4);
    // Which key versions the sites still depend on: the old primary for those not yet moved.
    let usage = |p: &serde_json::Value, version: &str| {
        p["KeyUsage"]
            .as_array()
            .unwrap()
            .iter()
            .find(|u| u["KeyId"].as_str().unwrap().ends_with(version))
            .map(|u| u["Sites"].as_u64().unwrap())
    };
    assert_eq!(usage(&stopped, &t.version_a), Some(SITES as u64 - done));
    assert_eq!(usage(&stopped, &new_a), Some(done));
    assert_eq!(usage(&stopped, &t.version_b), Some(SITES as u64));

    let other = add_key(ck, VAULT_A, KEY);
    let refused = ck.err(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": other}),
    );
    assert_eq!(refused.category(), "ResourceBusy");
    assert!(
        refused.message().contains("stopped before it finished")
            && refused
                .message()
                .contains("Repeat the same Update-SPODataEncryptionPolicy"),
        "{}",
        refused.message()
    );

    let resumed = ck.ok("Update-SPODataEncryptionPolicy", roll);
    assert!(resumed["SitesDone"].as_u64().unwrap() >= done);
    let rolled = wait_registered(ck, Duration::from_secs(120)).pop().unwrap();
    assert!(rolled["PrimaryKeyVaultUri"]
        .as_str()
        .unwrap()
        .ends_with(&new_a));
    assert_eq!(rolled["SitesDone"], SITES as u64);
    assert_eq!(
        usage(&rolled, &t.version_a),
        None,
        "the old version is no longer needed"
    );
    assert_eq!(usage(&rolled, &new_a), Some(SITES as u64));
    assert_files_readable(ck, SITES, 4);
}

#[test]
fn a_roll_that_loses_both_keys_mid_way_shows_the_error_and_finishes_once_access_returns() {
    pace_batches(10, 30);
    let t = tenant("spo-retry", SITES, 4);
    let ck = &t.ck;
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    wait_registered(ck, Duration::from_secs(120));
    let new_a = add_key(ck, VAULT_A, KEY);
    ck.ok(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": new_a}),
    );
    revoke_sharepoint(ck, VAULT_A);
    revoke_sharepoint(ck, VAULT_B);
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let failing = loop {
        let p = policy(ck);
        if !p["LastError"].is_null() {
            break p;
        }
        assert_ne!(
            p["State"], "Registered",
            "the roll finished before access was revoked"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "no error was recorded: {p}"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(failing["State"], "Rolling");
    assert!(
        failing["LastError"]
            .as_str()
            .unwrap()
            .contains("TenantKeyUnavailable"),
        "{failing}"
    );
    // The runner retries with backoff: access restored within its retries, the roll finishes.
    grant_sharepoint(ck, VAULT_A);
    grant_sharepoint(ck, VAULT_B);
    let rolled = wait_registered(ck, Duration::from_secs(120)).pop().unwrap();
    assert_eq!(rolled["SitesDone"], SITES as u64);
    assert!(rolled["LastError"].is_null(), "{rolled}");
    assert_files_readable(ck, SITES, 4);
}

#[test]
fn both_keys_lost_during_a_stopped_roll_are_recovered_with_restore() {
    pace_batches(10, 30);
    let t = tenant("spo-lost-mid-roll", SITES, 4);
    let ck = &t.ck;
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    wait_registered(ck, Duration::from_secs(120));
    let new_a = add_key(ck, VAULT_A, KEY);
    ck.ok(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": new_a}),
    );
    let store = Store::open(&t.dir.join("store"), false).unwrap();
    let job = jobs::list(&store, Some("sharepoint-rewrap"), None)
        .unwrap()
        .pop()
        .unwrap();
    assert!(jobs::cancel(&store, job.id, 0).unwrap());
    let stopped = policy(ck);
    assert_eq!(stopped["State"], "Rolling");
    assert!(stopped["SitesDone"].as_u64().unwrap() < SITES as u64);

    // Both keys (every version) backed up, then purged; sites are on two TIKs now.
    let mut backups = Vec::new();
    for vault in [VAULT_A, VAULT_B] {
        let file = t.dir.join(&format!("{vault}.keybackup"));
        ck.ok(
            "Backup-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY, "OutputFile": file}),
        );
        backups.push(file);
        ck.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY, "AcceptDataLoss": true}),
        );
        ck.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY, "InRemovedState": true, "AcceptDataLoss": true}),
        );
    }
    for ((vault, location), backup) in ["contoso-spo-a2", "contoso-spo-b2"]
        .iter()
        .zip(["westeurope", "northeurope"])
        .zip(&backups)
    {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location}),
        );
        ck.ok(
            "Restore-KeyVaultKey",
            json!({"VaultName": vault, "InputFile": backup}),
        );
        grant_sharepoint(ck, vault);
    }
    let recovering = ck.ok(
        "Restore-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultName": "contoso-spo-a2", "PrimaryKeyName": KEY, "PrimaryKeyVersion": new_a,
            "SecondaryKeyVaultName": "contoso-spo-b2", "SecondaryKeyName": KEY, "SecondaryKeyVersion": t.version_b,
        }),
    );
    assert_eq!(recovering["State"], "Recovering");
    let recovered = wait_registered(ck, Duration::from_secs(120)).pop().unwrap();
    assert_eq!(recovered["SitesDone"], SITES as u64);
    assert!(recovered["PrimaryKeyVaultUri"]
        .as_str()
        .unwrap()
        .starts_with("https://contoso-spo-a2.vault.azure.net/"));
    assert_files_readable(ck, SITES, 4);
}
