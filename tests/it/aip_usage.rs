//! What Get-KeyVaultKeyUsage reads of AIP (which BYOK key versions are tenant keys, their
//! status, how many protected items were opened with each), key state enforced through the
//! vault on every use, and a new tenant's first key made once under concurrent first calls.

use crate::aip_support::*;
use crate::common::{Ck, TempDir, ADMIN};
use customer_key::aip::{tenant_key_usage, TenantKeyUsage};
use serde_json::json;
use std::sync::Arc;

fn usage(dir: &TempDir) -> Vec<TenantKeyUsage> {
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(dir.join("store")),
        user_principal_name: Some(ADMIN.into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    session.store().read(tenant_key_usage).unwrap()
}

#[test]
fn usage_lists_byok_key_versions_with_status_and_distinct_items_opened() {
    let (dir, ck) = tenant("aip-usage");
    assert!(
        usage(&dir).is_empty(),
        "a Microsoft-managed tenant uses no vault key"
    );
    let v1 = vault_key(&ck, VAULT, "tenant-key");
    let k1 = use_and_activate(&ck, &v1);
    let (a, _) = protect(&ck, &dir, "a");
    let (b, _) = protect(&ck, &dir, "b");
    unprotect(&ck, &a).unwrap();
    unprotect(&ck, &a).unwrap();
    unprotect(&ck, &b).unwrap();
    let v2 = vault_key(&ck, VAULT, "tenant-key");
    let k2 = id(&ck.ok("Use-AipServiceKeyVaultKey", json!({"KeyVaultKeyUrl": v2})));

    let rows = usage(&dir);
    let version = |url: &str| url.rsplit_once('/').unwrap().1.to_string();
    assert_eq!(
        rows,
        vec![
            TenantKeyUsage {
                vault_name: VAULT.into(),
                key_name: "tenant-key".into(),
                version: version(&v1),
                key_identifier: k1,
                status: "Active".into(),
                items_opened: 2,
            },
            TenantKeyUsage {
                vault_name: VAULT.into(),
                key_name: "tenant-key".into(),
                version: version(&v2),
                key_identifier: k2,
                status: "Archived".into(),
                items_opened: 0,
            },
        ]
    );
}

#[test]
fn a_disabled_tenant_key_version_stops_at_the_vault_and_force_is_needed_to_disable_it() {
    let (dir, ck) = tenant("aip-key-state");
    let url = vault_key(&ck, VAULT, "tenant-key");
    let byok = use_and_activate(&ck, &url);
    let (doc, _) = protect(&ck, &dir, "state checked every time");
    let version = url.rsplit_once('/').unwrap().1;
    let disable =
        json!({"VaultName": VAULT, "Name": "tenant-key", "Version": version, "Enable": false});
    assert_eq!(
        ck.err("Update-KeyVaultKey", disable.clone()).code(),
        "KeyInUse"
    );
    let mut forced = disable.clone();
    forced["AcceptDataLoss"] = json!(true);
    ck.ok("Update-KeyVaultKey", forced);
    let e = unprotect(&ck, &doc).unwrap_err();
    assert_eq!(e.code(), "KeyDisabled", "{}", e.message());
    assert!(e.message().contains(&byok), "{}", e.message());
    assert_eq!(
        try_protect(&ck, &dir, "x").unwrap_err().code(),
        "KeyDisabled"
    );
    ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "tenant-key", "Version": version, "Enable": true}),
    );
    assert_eq!(unprotect(&ck, &doc).unwrap(), "state checked every time");
}

#[test]
fn concurrent_first_calls_make_one_tenant_key() {
    let dir = TempDir::new("aip-first-calls");
    let ck = Arc::new(Ck::at(&dir.join("store"), ADMIN));
    let threads: Vec<_> = (0..6)
        .map(|_| {
            let ck = Arc::clone(&ck);
            std::thread::spawn(move || id(&active(&ck)))
        })
        .collect();
    let seen: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(seen.iter().all(|s| s == &seen[0]), "{seen:?}");
    assert_eq!(keys(&ck).len(), 1);
}

#[test]
fn concurrent_activations_leave_exactly_one_active_key() {
    let (dir, ck) = tenant("aip-concurrent-activate");
    let tpd_dir = TempDir::new("aip-concurrent-source");
    let other = Ck::at(&tpd_dir.join("store"), ADMIN);
    let tpd = dir.join("o.tpd");
    export(&other, &tpd, None).unwrap();
    import(&ck, &tpd, PASSWORD).unwrap();
    let candidates: Vec<String> = keys(&ck).iter().map(id).collect();
    let ck = Arc::new(ck);
    let threads: Vec<_> = (0..8)
        .map(|i| {
            let ck = Arc::clone(&ck);
            let key = candidates[i % candidates.len()].clone();
            std::thread::spawn(move || {
                for _ in 0..5 {
                    activate(&ck, &key);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let _ = active(&ck);
}

#[test]
fn byok_sign_and_decrypt_are_audited_at_the_vault_under_the_aip_service_principal() {
    let (dir, ck) = tenant("aip-audit-sp");
    let url = vault_key(&ck, VAULT, "tenant-key");
    use_and_activate(&ck, &url);
    let (doc, _) = protect(&ck, &dir, "audited at the vault");
    unprotect(&ck, &doc).unwrap();
    revoke(&ck, VAULT);
    unprotect(&ck, &doc).unwrap_err();
    drop(ck);
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(dir.join("store")),
        user_principal_name: Some(ADMIN.into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    let audit = session.store().audit_log().unwrap();
    let by_service: Vec<_> = audit.iter().filter(|r| r.1 == AIP).collect();
    let has = |operation: &str, result: &str| {
        by_service
            .iter()
            .any(|r| r.2 == operation && r.3 == url && r.4 == result)
    };
    assert!(
        has("Protect-AipContent", "Succeeded: Sign RS256"),
        "{by_service:?}"
    );
    assert!(
        has("Unprotect-AipContent", "Succeeded: Decrypt RSA-OAEP-256"),
        "{by_service:?}"
    );
    assert!(
        by_service
            .iter()
            .any(|r| r.2 == "Unprotect-AipContent" && r.4 == "Failed: Forbidden"),
        "{by_service:?}"
    );
}
