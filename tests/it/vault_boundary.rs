//! The vault boundary the workloads call, acting as their service principal: access policies
//! matched by application id, key state enforced on every call, no cached permission, audit
//! rows under the service principal, unwrapped values as `Secret`.

use crate::common::TempDir;
use customer_key::crypto::RsaAlgorithm;
use customer_key::vault::boundary::{Caller, KeyReference, KeyVaultBoundary};
use customer_key::vault::local::LocalKeyVault;
use customer_key::{Principal, Session, SessionOptions};
use serde_json::{json, Value};
use std::sync::Arc;

const EXCHANGE: &str = "00000002-0000-0ff1-ce00-000000000000";

struct Fixture {
    _dir: TempDir,
    admin: Session,
    vaults: Arc<dyn KeyVaultBoundary>,
    key_a: KeyReference,
    key_b: KeyReference,
}

fn call(session: &Session, op: &str, args: Value) -> Value {
    customer_key::registry()
        .call(session, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message))
}

fn fixture(tag: &str) -> Fixture {
    let dir = TempDir::new(tag);
    let admin = customer_key::open_session(SessionOptions {
        store: Some(dir.join("store")),
        user_principal_name: Some("admin@contoso.com".into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    let mut ids = Vec::new();
    for vault in ["contoso-a", "contoso-b"] {
        call(
            &admin,
            "New-KeyVault",
            json!({"VaultName": vault, "Location": "westeurope"}),
        );
        let key = call(
            &admin,
            "Add-KeyVaultKey",
            json!({"VaultName": vault, "Name": "dep-key"}),
        );
        ids.push(key["Id"].as_str().unwrap().to_string());
    }
    // Exchange may use vault A only.
    call(
        &admin,
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": "contoso-a", "ServicePrincipalName": EXCHANGE, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
    let vaults: Arc<dyn KeyVaultBoundary> = Arc::new(LocalKeyVault::new(admin.store_arc().clone()));
    let versionless = |id: &str| {
        let k = KeyReference::parse("AzureKeyIDs", id).unwrap();
        KeyReference { version: None, ..k }
    };
    Fixture {
        key_a: versionless(&ids[0]),
        key_b: versionless(&ids[1]),
        vaults,
        admin,
        _dir: dir,
    }
}

fn exchange() -> Principal {
    Principal::service(EXCHANGE)
}

fn caller(principal: &Principal) -> Caller<'_> {
    Caller {
        principal,
        clock: &customer_key::time::SYSTEM_CLOCK,
        time_shift: 0,
        operation: "Test-Boundary",
    }
}

#[test]
fn the_boundary_is_send_and_sync() {
    fn shareable<T: Send + Sync + ?Sized>() {}
    shareable::<dyn KeyVaultBoundary>();
    shareable::<LocalKeyVault>();
}

#[test]
fn a_service_principal_granted_on_one_vault_wraps_and_unwraps_there_and_is_refused_on_the_other() {
    let f = fixture("boundary-grant");
    let sp = exchange();
    let who = caller(&sp);

    let key = f.vaults.get_key(&who, &f.key_a).unwrap();
    assert!(key.enabled && key.allows("wrapKey") && key.allows("unwrapKey"));
    assert_eq!(key.key_size, 2048);
    assert_eq!(key.public_key.modulus.len(), 256);
    assert_eq!(key.key.vault_uri, "https://contoso-a.vault.azure.net");
    assert_eq!(key.key.version.as_deref(), Some(key.version.as_str()));

    let content_key = [7u8; 32];
    let wrapped = f
        .vaults
        .wrap_key(&who, &f.key_a, RsaAlgorithm::OaepSha256, &content_key)
        .unwrap();
    assert_eq!(wrapped.key_id, key.id());
    assert_ne!(wrapped.value, content_key.to_vec());
    let at_version = KeyReference::parse("X", &wrapped.key_id).unwrap();
    let unwrapped = f
        .vaults
        .unwrap_key(&who, &at_version, RsaAlgorithm::OaepSha256, &wrapped.value)
        .unwrap();
    assert_eq!(unwrapped.expose(), &content_key);

    for e in [
        f.vaults.get_key(&who, &f.key_b).unwrap_err(),
        f.vaults
            .wrap_key(&who, &f.key_b, RsaAlgorithm::OaepSha256, &content_key)
            .unwrap_err(),
        f.vaults
            .check_permission(&who, &f.key_b, "unwrapKey")
            .unwrap_err(),
    ] {
        assert_eq!(e.category(), "PermissionDenied", "{}", e.message);
        assert!(
            e.message.contains(EXCHANGE) && e.message.contains("contoso-b"),
            "{}",
            e.message
        );
    }
    f.vaults
        .check_permission(&who, &f.key_a, "unwrapKey")
        .unwrap();
    assert!(f
        .vaults
        .check_permission(&who, &f.key_a, "delete")
        .unwrap_err()
        .message
        .contains("keys/delete"));

    // The admin is a user: the service principal's policy is not his, and his is not the
    // service principal's.
    let admin = Principal::user("admin@contoso.com");
    f.vaults.get_key(&caller(&admin), &f.key_b).unwrap();

    // Each call is in the audit table under the acting principal, success and failure.
    let audit = f.admin.store().audit_log().unwrap();
    let by_sp: Vec<_> = audit.iter().filter(|r| r.1 == EXCHANGE).collect();
    assert!(by_sp
        .iter()
        .any(|r| r.3 == key.id() && r.4.starts_with("Succeeded: Wrap")));
    assert!(by_sp
        .iter()
        .any(|r| r.3 == key.id() && r.4.starts_with("Succeeded: Unwrap")));
    assert!(by_sp
        .iter()
        .any(|r| r.3.contains("contoso-b") && r.4 == "Failed: Forbidden"));
    assert!(by_sp.iter().all(|r| r.2 == "Test-Boundary"));
}

#[test]
fn no_permission_or_key_state_outlives_a_change() {
    let f = fixture("boundary-revoke");
    let sp = exchange();
    let who = caller(&sp);
    let wrapped = f
        .vaults
        .wrap_key(
            &who,
            &f.key_a,
            RsaAlgorithm::OaepSha256,
            b"policy key bytes",
        )
        .unwrap();
    let at_version = KeyReference::parse("X", &wrapped.key_id).unwrap();
    let unwrap = || {
        f.vaults
            .unwrap_key(&who, &at_version, RsaAlgorithm::OaepSha256, &wrapped.value)
    };
    assert_eq!(unwrap().unwrap().expose(), b"policy key bytes");

    call(
        &f.admin,
        "Remove-KeyVaultAccessPolicy",
        json!({"VaultName": "contoso-a", "ServicePrincipalName": EXCHANGE}),
    );
    let e = unwrap().unwrap_err();
    assert!(e.message.contains("keys/unwrapKey"), "{}", e.message);

    call(
        &f.admin,
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": "contoso-a", "ServicePrincipalName": EXCHANGE, "PermissionsToKeys": ["get", "wrapKey", "unwrapKey"]}),
    );
    assert_eq!(unwrap().unwrap().expose(), b"policy key bytes");

    call(
        &f.admin,
        "Update-KeyVaultKey",
        json!({"VaultName": "contoso-a", "Name": "dep-key", "Version": at_version.version, "Enable": false}),
    );
    assert_eq!(unwrap().unwrap_err().code, "KeyDisabled");
    let key = f.vaults.get_key(&who, &at_version).unwrap();
    assert!(!key.enabled && !key.is_usable_at(customer_key::time::unix_now()));
}

#[test]
fn vault_properties_report_soft_delete_and_purge_protection() {
    let f = fixture("boundary-props");
    call(
        &f.admin,
        "New-KeyVault",
        json!({"VaultName": "contoso-c", "Location": "westeurope", "EnablePurgeProtection": true}),
    );
    let sp = exchange();
    let a = f.vaults.vault_properties(&caller(&sp), &f.key_a).unwrap();
    assert!(a.soft_delete && !a.purge_protection);
    let c_key = KeyReference::parse("X", "https://contoso-c.vault.azure.net/keys/none").unwrap();
    let c = f.vaults.vault_properties(&caller(&sp), &c_key).unwrap();
    assert!(c.soft_delete && c.purge_protection);
    let missing = KeyReference::parse("X", "https://contoso-z.vault.azure.net/keys/none").unwrap();
    assert_eq!(
        f.vaults
            .vault_properties(&caller(&sp), &missing)
            .unwrap_err()
            .category(),
        "ObjectNotFound"
    );
}
