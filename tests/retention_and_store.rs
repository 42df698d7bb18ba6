//! Retention and purge protection rehearsed with a shifted clock, the background purger, and
//! the store's refusals (shifted clocks on real stores, a missing master key).

mod common;
use common::*;
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
        json!({"VaultName": "vault-p", "Name": "k", "InRemovedState": true, "Force": true}),
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
