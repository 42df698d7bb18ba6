//! Reads and cryptographic calls write nothing on the caller's path, yet every call keeps its
//! audit row (group-committed); and what reads keep in memory never outlives a committed
//! change, whichever session or process made it.

use crate::common::{b64, store_with_vaults, wrap, Ck};
use serde_json::json;

const ADMIN: &str = "admin@contoso.com";

fn audit_rows(store: &std::path::Path, principal: &str) -> i64 {
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    db.query_row(
        "SELECT COUNT(*) FROM audit WHERE principal = ?1",
        [principal],
        |r| r.get(0),
    )
    .unwrap()
}

#[test]
fn every_call_has_its_audit_row_after_ck_close_from_two_threads() {
    let (dir, admin) = store_with_vaults("audit-count", &[("vault-a", "westeurope")]);
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    // store_with_vaults made the vault: two calls so far.
    let mut calls = 2;
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let admin = &admin;
            scope.spawn(move || {
                for i in 0..300 {
                    admin.ok(
                        "Get-KeyVaultKey",
                        json!({"VaultName": "vault-a", "Name": "k"}),
                    );
                    if i % 10 == 0 {
                        wrap(
                            admin,
                            "vault-a",
                            "k",
                            None,
                            b"32 bytes of a content key......",
                        );
                        admin.err(
                            "Get-KeyVaultKey",
                            json!({"VaultName": "vault-a", "Name": "missing"}),
                        );
                        admin.err(
                            "Get-KeyVaultKey",
                            json!({"VaultName": "vault-a", "Bogus": 1}),
                        );
                    }
                }
            });
        }
    });
    calls += 2 * (300 + 30 * 3);
    drop(admin); // ck_close flushes the audit writer
    assert_eq!(audit_rows(&dir.join("store"), ADMIN), calls);
}

#[test]
fn a_thousand_reads_cost_a_handful_of_commits_not_a_thousand() {
    let (dir, admin) = store_with_vaults("audit-wal", &[("vault-a", "westeurope")]);
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let store = dir.join("store");
    let wal = store.join("store.db-wal");
    // Let the writer settle, then empty the WAL: the session holds no transaction now.
    std::thread::sleep(std::time::Duration::from_millis(50));
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    let busy: i64 = db
        .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(busy, 0, "checkpoint blocked");
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), 0);
    let started = std::time::Instant::now();
    for _ in 0..1000 {
        admin.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"}),
        );
    }
    drop(admin); // commits the last batch
                 // The writer commits at most once per batch window (20 ms), plus the final flush.
    let windows = started.elapsed().as_millis() as u64 / 20 + 2;
    let grown = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    let page = 4096 + 24;
    println!(
        "WAL after 1,000 Get-KeyVaultKey: {grown} bytes, {} frames, at most {windows} batch windows",
        grown / page
    );
    // A commit writes the audit table's changed pages: a few frames. A commit per call would
    // write at least 1,000 frames, however fast the calls ran.
    let bound = (8 * windows).min(500);
    assert!(
        grown / page <= bound,
        "the WAL grew {} frames for 1,000 reads (bound {bound})",
        grown / page
    );
    assert_eq!(
        rusqlite::Connection::open(store.join("store.db"))
            .unwrap()
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE operation = 'Get-KeyVaultKey'",
                [],
                |r| r.get::<_, i64>(0)
            )
            .unwrap(),
        1000
    );
}

#[test]
fn no_cached_permission_or_key_state_outlives_a_change_made_by_another_session() {
    let (dir, admin) = store_with_vaults("snapshot", &[("vault-a", "westeurope")]);
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    admin.ok("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com", "PermissionsToKeys": ["get", "wrapKey"]}));
    let bob = Ck::at(&dir.join("store"), "bob@contoso.com");
    let wrap_args = json!({"VaultName": "vault-a", "Name": "k", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(b"x")});
    for _ in 0..3 {
        bob.ok("Invoke-KeyVaultKeyOperation", wrap_args.clone());
        bob.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"}),
        );
    }
    // The admin's session is another store handle (other connections), as another process is.
    admin.ok("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com", "PermissionsToKeys": ["get"]}));
    let e = bob.err("Invoke-KeyVaultKeyOperation", wrap_args.clone());
    assert!(e.message().contains("keys/wrapKey"), "{}", e.message());
    admin.ok("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com", "PermissionsToKeys": ["get", "wrapKey"]}));
    bob.ok("Invoke-KeyVaultKeyOperation", wrap_args.clone());
    admin.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Enable": false, "AcceptDataLoss": true}),
    );
    assert_eq!(
        bob.err("Invoke-KeyVaultKeyOperation", wrap_args.clone())
            .code(),
        "KeyDisabled"
    );
    let seen = bob.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!(seen[0]["Enabled"], false);
    // A roll is seen at once too.
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let after = bob.ok("Invoke-KeyVaultKeyOperation", wrap_args);
    let newest = admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!(after["KeyId"], newest[0]["Id"]);
}

#[test]
fn every_workload_call_has_exactly_one_row_of_the_caller_reads_included() {
    let (dir, admin) = store_with_vaults("audit-workloads", &[("vault-a", "westeurope")]);
    let calls: Vec<(&str, serde_json::Value)> = vec![
        (
            "New-Mailbox",
            json!({"Name": "Ada", "Alias": "ada", "PrimarySmtpAddress": "ada@contoso.com"}),
        ),
        (
            "Add-MailboxItem",
            json!({"Identity": "ada", "Subject": "s", "Body": "b"}),
        ),
        ("Get-MailboxItem", json!({"Identity": "ada"})),
        ("Get-Mailbox", json!({})),
        (
            "Get-MailboxStatistics",
            json!({"Identity": "ada@contoso.com"}),
        ),
        ("Get-DataEncryptionPolicy", json!({})),
        (
            "New-SPOSite",
            json!({"Url": "https://contoso.sharepoint.com/sites/a", "Title": "A"}),
        ),
        (
            "Add-SPOFile",
            json!({"Site": "https://contoso.sharepoint.com/sites/a", "Name": "f.txt", "Value": "x"}),
        ),
        (
            "Get-SPOFile",
            json!({"Site": "https://contoso.sharepoint.com/sites/a", "Name": "f.txt"}),
        ),
        ("Get-SPOSite", json!({})),
        ("Get-SPODataEncryptionPolicy", json!({})),
        ("Get-AipServiceKeys", json!({})),
        ("Get-ServicePrincipal", json!({})),
        ("Get-KeyVault", json!({})),
    ];
    for (op, args) in &calls {
        admin.ok(op, args.clone());
    }
    drop(admin);
    // store_with_vaults made the vault: one call before these.
    assert_eq!(
        audit_rows(&dir.join("store"), ADMIN),
        1 + calls.len() as i64
    );
    let db = rusqlite::Connection::open(dir.join("store").join("store.db")).unwrap();
    for (op, _) in &calls {
        let n: i64 = db
            .query_row(
                "SELECT COUNT(*) FROM audit WHERE principal = ?1 AND operation = ?2 AND result LIKE 'Succeeded%'",
                [ADMIN, op],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1, "{op}");
    }
}
