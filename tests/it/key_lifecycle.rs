//! The Key Vault key lifecycle through the C ABI: create, roll, get, update, soft delete,
//! recover, purge, retention, and the checks on every crypto operation.

use crate::common::*;
use serde_json::json;

#[test]
fn roll_keeps_every_old_version_decrypting() {
    let (_dir, ck) = store_with_vaults("roll", &[("vault-a", "westeurope")]);
    let first = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "dep-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let v1 = first["Version"].as_str().unwrap().to_string();
    assert_eq!(v1.len(), 32);
    assert!(v1
        .chars()
        .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_eq!(
        first["Id"],
        format!("https://vault-a.vault.azure.net/keys/dep-key/{v1}")
    );
    assert_eq!(first["KeyType"], "RSA");
    assert_eq!(first["KeySize"], 2048);

    let wrapped_v1 = wrap(&ck, "vault-a", "dep-key", None, b"mailbox key 0001");
    assert!(wrapped_v1["KeyId"].as_str().unwrap().ends_with(&v1));

    // Roll: the same cmdlet and name again gives a new version.
    let second = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "dep-key", "KeyOps": ["wrapKey", "unwrapKey"]}),
    );
    let v2 = second["Version"].as_str().unwrap().to_string();
    assert_ne!(v1, v2);
    let versions = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "dep-key", "IncludeVersions": true}),
    );
    let listed: Vec<&str> = versions
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["Version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, vec![v1.as_str(), v2.as_str()]);

    // The newest version is the default, and wraps now use it.
    let latest = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "dep-key"}),
    );
    assert_eq!(latest[0]["Version"], v2.as_str());
    let wrapped_v2 = wrap(&ck, "vault-a", "dep-key", None, b"mailbox key 0002");
    assert!(wrapped_v2["KeyId"].as_str().unwrap().ends_with(&v2));

    // Content wrapped before the roll still unwraps with its version.
    let old = unwrap(
        &ck,
        "vault-a",
        "dep-key",
        &v1,
        wrapped_v1["RawResult"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(old["RawResult"], b64(b"mailbox key 0001"));
    let new = unwrap(
        &ck,
        "vault-a",
        "dep-key",
        &v2,
        wrapped_v2["RawResult"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(new["RawResult"], b64(b"mailbox key 0002"));
    // And not with the other version.
    let wrong = unwrap(
        &ck,
        "vault-a",
        "dep-key",
        &v2,
        wrapped_v1["RawResult"].as_str().unwrap(),
    )
    .unwrap_err();
    assert_eq!(wrong.category(), "InvalidArgument");
    assert!(wrong.message().contains("ByteArrayValue"));
}

#[test]
fn every_algorithm_and_operation_round_trips() {
    let (_dir, ck) = store_with_vaults("algs", &[("vault-a", "eastus")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "Size": 3072}),
    );
    for alg in ["RSA-OAEP-256", "RSA-OAEP", "RSA1_5"] {
        for (forward, back) in [("Wrap", "Unwrap"), ("Encrypt", "Decrypt")] {
            let sealed = ck.ok("Invoke-KeyVaultKeyOperation", json!({"VaultName": "vault-a", "Name": "k", "Operation": forward, "Algorithm": alg, "ByteArrayValue": b64(b"0123456789abcdef0123456789abcdef")}));
            assert_eq!(sealed["Algorithm"], alg);
            assert_eq!(
                customer_key::b64::decode(sealed["RawResult"].as_str().unwrap())
                    .unwrap()
                    .len(),
                384
            );
            let opened = ck.ok("Invoke-KeyVaultKeyOperation", json!({"VaultName": "vault-a", "Name": "k", "Operation": back, "Algorithm": alg, "ByteArrayValue": sealed["RawResult"]}));
            assert_eq!(
                opened["RawResult"],
                b64(b"0123456789abcdef0123456789abcdef")
            );
        }
    }
    let too_long = ck.err("Invoke-KeyVaultKeyOperation", json!({"VaultName": "vault-a", "Name": "k", "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(&[1u8; 400])}));
    assert!(
        too_long.message().contains("ByteArrayValue") && too_long.message().contains("at most")
    );
}

#[test]
fn hsm_keys_need_a_premium_vault() {
    let (_dir, ck) = store_with_vaults("hsm", &[("std-vault", "westeurope")]);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "prem-vault", "Location": "westeurope", "Sku": "Premium"}),
    );
    let e = ck.err(
        "Add-KeyVaultKey",
        json!({"VaultName": "std-vault", "Name": "k", "Destination": "HSM"}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(e.message().contains("Destination") && e.message().contains("Premium"));
    let k = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "prem-vault", "Name": "k", "Destination": "HSM"}),
    );
    assert_eq!(k["KeyType"], "RSA-HSM");
    assert_eq!(k["Key"]["Kty"], "RSA-HSM");
    // Only public parts ever leave: the JSON web key has N and E and nothing private.
    let jwk = k["Key"].as_object().unwrap();
    let mut names: Vec<&str> = jwk.keys().map(|s| s.as_str()).collect();
    names.sort();
    assert_eq!(names, vec!["E", "KeyOps", "Kid", "Kty", "N"]);
}

#[test]
fn enabled_not_before_and_expires_are_enforced() {
    let (_dir, ck) = store_with_vaults("dates", &[("vault-a", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "future", "NotBefore": "2100-01-01T00:00:00Z"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "past", "Expires": "2001-01-01T00:00:00Z"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "off", "Disable": true}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "enc-only", "KeyOps": ["encrypt"]}),
    );
    let try_wrap = |name: &str| {
        ck.err("Invoke-KeyVaultKeyOperation", json!({"VaultName": "vault-a", "Name": name, "Operation": "Wrap", "Algorithm": "RSA-OAEP-256", "ByteArrayValue": b64(b"x")}))
    };
    assert_eq!(try_wrap("future").code(), "KeyNotYetValid");
    assert_eq!(try_wrap("past").code(), "KeyExpired");
    let off = try_wrap("off");
    assert_eq!(
        (off.code(), off.category()),
        ("KeyDisabled", "PermissionDenied")
    );
    assert_eq!(try_wrap("enc-only").code(), "OperationNotAllowed");

    // Enabling through Update-KeyVaultKey makes the key usable.
    let updated = ck.ok(
        "Update-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "off", "Enable": true, "PassThru": true}),
    );
    assert_eq!(updated["Enabled"], true);
    wrap(&ck, "vault-a", "off", None, b"x");
    // Without PassThru nothing is returned.
    assert!(ck
        .ok(
            "Update-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "off", "Tag": {"env": "prod"}})
        )
        .is_null());
    assert_eq!(
        ck.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "off"})
        )[0]["Tags"]["env"],
        "prod"
    );

    let e = ck.err("Add-KeyVaultKey", json!({"VaultName": "vault-a", "Name": "bad", "NotBefore": "2030-01-01T00:00:00Z", "Expires": "2029-01-01T00:00:00Z"}));
    assert!(e.message().contains("Expires"));
}

#[test]
fn soft_delete_recover_and_name_reuse() {
    let (_dir, ck) = store_with_vaults("softdel", &[("vault-a", "westeurope")]);
    let k = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!(k["RecoveryLevel"], "Recoverable+Purgeable");
    assert_eq!(k["RecoverableDays"], 90);

    let deleted = ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k", "PassThru": true}),
    );
    let deleted_date =
        chrono::DateTime::parse_from_rfc3339(deleted["DeletedDate"].as_str().unwrap()).unwrap();
    let purge_date =
        chrono::DateTime::parse_from_rfc3339(deleted["ScheduledPurgeDate"].as_str().unwrap())
            .unwrap();
    assert_eq!((purge_date - deleted_date).num_days(), 90);

    // Gone from the active list, present in the removed state.
    assert_eq!(
        ck.err(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k"})
        )
        .code(),
        "KeyNotFound"
    );
    assert_eq!(
        ck.ok("Get-KeyVaultKey", json!({"VaultName": "vault-a"}))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let removed = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "InRemovedState": true}),
    );
    assert_eq!(removed[0]["Name"], "k");
    assert!(removed[0]["ScheduledPurgeDate"].is_string());

    // The name cannot be reused while the key is recoverable.
    let reuse = ck.err(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!(
        (reuse.code(), reuse.category()),
        ("Conflict", "ResourceExists")
    );
    assert!(reuse.message().contains("deleted but recoverable"));

    // Recovery brings back every version.
    ck.ok(
        "Undo-KeyVaultKeyRemoval",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert_eq!(
        ck.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "IncludeVersions": true})
        )
        .as_array()
        .unwrap()
        .len(),
        2
    );

    // Delete then purge: the name is free again.
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert!(ck
        .ok(
            "Remove-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "InRemovedState": true})
        )
        .is_null());
    assert_eq!(
        ck.err(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "InRemovedState": true})
        )
        .code(),
        "KeyNotFound"
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
}

#[test]
fn vault_soft_delete_and_recovery() {
    let (_dir, ck) = store_with_vaults("vaultdel", &[("vault-a", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    assert!(ck
        .ok("Remove-KeyVault", json!({"VaultName": "vault-a"}))
        .is_null());
    assert_eq!(
        ck.err("Get-KeyVaultKey", json!({"VaultName": "vault-a"}))
            .code(),
        "VaultNotFound"
    );
    let removed = ck.ok("Get-KeyVault", json!({"InRemovedState": true}));
    assert_eq!(removed[0]["VaultName"], "vault-a");
    assert!(removed[0]["DeletedDate"].is_string());
    assert_eq!(
        ck.err(
            "New-KeyVault",
            json!({"VaultName": "vault-a", "Location": "westeurope"})
        )
        .code(),
        "Conflict"
    );
    ck.ok("Undo-KeyVaultRemoval", json!({"VaultName": "vault-a"}));
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
}

#[test]
fn vault_without_soft_delete_deletes_at_once() {
    let (_dir, ck) = store_with_vaults("nosoft", &[]);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-x", "Location": "westeurope", "DisableSoftDelete": true}),
    );
    let k = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-x", "Name": "k"}),
    );
    assert_eq!(k["RecoveryLevel"], "Purgeable");
    assert_eq!(k["RecoverableDays"], 0);
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-x", "Name": "k"}),
    );
    assert_eq!(
        ck.ok(
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-x", "InRemovedState": true})
        )
        .as_array()
        .unwrap()
        .len(),
        0
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-x", "Name": "k"}),
    );
}

#[test]
fn bad_arguments_name_the_parameter_and_the_rule() {
    let (_dir, ck) = store_with_vaults("badargs", &[("vault-a", "westeurope")]);
    let cases = [
        (
            "New-KeyVault",
            json!({"VaultName": "1bad", "Location": "westeurope"}),
            "VaultName",
        ),
        (
            "New-KeyVault",
            json!({"VaultName": "okvault", "Location": "westeurope", "SoftDeleteRetentionInDays": 120}),
            "SoftDeleteRetentionInDays",
        ),
        (
            "New-KeyVault",
            json!({"VaultName": "okvault", "Location": "westeurope", "Sku": "Gold"}),
            "Sku",
        ),
        ("New-KeyVault", json!({"VaultName": "okvault"}), "Location"),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "bad_name"}),
            "Name",
        ),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "Size": 1024}),
            "Size",
        ),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "Size": "big"}),
            "Size",
        ),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "KeyOps": ["fly"]}),
            "KeyOps",
        ),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "Expires": "next week"}),
            "Expires",
        ),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "Colour": "red"}),
            "Colour",
        ),
        (
            "Backup-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "OutputFile": "relative.bak"}),
            "OutputFile",
        ),
        (
            "Invoke-KeyVaultKeyOperation",
            json!({"VaultName": "vault-a", "Name": "k", "Operation": "Sign", "Algorithm": "RSA-OAEP", "ByteArrayValue": "AA=="}),
            "Operation",
        ),
        (
            "Invoke-KeyVaultKeyOperation",
            json!({"VaultName": "vault-a", "Name": "k", "Operation": "Wrap", "Algorithm": "RSA-OAEP", "ByteArrayValue": "not base64!"}),
            "ByteArrayValue",
        ),
        (
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": "vault-a", "PermissionsToKeys": ["get"]}),
            "UserPrincipalName",
        ),
        (
            "Set-KeyVaultAccessPolicy",
            json!({"VaultName": "vault-a", "UserPrincipalName": "a@b", "ObjectId": "x", "PermissionsToKeys": ["get"]}),
            "UserPrincipalName",
        ),
        // Parameter sets, as PowerShell binds them.
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "KeyFilePath": "/tmp/k.pem", "Size": 2048}),
            "Size",
        ),
        (
            "Add-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "KeyFilePassword": "x"}),
            "KeyFilePath",
        ),
        (
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Version": "0123"}),
            "Name",
        ),
        (
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "Version": "0123", "IncludeVersions": true}),
            "IncludeVersions",
        ),
        (
            "Get-KeyVaultKey",
            json!({"VaultName": "vault-a", "Name": "k", "InRemovedState": true, "IncludeVersions": true}),
            "InRemovedState",
        ),
    ];
    for (op, args, parameter) in cases {
        let e = ck.err(op, args.clone());
        assert_eq!(e.category(), "InvalidArgument", "{op} {args}: {e:?}");
        assert!(
            e.message().contains(parameter),
            "{op} {args}: message should name {parameter}: {}",
            e.message()
        );
    }
    // Nothing was created by any of them.
    assert_eq!(
        ck.ok("Get-KeyVault", json!({})).as_array().unwrap().len(),
        1
    );
    assert_eq!(
        ck.ok("Get-KeyVaultKey", json!({"VaultName": "vault-a"}))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // Parameter names are matched case-insensitively, as PowerShell does.
    ck.ok(
        "Add-KeyVaultKey",
        json!({"vaultname": "vault-a", "NAME": "k"}),
    );
}

#[test]
fn unknown_objects_give_key_vault_codes() {
    let (_dir, ck) = store_with_vaults("notfound", &[("vault-a", "westeurope")]);
    let e = ck.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "missing"}),
    );
    assert_eq!(
        (
            e.status,
            e.code(),
            e.category(),
            e.error["target"].as_str().unwrap()
        ),
        (2, "KeyNotFound", "ObjectNotFound", "missing")
    );
    let e = ck.err("Get-KeyVaultKey", json!({"VaultName": "no-such-vault"}));
    assert_eq!(
        (e.code(), e.category()),
        ("VaultNotFound", "ObjectNotFound")
    );
    let e = ck.err(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "missing", "Version": "0123"}),
    );
    assert_eq!(e.code(), "KeyNotFound");
    let e = ck.err("Frobnicate-KeyVaultKey", json!({}));
    assert_eq!(e.category(), "InvalidArgument");
}
