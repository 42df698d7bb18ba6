//! Retention and purge protection rehearsed with a shifted clock, the background purger, and
//! the store's refusals (shifted clocks on real stores, a missing master key).

use crate::common::*;
use serde_json::json;

#[test]
fn purge_protection_forbids_purge_until_retention_ends() {
    let dir = TempDir::new("purgeprot");
    let store = dir.join("store");
    // A rehearsal store: created with TimeShiftSeconds, so later sessions may shift the clock.
    let ck = Ck::open(json!({"Store": store, "UserPrincipalName": ADMIN, "TimeShiftSeconds": 0}))
        .unwrap();
    let vault = ck.ok("New-KeyVault", json!({"VaultName": "vault-p", "Location": "westeurope", "EnablePurgeProtection": true, "SoftDeleteRetentionInDays": 7}));
    assert_eq!(vault["EnablePurgeProtection"], true);
    let k = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-p", "Name": "k"}),
    );
    assert_eq!(k["RecoveryLevel"], "CustomizedRecoverable");
    assert_eq!(k["RecoverableDays"], 7);
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-p", "Name": "k"}),
    );
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-p", "Name": "k", "InRemovedState": true}),
    );
    assert_eq!((e.code(), e.category()), ("Forbidden", "PermissionDenied"));
    assert!(e.message().contains("purge protection"));
    // -Force does not override purge protection.
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-p", "Name": "k", "InRemovedState": true, "AcceptDataLoss": true}),
    );
    assert_eq!(e.code(), "Forbidden");
    drop(ck);

    // Six days later the key is still recoverable; eight days later the system purged it.
    let six_days = Ck::open(
        json!({"Store": store, "UserPrincipalName": ADMIN, "TimeShiftSeconds": 6 * 86_400}),
    )
    .unwrap();
    assert_eq!(
        six_days
            .ok(
                "Get-KeyVaultKey",
                json!({"VaultName": "vault-p", "InRemovedState": true})
            )
            .as_array()
            .unwrap()
            .len(),
        1
    );
    drop(six_days);
    let eight_days = Ck::open(
        json!({"Store": store, "UserPrincipalName": ADMIN, "TimeShiftSeconds": 8 * 86_400}),
    )
    .unwrap();
    assert_eq!(
        eight_days
            .ok(
                "Get-KeyVaultKey",
                json!({"VaultName": "vault-p", "InRemovedState": true})
            )
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The name is free again.
    eight_days.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-p", "Name": "k"}),
    );
}

#[test]
fn the_engine_purges_in_the_background_while_a_session_is_idle() {
    let dir = TempDir::new("bgpurge");
    let store = dir.join("store");
    let ck = Ck::open(json!({"Store": store, "UserPrincipalName": ADMIN, "TimeShiftSeconds": 0}))
        .unwrap();
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-a", "Location": "westeurope", "SoftDeleteRetentionInDays": 7}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    drop(ck);
    let deleted_keys = || -> i64 {
        let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
        db.query_row(
            "SELECT COUNT(*) FROM keys WHERE deleted_date IS NOT NULL",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    assert_eq!(deleted_keys(), 1);
    // A session whose clock is past the retention, making no call at all: the purger runs.
    let _later = Ck::open(
        json!({"Store": store, "UserPrincipalName": ADMIN, "TimeShiftSeconds": 8 * 86_400}),
    )
    .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while deleted_keys() != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the background purger did not purge the expired key"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    let audited: i64 = db
        .query_row("SELECT COUNT(*) FROM audit WHERE operation = 'Purge-Expired' AND principal = 'CustomerKey engine'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(audited, 1);
}

#[test]
fn only_rehearsal_stores_accept_a_shifted_clock() {
    let dir = TempDir::new("rehearsal");
    let store = dir.join("store");
    let ck = Ck::at(&store, ADMIN);
    ck.ok("New-KeyVault", json!({"VaultName": "vault-a", "Location": "westeurope", "EnablePurgeProtection": true, "SoftDeleteRetentionInDays": 7}));
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    drop(ck);
    // A shifted clock on a store of real keys would purge past purge protection: refused.
    let e = Ck::open(json!({"Store": store, "UserPrincipalName": "stranger@evil.com", "TimeShiftSeconds": 700_000})).err().unwrap();
    assert_eq!(e.code(), "NotARehearsalStore");
    assert!(e.message().contains("TimeShiftSeconds"));
    let ck = Ck::at(&store, ADMIN);
    assert_eq!(
        ck.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "InRemovedState": true})
        )
        .as_array()
        .unwrap()
        .len(),
        1
    );
    // A zero shift changes nothing and is accepted.
    Ck::open(json!({"Store": store, "TimeShiftSeconds": 0})).unwrap();
}

#[test]
fn a_store_whose_master_key_is_missing_is_refused_not_reinitialised() {
    let dir = TempDir::new("nomaster");
    let store = dir.join("store");
    let ck = Ck::at(&store, ADMIN);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-a", "Location": "westeurope"}),
    );
    drop(ck);
    std::fs::rename(store.join("master.key"), dir.join("master.key.saved")).unwrap();
    let e = Ck::open(json!({"Store": store})).err().unwrap();
    assert!(
        e.message().contains("master.key is missing") || e.message().contains("restore master.key"),
        "{e:?}"
    );
    assert!(
        !store.join("master.key").exists(),
        "no new master key was made"
    );
    std::fs::rename(dir.join("master.key.saved"), store.join("master.key")).unwrap();
    Ck::at(&store, ADMIN).ok("Get-KeyVault", json!({"VaultName": "vault-a"}));
}

/// Everything schema 1 made; what a later migration adds is dropped to make a schema-1 store.
const SCHEMA_1_OBJECTS: &[&str] = &[
    "meta",
    "vaults",
    "access_policies",
    "keys",
    "key_versions",
    "keys_purge",
    "vaults_purge",
    "key_references",
    "key_references_key",
    "audit",
    "audit_no_update",
    "audit_no_delete",
];

#[test]
fn a_schema_1_store_with_keys_migrates_and_its_keys_still_work() {
    let dir = TempDir::new("schema1");
    let store = dir.join("store");
    let ck = Ck::at(&store, ADMIN);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-a", "Location": "westeurope"}),
    );
    let mut wrapped = Vec::new();
    for _ in 0..2 {
        ck.ok(
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"}),
        );
        wrapped.push(wrap(&ck, "vault-a", "k", None, b"old store"));
    }
    drop(ck);
    {
        // Back to schema 1, with the duplicate seq that schema 1 allowed.
        let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
        let later: Vec<(String, String)> = db
            .prepare("SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'")
            .unwrap()
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .unwrap()
            .map(|r| r.unwrap())
            .filter(|(_, name)| !SCHEMA_1_OBJECTS.contains(&name.as_str()))
            .collect();
        assert!(
            later.iter().any(|(_, name)| name == "key_versions_seq"),
            "{later:?}"
        );
        for (kind, name) in later {
            // IF EXISTS: dropping a later table drops its indexes and triggers with it.
            db.execute_batch(&format!("DROP {kind} IF EXISTS \"{name}\""))
                .unwrap();
        }
        // Columns later migrations add to schema-1 tables (6: exchange; 8: RBAC vaults).
        for (table, column) in [
            ("key_references", "needed_by"),
            ("key_references", "detail"),
            ("vaults", "unreachable"),
            ("vaults", "rbac"),
        ] {
            db.execute_batch(&format!("ALTER TABLE {table} DROP COLUMN {column}"))
                .unwrap();
        }
        db.execute_batch("UPDATE key_versions SET seq = 1; PRAGMA user_version = 1;")
            .unwrap();
    }
    let ck = Ck::at(&store, ADMIN);
    let versions = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "IncludeVersions": true}),
    );
    assert_eq!(versions.as_array().unwrap().len(), 2);
    for w in &wrapped {
        let key_id = w["KeyId"].as_str().unwrap();
        let version = key_id.rsplit('/').next().unwrap();
        let opened = unwrap(
            &ck,
            "vault-a",
            "k",
            version,
            w["RawResult"].as_str().unwrap(),
        );
        assert_eq!(opened.unwrap()["RawResult"], b64(b"old store"));
    }
    // A roll after the migration gets the next number, and the numbers are one per version.
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    drop(ck);
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    let seqs: Vec<i64> = db
        .prepare("SELECT seq FROM key_versions WHERE name = 'k' ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(seqs, vec![1, 2, 3]);
    let schema: i64 = db
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(schema >= 2, "schema {schema}");
}
