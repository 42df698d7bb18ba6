//! Upgrades keep the store: a store written by the previous release (the committed fixture in
//! tests/data/store-schema-7, see its README.md) opens with this library, is migrated to the
//! current schema in that one open and everything in it still reads and works; a store written
//! by a newer release is refused with StoreVersionTooNew and left exactly as it was.

use crate::common::{b64, store_with_vaults, unwrap, wrap, Ck, TempDir, ADMIN};
use customer_key::store::SCHEMA_VERSION;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The committed store and the schema version it was written with.
const FIXTURE: &str = "tests/data/store-schema-7";
const FIXTURE_SCHEMA: i64 = 7;
const FIXTURE_PLAINTEXT: &[u8] = b"fixture plaintext, not a secret";
const VAULT_A: &str = "contoso-fixture-a";
const VAULT_B: &str = "contoso-fixture-b";
const KEY: &str = "fixture-key";

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(FIXTURE)
}

/// Copies the fixture's store to `to` with the modes the engine requires (git keeps none):
/// the folder 0700, its files 0600.
fn copy_fixture_store(to: &Path) {
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    let mut names = Vec::new();
    for entry in std::fs::read_dir(fixture_dir().join("store")).unwrap() {
        let entry = entry.unwrap();
        assert!(entry.file_type().unwrap().is_file(), "{:?}", entry.path());
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
        names.push(entry.file_name().into_string().unwrap());
    }
    names.sort();
    // A checkpointed store: no write-ahead log that could hide the data from the header.
    assert_eq!(names, ["master.key", "store.db"]);
}

fn user_version(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

/// The fixture's wrapped value for a version: (version id, base64 ciphertext).
fn fixture_wrap(file: &str) -> (String, String) {
    let text = std::fs::read_to_string(fixture_dir().join(file)).unwrap();
    let answer: Value = serde_json::from_str(&text).unwrap();
    let key_id = answer["KeyId"].as_str().unwrap();
    let version = key_id.rsplit('/').next().unwrap().to_string();
    (version, answer["RawResult"].as_str().unwrap().to_string())
}

#[test]
fn the_previous_releases_store_opens_migrated_in_one_go_and_its_data_still_works() {
    let dir = TempDir::new("upgrade");
    let store = dir.join("store");
    copy_fixture_store(&store);
    let db = store.join("store.db");
    // The baseline: the fixture is at most as new as this library (a newer library has more
    // migrations to run on it; none may break it).
    assert_eq!(user_version(&db), FIXTURE_SCHEMA);
    assert!(FIXTURE_SCHEMA as usize <= SCHEMA_VERSION);
    let (audit_rows_before, tenant_id) = {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let rows = conn
            .query_row("SELECT COUNT(*) FROM audit", [], |r| r.get::<_, i64>(0))
            .unwrap();
        let tenant: String = conn
            .query_row("SELECT value FROM meta WHERE key = 'tenant_id'", [], |r| {
                r.get(0)
            })
            .unwrap();
        (rows, tenant)
    };

    let ck = Ck::at(&store, ADMIN);
    // One open migrated it all the way: the schema version is the library's now, while the
    // session is still open (no second open, no background step).
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION as i64);
    }

    // Vaults, with their access policies, in the store's own tenant.
    for vault in [VAULT_A, VAULT_B] {
        let v = ck.ok("Get-KeyVault", json!({"VaultName": vault}));
        let v = if v.is_array() { v[0].clone() } else { v };
        assert_eq!(v["VaultName"], json!(vault), "{v}");
        assert_eq!(v["EnablePurgeProtection"], json!(true), "{v}");
        assert_eq!(v["TenantId"], json!(tenant_id), "{v}");
        let policies = v["AccessPolicies"].as_array().unwrap();
        let names: Vec<&str> = policies
            .iter()
            .map(|p| p["DisplayName"].as_str().unwrap())
            .collect();
        assert!(names.contains(&ADMIN), "{names:?}");
        assert!(
            names.contains(&"00000002-0000-0ff1-ce00-000000000000"),
            "{names:?}"
        );
        assert_eq!(
            names.contains(&"reader@contoso.com"),
            vault == VAULT_A,
            "{names:?}"
        );
    }

    // Both versions of the rolled key are listed, in order, and each unwraps what it wrapped
    // when the fixture was made.
    let versions = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": KEY, "IncludeVersions": true}),
    );
    let listed: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["Version"].as_str().unwrap())
        .collect();
    let (v1, wrapped_v1) = fixture_wrap("wrap-v1.json");
    let (v2, wrapped_v2) = fixture_wrap("wrap-v2.json");
    assert_eq!(listed.len(), 2, "{versions}");
    assert!(
        listed.contains(&v1.as_str()) && listed.contains(&v2.as_str()),
        "{listed:?}"
    );
    for (version, wrapped) in [(&v1, &wrapped_v1), (&v2, &wrapped_v2)] {
        let opened = unwrap(&ck, VAULT_A, KEY, version, wrapped).unwrap();
        assert_eq!(
            opened["RawResult"],
            b64(FIXTURE_PLAINTEXT),
            "version {version}"
        );
    }
    // The current version is v2, and a new wrap and unwrap work.
    let fresh = wrap(&ck, VAULT_A, KEY, None, b"after the upgrade");
    assert!(fresh["KeyId"].as_str().unwrap().ends_with(&v2), "{fresh}");
    let opened = unwrap(&ck, VAULT_A, KEY, &v2, fresh["RawResult"].as_str().unwrap()).unwrap();
    assert_eq!(opened["RawResult"], b64(b"after the upgrade"));

    // The reader's access policy still grants what it granted, and only that.
    let reader = Ck::at(&store, "reader@contoso.com");
    let opened = unwrap(&reader, VAULT_A, KEY, &v1, &wrapped_v1).unwrap();
    assert_eq!(opened["RawResult"], b64(FIXTURE_PLAINTEXT));
    let refused = reader.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT_A, "Name": KEY, "Force": true}),
    );
    assert_eq!(refused.category(), "PermissionDenied", "{refused:?}");
    let refused = reader.err(
        "Get-KeyVaultKey",
        json!({"VaultName": VAULT_B, "Name": KEY}),
    );
    assert_eq!(refused.category(), "PermissionDenied", "{refused:?}");
    drop(reader);

    // Exchange: the policy, the mailbox encrypted under it, and its item decrypted through the
    // policy's key chain (both customer keys).
    let policy = ck.ok(
        "Get-DataEncryptionPolicy",
        json!({"Identity": "Fixture DEP"}),
    );
    let policy = if policy.is_array() {
        policy[0].clone()
    } else {
        policy
    };
    assert_eq!(policy["Name"], json!("Fixture DEP"), "{policy}");
    let stats = ck.ok("Get-MailboxStatistics", json!({"Identity": "fixture"}));
    assert_eq!(stats["IsEncrypted"], json!(true), "{stats}");
    assert_eq!(stats["ItemCount"], json!(1), "{stats}");
    let items = ck.ok("Get-MailboxItem", json!({"Identity": "fixture"}));
    let items = items.as_array().unwrap();
    assert_eq!(items.len(), 1, "{items:?}");
    assert_eq!(items[0]["Subject"], json!("Fixture subject"));
    assert_eq!(items[0]["Body"], json!("Fixture body, not a secret"));
    drop(ck);

    // The old audit rows are all still there (the audit table is append-only).
    let conn = rusqlite::Connection::open(&db).unwrap();
    let old_rows: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE id <= ?1",
            [audit_rows_before],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(old_rows, audit_rows_before);
}

/// What a folder holds, for comparing before and after: every entry's relative name, kind,
/// size, permission bits and (for files) a SHA-256 of its content.
fn snapshot(dir: &Path) -> BTreeMap<String, (bool, u64, u32, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, (bool, u64, u32, Vec<u8>)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let name = path.strip_prefix(root).unwrap().display().to_string();
            let digest = if meta.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &bytes)
                    .as_ref()
                    .to_vec()
            } else {
                Vec::new()
            };
            out.insert(
                name,
                (
                    meta.is_dir(),
                    meta.len(),
                    meta.permissions().mode() & 0o7777,
                    digest,
                ),
            );
            if meta.is_dir() {
                walk(root, &path, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    let meta = std::fs::metadata(dir).unwrap();
    out.insert(
        ".".to_string(),
        (true, 0, meta.permissions().mode() & 0o7777, Vec::new()),
    );
    walk(dir, dir, &mut out);
    out
}

#[test]
fn a_store_newer_than_the_library_is_refused_and_left_untouched() {
    let (dir, ck) = store_with_vaults("too-new", &[("vault-a", "westeurope")]);
    let store = dir.join("store");
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    drop(ck);
    // What a later release would leave: a higher schema version, checkpointed into store.db
    // when this connection closes.
    let newer = SCHEMA_VERSION as i64 + 1;
    {
        let conn = rusqlite::Connection::open(store.join("store.db")).unwrap();
        conn.pragma_update(None, "user_version", newer).unwrap();
    }
    let before = snapshot(&store);
    assert!(before.contains_key("master.key") && before.contains_key("store.db"));
    assert!(
        !before.contains_key("store.db-wal"),
        "the store is closed and checkpointed: {before:?}"
    );

    let e = Ck::open(json!({"Store": store, "UserPrincipalName": ADMIN}))
        .err()
        .expect("a store newer than the library is refused");
    assert_eq!(e.code(), "StoreVersionTooNew", "{e:?}");
    assert_eq!(e.category(), "NotImplemented", "{e:?}");
    assert_eq!(e.status, customer_key::CkStatus::Unsupported as i32);
    let message = e.message();
    assert!(
        message.contains(&format!("schema version {newer}"))
            && message.contains(&format!("up to {SCHEMA_VERSION}"))
            && message.contains("Upgrade CustomerKey"),
        "{message}"
    );
    assert_eq!(snapshot(&store), before, "the refused store was changed");

    // The CLI says the same, with the status as its exit code, and changes nothing either.
    let out = Command::new(env!("CARGO_BIN_EXE_customer-key"))
        .arg("--store")
        .arg(&store)
        .args(["Get-KeyVault", "-VaultName", "vault-a"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(customer_key::CkStatus::Unsupported as i32)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("StoreVersionTooNew"), "{stderr}");
    assert_eq!(snapshot(&store), before, "the refused store was changed");

    // Back at this library's version, the store opens and its key is there.
    {
        let conn = rusqlite::Connection::open(store.join("store.db")).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION as i64)
            .unwrap();
    }
    let ck = Ck::at(&store, ADMIN);
    ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
}
