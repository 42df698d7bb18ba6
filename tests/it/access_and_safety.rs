//! Access policies enforced on every key operation, and the safety rails beyond Azure: keys a
//! data encryption policy uses cannot be removed, purged or disabled without -Force.

use crate::common::*;
use serde_json::json;

#[test]
fn forbidden_without_permission_names_principal_permission_and_vault() {
    let (dir, admin) = store_with_vaults("forbidden", &[("vault-a", "westeurope")]);
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let bob = Ck::at(&dir.join("store"), "bob@contoso.com");
    let e = bob.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!(
        (e.status, e.code(), e.category()),
        (4, "Forbidden", "PermissionDenied")
    );
    assert!(
        e.message().contains("bob@contoso.com")
            && e.message().contains("keys/get")
            && e.message().contains("vault-a"),
        "{}",
        e.message()
    );

    // Key admins get create, import, list, get, backup, restore — deliberately not delete.
    admin.ok("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com", "PermissionsToKeys": ["create", "import", "list", "get", "backup", "restore"]}));
    bob.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    bob.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let e = bob.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert!(e.message().contains("keys/delete"));
    let e = bob.err("Invoke-KeyVaultKeyOperation", json!({"VaultName": "vault-a", "Name": "k", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(b"x")}));
    assert!(e.message().contains("keys/wrapKey"));
    let e = bob.err(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Enable": false}),
    );
    assert!(e.message().contains("keys/update"));
    // Only the vault's owner changes policies.
    let e = bob.err("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com", "PermissionsToKeys": ["all"]}));
    assert_eq!(e.category(), "PermissionDenied");

    // The Exchange service principal gets get, wrapKey, unwrapKey and can use the key.
    admin.ok("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a", "ServicePrincipalName": "00000002-0000-0ff1-ce00-000000000000", "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}));
    // A user session that merely calls itself by the application id is a user, not the
    // service principal: service principals act only through the vault boundary (workloads)
    // and are matched by application id there (tests/it/vault_boundary.rs).
    let impostor = Ck::at(&dir.join("store"), "00000002-0000-0ff1-ce00-000000000000");
    let e = impostor.err("Invoke-KeyVaultKeyOperation", json!({"VaultName": "vault-a", "Name": "k", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(b"x")}));
    assert_eq!(e.category(), "PermissionDenied");

    // Get-KeyVault shows the policies.
    let vault = admin.ok("Get-KeyVault", json!({"VaultName": "vault-a"}));
    let policies = vault[0]["AccessPolicies"].as_array().unwrap();
    assert_eq!(policies.len(), 3);
    let exo_policy = policies
        .iter()
        .find(|p| p["ApplicationId"] == "00000002-0000-0ff1-ce00-000000000000")
        .unwrap();
    assert_eq!(
        exo_policy["PermissionsToKeys"],
        json!(["get", "wrapKey", "unwrapKey"])
    );

    // Removing the policy (an employee leaves) takes the access away at once.
    admin.ok(
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com"}),
    );
    assert_eq!(
        bob.err(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"})
        )
        .code(),
        "Forbidden"
    );
    let e = admin.err(
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": "vault-a", "UserPrincipalName": "bob@contoso.com"}),
    );
    assert_eq!(e.category(), "ObjectNotFound");
}

fn reference(store: &std::path::Path, vault: &str, key: &str, version: Option<&str>) {
    // Data encryption policies arrive with the Exchange issue; until then the reference they
    // will record is written straight through the store API.
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(store.to_path_buf()),
        ..Default::default()
    })
    .unwrap();
    let audit = customer_key::store::AuditEntry {
        time: session.clock().unix_seconds(),
        principal: ADMIN,
        operation: "test",
        target: key,
    };
    session
        .store()
        .transaction(&audit, session.now(), |tx| {
            customer_key::store::vaults::add_key_reference(
                tx,
                vault,
                key,
                version,
                "Exchange data encryption policy",
                "Contoso-DEP1",
            )
        })
        .unwrap();
}

#[test]
fn keys_a_policy_uses_are_not_removed_or_purged_without_force() {
    let (dir, ck) = store_with_vaults("inuse", &[("vault-a", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    reference(&dir.join("store"), "vault-a", "k", None);
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!((e.code(), e.category()), ("KeyInUse", "InvalidOperation"));
    assert!(
        e.message().contains("Contoso-DEP1")
            && e.message().contains("-AcceptDataLoss")
            && e.message().contains("unreadable")
    );
    assert_eq!(
        ck.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"})
        )
        .as_array()
        .unwrap()
        .len(),
        1
    );
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "AcceptDataLoss": true}),
    );
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "InRemovedState": true}),
    );
    assert_eq!(e.code(), "KeyInUse");
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "InRemovedState": true, "AcceptDataLoss": true}),
    );
}

#[test]
fn disabling_any_version_of_a_key_a_policy_uses_is_refused() {
    let (dir, ck) = store_with_vaults("disable", &[("vault-a", "westeurope")]);
    let v1 = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    )["Version"]
        .as_str()
        .unwrap()
        .to_string();
    reference(&dir.join("store"), "vault-a", "k", None);
    let e = ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Enable": false}),
    );
    assert_eq!(e.code(), "KeyInUse");
    // After a roll the previous version still protects older content: disabling it is refused
    // too (Microsoft's warning, enforced), and so is disabling the new one.
    let v2 = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    )["Version"]
        .as_str()
        .unwrap()
        .to_string();
    let e = ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Version": v1, "Enable": false}),
    );
    assert_eq!(e.code(), "KeyInUse");
    let e = ck.err(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Version": v2, "Enable": false}),
    );
    assert_eq!(e.code(), "KeyInUse");
    // Dating a version out or dropping unwrapKey has the same effect, and is refused the same way.
    for change in [
        json!({"Expires": "2001-01-01T00:00:00Z"}),
        json!({"NotBefore": "2100-01-01T00:00:00Z"}),
        json!({"KeyOps": ["wrapKey", "encrypt"]}),
    ] {
        let mut args = json!({"VaultName": "vault-a", "Name": "k", "Version": v1});
        args.as_object_mut()
            .unwrap()
            .extend(change.as_object().unwrap().clone());
        assert_eq!(
            ck.err("Update-KeyVaultKey", args.clone()).code(),
            "KeyInUse",
            "{args}"
        );
    }
    // Other attribute changes are fine, and -Force overrides.
    ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Version": v1, "Tag": {"rolled": "yes"}}),
    );
    assert_eq!(
        ck.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "Version": v1})
        )[0]["Enabled"],
        true
    );
    ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Version": v2, "Enable": false, "AcceptDataLoss": true}),
    );
}

#[test]
fn the_audit_table_records_outcomes_never_key_material_and_is_append_only() {
    let (dir, ck) = store_with_vaults("audit", &[("vault-a", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let wrapped = wrap(&ck, "vault-a", "k", None, b"SECRET-DATA-KEY-0123456789");
    ck.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "nope"}),
    );
    ck.err(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "bad name"}),
    );
    let version = wrapped["KeyId"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_string();
    unwrap(&ck, "vault-a", "k", &version, &b64(&[7u8; 256])).unwrap_err();
    // Reads, crypto operations and failures are group-committed by the session's audit
    // writer; closing the session (ck_close) commits what is queued.
    drop(ck);
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(dir.join("store")),
        ..Default::default()
    })
    .unwrap();
    let log = session.store().audit_log().unwrap();
    let ops: Vec<(&str, &str, &str)> = log
        .iter()
        .map(|(_, p, o, _, r)| (p.as_str(), o.as_str(), r.as_str()))
        .collect();
    assert!(ops.contains(&(ADMIN, "New-KeyVault", "Succeeded")));
    assert!(ops.contains(&(ADMIN, "Add-KeyVaultKey", "Succeeded")));
    assert!(ops.contains(&(
        ADMIN,
        "Invoke-KeyVaultKeyOperation",
        "Succeeded: Wrap RSA-OAEP-256"
    )));
    // The crypto audit names the version used.
    assert!(log
        .iter()
        .any(|(_, _, o, t, _)| o == "Invoke-KeyVaultKeyOperation"
            && t == wrapped["KeyId"].as_str().unwrap()));
    assert!(ops.contains(&(ADMIN, "Get-KeyVaultKey", "Failed: KeyNotFound")));
    // A call that fails before any transaction (bad arguments) is audited too.
    assert!(ops.contains(&(ADMIN, "Add-KeyVaultKey", "Failed: BadParameter")));
    // An unwrap that passed its checks but did not decrypt is audited as the failure it was,
    // and only as that.
    assert_eq!(
        ops.last(),
        Some(&(ADMIN, "Invoke-KeyVaultKeyOperation", "Failed: BadParameter"))
    );
    let text = format!("{log:?}");
    assert!(
        !text.contains("SECRET-DATA-KEY") && !text.contains(wrapped["RawResult"].as_str().unwrap())
    );
    drop(session);
    let db = rusqlite::Connection::open(dir.join("store/store.db")).unwrap();
    assert!(db.execute("DELETE FROM audit", []).is_err());
    assert!(db.execute("UPDATE audit SET result = 'x'", []).is_err());
}

#[test]
fn store_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, ck) = store_with_vaults("perms", &[("vault-a", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let store = dir.join("store");
    assert_eq!(
        std::fs::metadata(&store).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for entry in std::fs::read_dir(&store).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o077,
                0,
                "{} is readable by others",
                path.display()
            );
        }
    }
    drop(ck);
    // A master key others can read is refused rather than used.
    std::fs::set_permissions(
        store.join("master.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let e = Ck::open(json!({"Store": store}))
        .err()
        .expect("must refuse");
    assert_eq!(e.code(), "InsecureMasterKey");
}
