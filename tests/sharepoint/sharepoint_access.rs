//! What SharePoint's access to the customer keys decides, through the C ABI: with one key
//! unusable reads go on and KeyHealth names it; with both revoked every read fails as
//! PermissionDenied; restoring access restores reads (no cached TIK); and after both keys are
//! purged, Restore-SPODataEncryptionPolicy recovers onto keys restored from backups.

use crate::sharepoint_common::*;
use serde_json::{json, Value};
use std::time::Duration;

const SITES: usize = 40;
const LIMIT: Duration = Duration::from_secs(120);

fn health(policy: &Value, key_type: &str) -> Value {
    policy["KeyHealth"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["KeyType"] == key_type)
        .cloned()
        .unwrap()
}

fn registered_tenant(tag: &str) -> Tenant {
    pace_batches(10, 5);
    let t = tenant(tag, SITES, 1);
    t.ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    wait_registered(&t.ck, LIMIT);
    t
}

#[test]
fn one_key_revoked_reads_go_on_both_revoked_reads_fail_and_access_restored_reads_again() {
    let t = registered_tenant("spo-revoke");
    let ck = &t.ck;

    revoke_sharepoint(ck, VAULT_A);
    assert_files_readable(ck, SITES, 1);
    let p = policy(ck);
    let primary = health(&p, "Primary");
    assert_eq!(primary["Healthy"], false);
    assert!(
        primary["Message"].as_str().unwrap().contains("unwrapKey"),
        "{primary}"
    );
    assert_eq!(health(&p, "Secondary")["Healthy"], true);

    revoke_sharepoint(ck, VAULT_B);
    for i in 0..SITES {
        let e = ck.err(
            "Get-SPOFile",
            json!({"Site": site_url(i), "Name": "figures.txt"}),
        );
        assert_eq!(e.category(), "PermissionDenied", "site {i}: {e:?}");
        assert!(!e.message().contains(&file_text(i)));
    }
    let p = policy(ck);
    assert_eq!(health(&p, "Secondary")["Healthy"], false);
    let e = ck.err(
        "New-SPOSite",
        json!({"Url": site_url(SITES), "Title": "No keys"}),
    );
    assert_eq!(e.category(), "PermissionDenied", "{e:?}");
    // A roll cannot start without the current TIK.
    let new_a = add_key(ck, VAULT_A, KEY);
    grant_sharepoint(ck, VAULT_A);
    revoke_sharepoint(ck, VAULT_A);
    let e = ck.err(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": new_a}),
    );
    assert_eq!(e.category(), "PermissionDenied", "{e:?}");

    grant_sharepoint(ck, VAULT_B);
    assert_files_readable(ck, SITES, 1);
    grant_sharepoint(ck, VAULT_A);
    let p = policy(ck);
    assert_eq!(health(&p, "Primary")["Healthy"], true);
    assert_eq!(p["State"], "Registered");

    // Every vault call was audited under SharePoint's service principal, the refused ones as
    // failures, and no audit row holds file content. (Closing the session flushes the audit.)
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    let db = rusqlite::Connection::open(dir.join("store").join("store.db")).unwrap();
    let count = |sql: &str| -> i64 { db.query_row(sql, [SHAREPOINT], |r| r.get(0)).unwrap() };
    assert!(count("SELECT COUNT(*) FROM audit WHERE principal = ?1 AND operation = 'Get-SPOFile' AND result LIKE 'Failed%'") >= SITES as i64);
    assert!(count("SELECT COUNT(*) FROM audit WHERE principal = ?1 AND operation = 'Get-SPOFile' AND result LIKE 'Succeeded%'") > 0);
    let leaked: i64 = db
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE target LIKE '%Quarterly%' OR result LIKE '%Quarterly%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(leaked, 0);
}

#[test]
fn restore_recovers_onto_backups_in_new_vaults_after_both_keys_were_purged() {
    let t = registered_tenant("spo-recover");
    let ck = &t.ck;

    let refused = ck.err(
        "Restore-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    assert_eq!(refused.code(), "KeyStillAvailable", "{refused:?}");

    // Back up both keys, then lose them for good.
    let mut backups = Vec::new();
    for vault in [VAULT_A, VAULT_B] {
        let file = t.dir.join(&format!("{vault}.keybackup"));
        ck.ok(
            "Backup-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY, "OutputFile": file}),
        );
        backups.push(file);
        let refused = ck.err(
            "Remove-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY}),
        );
        assert!(refused.message().contains("SharePoint"));
        ck.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY, "AcceptDataLoss": true}),
        );
        ck.ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": vault, "Name": KEY, "InRemovedState": true, "AcceptDataLoss": true}),
        );
    }
    let e = ck.err(
        "Get-SPOFile",
        json!({"Site": site_url(0), "Name": "figures.txt"}),
    );
    assert_eq!(e.code(), "TenantKeyUnavailable", "{e:?}");

    // Keys restored from the backups into new vaults of the same geographies.
    let new_vaults = ["contoso-spo-a2", "contoso-spo-b2"];
    for ((vault, location), backup) in new_vaults
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
    let uri = |vault: &str, version: &str| {
        format!("https://{vault}.vault.azure.net/keys/{KEY}/{version}")
    };
    let versionless = ck.err(
        "Restore-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultUri": format!("https://{}.vault.azure.net/keys/{KEY}", new_vaults[0]),
            "SecondaryKeyVaultUri": uri(new_vaults[1], &t.version_b),
        }),
    );
    assert_eq!(versionless.error["target"], "PrimaryKeyVaultUri");
    let recovering = ck.ok(
        "Restore-SPODataEncryptionPolicy",
        json!({
            "PrimaryKeyVaultUri": uri(new_vaults[0], &t.version_a),
            "SecondaryKeyVaultUri": uri(new_vaults[1], &t.version_b),
        }),
    );
    assert_eq!(recovering["State"], "Recovering");
    let recovered = wait_registered(ck, LIMIT).pop().unwrap();
    assert_eq!(
        recovered["PrimaryKeyVaultUri"],
        uri(new_vaults[0], &t.version_a)
    );
    assert_eq!(recovered["SitesDone"], SITES as u64);
    assert_eq!(health(&recovered, "Primary")["Healthy"], true);
    assert_eq!(health(&recovered, "Secondary")["Healthy"], true);
    assert_files_readable(ck, SITES, 1);
    // The recovered keys are now the ones SharePoint depends on.
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": new_vaults[0], "Name": KEY}),
    );
    assert!(e.message().contains("SharePoint"), "{e:?}");
}
