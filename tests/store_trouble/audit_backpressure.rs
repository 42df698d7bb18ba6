//! The audit writer never drops a row: while the store refuses its commits rows wait, up to a
//! bound; past it a call fails with AuditUnavailable instead of returning an unaudited result.
//! Its own test binary: the store's busy timeout is shortened for it (a test hook), which
//! other tests sharing a process must not get.

use crate::common::{store_with_vaults, Ck};
use customer_key::store::TEST_BUSY_TIMEOUT_ENV;
use serde_json::json;

/// The audit writer never drops a row: while the store refuses its commits (another
/// connection holds the write lock) rows wait, up to a bound; past it a call fails with
/// AuditUnavailable instead of returning an unaudited result, and once the lock is gone every
/// call that succeeded has its row.
#[test]
fn a_call_that_cannot_be_audited_fails_and_no_queued_row_is_lost() {
    // The writer's commits then fail within about a second of the lock, not after 5 x 10 s.
    std::env::set_var(TEST_BUSY_TIMEOUT_ENV, "200");
    let (dir, admin): (_, Ck) = store_with_vaults("audit-full", &[("vault-a", "westeurope")]);
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let store = dir.join("store");
    std::thread::sleep(std::time::Duration::from_millis(50));
    let lock = rusqlite::Connection::open(store.join("store.db")).unwrap();
    lock.execute_batch("BEGIN IMMEDIATE").unwrap();
    let mut succeeded: i64 = 0;
    let refused = loop {
        match admin.call(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"}),
        ) {
            Ok(_) => succeeded += 1,
            Err(e) => break e,
        }
        assert!(
            succeeded <= 200_000,
            "the queue never filled: rows are dropped or unbounded"
        );
    };
    assert_eq!(refused.code(), "AuditUnavailable", "{}", refused.message());
    assert_eq!(refused.category(), "WriteError");
    assert!(
        refused.message().contains("withheld"),
        "{}",
        refused.message()
    );
    assert!(succeeded >= 60_000, "refused after only {succeeded} calls");
    lock.execute_batch("ROLLBACK").unwrap();
    drop(lock);
    // The writer commits what waited (after its busy wait for the lock ends); then calls are
    // audited again.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        match admin.call(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"}),
        ) {
            Ok(_) => break,
            Err(e) if e.code() == "AuditUnavailable" && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            Err(e) => panic!("after the lock ended: {}", e.message()),
        }
    }
    succeeded += 1;
    drop(admin);
    let rows: i64 = rusqlite::Connection::open(store.join("store.db"))
        .unwrap()
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE operation = 'Get-KeyVaultKey'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(
        rows, succeeded,
        "every call that returned a result has its row, no other"
    );
}
