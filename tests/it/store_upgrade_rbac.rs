//! The permission model's migration (schema 8: `vaults.rbac`, `role_assignments`) on the
//! previous release's store (the committed fixture in tests/data/store-schema-7): its vaults
//! open as access policy vaults whose policies still decide, and one switched to Azure RBAC
//! then decides by role assignments, which the migrated store keeps across a reopen.

use crate::common::{unwrap, wrap, Ck, TempDir, ADMIN};
use customer_key::store::SCHEMA_VERSION;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

const FIXTURE: &str = "tests/data/store-schema-7";
const VAULT_A: &str = "contoso-fixture-a";
const KEY: &str = "fixture-key";
const READER: &str = "reader@contoso.com";

/// Copies the fixture's store with the modes the engine requires (git keeps none).
fn copy_fixture_store(to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(FIXTURE)
        .join("store");
    std::fs::create_dir(to).unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o700)).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        std::fs::copy(entry.path(), &target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
}

fn user_version(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_previous_stores_vaults_migrate_to_access_policies_and_may_switch_to_rbac() {
    let dir = TempDir::new("upgrade-rbac");
    let store = dir.join("store");
    copy_fixture_store(&store);
    assert_eq!(user_version(&store.join("store.db")), 7);
    let ck = Ck::at(&store, ADMIN);
    assert_eq!(user_version(&store.join("store.db")), SCHEMA_VERSION as i64);
    {
        let conn = rusqlite::Connection::open(store.join("store.db")).unwrap();
        let columns: Vec<String> = conn
            .prepare("SELECT name FROM pragma_table_info('vaults')")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert!(columns.contains(&"rbac".to_string()), "{columns:?}");
        let assignments: i64 = conn
            .query_row("SELECT COUNT(*) FROM role_assignments", [], |r| r.get(0))
            .unwrap();
        assert_eq!(assignments, 0);
    }

    // Every migrated vault uses access policies, which still decide.
    let vaults = ck.ok("Get-KeyVault", json!({}));
    for v in vaults.as_array().unwrap() {
        assert_eq!(v["EnableRbacAuthorization"], json!(false), "{v}");
    }
    let reader = Ck::at(&store, READER);
    let wrapped = wrap(&reader, VAULT_A, KEY, None, b"migrated");
    let version = wrapped["KeyId"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    let wrapped = wrapped["RawResult"].as_str().unwrap().to_string();
    unwrap(&reader, VAULT_A, KEY, &version, &wrapped).unwrap();

    // Switched to Azure RBAC: the reader's policy no longer counts, a role does.
    let v = ck.ok(
        "Update-KeyVault",
        json!({"VaultName": VAULT_A, "EnableRbacAuthorization": true}),
    );
    let refused = unwrap(&reader, VAULT_A, KEY, &version, &wrapped).unwrap_err();
    assert_eq!(refused.category(), "PermissionDenied", "{refused:?}");
    ck.ok(
        "New-RoleAssignment",
        json!({"SignInName": READER, "RoleDefinitionName": "Key Vault Crypto User", "Scope": v["ResourceId"]}),
    );
    unwrap(&reader, VAULT_A, KEY, &version, &wrapped).unwrap();
    drop(reader);
    drop(ck);

    // Both kept across a reopen.
    let ck = Ck::at(&store, ADMIN);
    let v = ck.ok("Get-KeyVault", json!({"VaultName": VAULT_A}));
    assert_eq!(v[0]["EnableRbacAuthorization"], json!(true), "{v}");
    let roles = ck.ok("Get-RoleAssignment", json!({"Scope": v[0]["ResourceId"]}));
    assert_eq!(roles[0]["SignInName"], READER, "{roles}");
    assert_eq!(roles[0]["RoleDefinitionName"], "Key Vault Crypto User");
}
