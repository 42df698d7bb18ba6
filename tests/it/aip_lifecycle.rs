//! The seed's lifecycle table, cell by cell, through the C ABI: what a Microsoft-managed and a
//! customer-managed (BYOK) tenant key allow, done for real, and what they refuse, with why.

use crate::common;

use crate::aip_support::*;
use crate::common::TempDir;
use serde_json::json;

#[test]
fn a_new_tenant_is_microsoft_managed_with_one_active_key_and_shows_no_key_material() {
    let (_dir, ck) = tenant("aip-new");
    let all = keys(&ck);
    assert_eq!(all.len(), 1);
    let k = &all[0];
    assert_eq!(k["KeyType"], "Microsoft-managed");
    assert_eq!(k["Status"], "Active");
    assert_eq!(id(k).len(), 36);
    assert!(k["CreationTime"].as_str().unwrap().ends_with('Z'));
    assert!(k["KeyVaultKeyUrl"].is_null() && k["Publickey"].is_null());
    let mut fields: Vec<&str> = k.as_object().unwrap().keys().map(|s| s.as_str()).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "CreationTime",
            "FriendlyName",
            "KeyIdentifier",
            "KeyType",
            "KeyVaultKeyUrl",
            "Publickey",
            "Status"
        ]
    );
    // Provisioned once: later calls see the same key.
    assert_eq!(id(&active(&ck)), id(k));
    assert_eq!(keys(&ck).len(), 1);
}

#[test]
fn microsoft_managed_cells_revoke_and_backup_refused_rekey_export_breach_available() {
    let (dir, ck) = tenant("aip-mm-table");
    let (topology, ops) = lifecycle(&ck);
    assert_eq!(topology, "Microsoft-managed");
    let revoke = cell(&ops, "Revoke");
    assert_eq!(revoke["Available"], false);
    assert!(revoke["WhyNot"]
        .as_str()
        .unwrap()
        .contains("subscription ends"));
    let backup = cell(&ops, "BackupAndRecover");
    assert_eq!(backup["Available"], false);
    assert!(backup["WhyNot"]
        .as_str()
        .unwrap()
        .contains("Microsoft backs up"));
    for available in ["ReKey", "Export", "RespondToBreach"] {
        let c = cell(&ops, available);
        assert_eq!(c["Available"], true, "{available}");
        assert!(c["WhyNot"].is_null() && !c["How"].as_str().unwrap().is_empty());
    }
    assert!(cell(&ops, "Export")["How"]
        .as_str()
        .unwrap()
        .contains("Export-CkAipServiceTpd"));
    assert!(cell(&ops, "RespondToBreach")["How"]
        .as_str()
        .unwrap()
        .contains("re-keying does not help"));

    // Revoke: the Active key cannot be taken away, not even by archiving it.
    let first = id(&active(&ck));
    let e = ck.err(
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": first, "Active": false}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(
        e.message().contains("'Active'")
            && e.message().contains("cannot be archived directly")
            && e.message()
                .contains("Microsoft revokes it when the subscription ends"),
        "{}",
        e.message()
    );
    assert_eq!(id(&active(&ck)), first);

    // Export works (the TPD tests open it in another store).
    let tpd = dir.join("tenant.tpd");
    let exported = export(&ck, &tpd, None).unwrap();
    assert_eq!(exported["KeyIdentifiers"], json!([first]));
    assert!(std::fs::metadata(&tpd).unwrap().len() > 1000);
}

#[test]
fn microsoft_managed_rekey_moves_new_content_to_the_new_key_and_old_content_still_opens() {
    let (dir, ck) = tenant("aip-mm-rekey");
    let first = id(&active(&ck));
    let (before, protected_with) = protect(&ck, &dir, "before the re-key");
    assert_eq!(protected_with, first);

    // Another Microsoft-managed key, from a TPD of another tenant, made Active.
    let other_dir = TempDir::new("aip-mm-rekey-source");
    let other = common::Ck::at(&other_dir.join("store"), common::ADMIN);
    let second = id(&active(&other));
    let tpd = dir.join("other.tpd");
    export(&other, &tpd, None).unwrap();
    let imported = import(&ck, &tpd, PASSWORD).unwrap();
    assert_eq!(imported[0]["Status"], "Archived");
    assert_eq!(imported[0]["KeyType"], "Microsoft-managed");
    let (topology, ops) = lifecycle(&ck);
    assert_eq!(topology, "Microsoft-managed");
    assert!(cell(&ops, "ReKey")["How"]
        .as_str()
        .unwrap()
        .contains(&second));

    let now_active = activate(&ck, &second);
    assert_eq!(now_active["Status"], "Active");
    let all = keys(&ck);
    assert_eq!(
        all.iter().find(|k| id(k) == first).unwrap()["Status"],
        "Archived"
    );
    assert_eq!(id(&active(&ck)), second);

    let (after, protected_with) = protect(&ck, &dir, "after the re-key");
    assert_eq!(protected_with, second);
    assert_eq!(unprotect(&ck, &before).unwrap(), "before the re-key");
    assert_eq!(unprotect(&ck, &after).unwrap(), "after the re-key");
    // The other tenant holds the same key, Active there: it opens what this one protected now.
    assert_eq!(unprotect(&other, &after).unwrap(), "after the re-key");
    let e = unprotect(&other, &before).unwrap_err();
    assert_eq!(e.category(), "ObjectNotFound");
    assert!(
        e.message().contains(&first) && e.message().contains("Import-CkAipServiceTpd"),
        "{}",
        e.message()
    );
}

#[test]
fn byok_cells_revoke_rekey_backup_breach_available_and_export_refused() {
    let (dir, ck) = tenant("aip-byok-table");
    let mm = id(&active(&ck));
    let url = vault_key(&ck, VAULT, "tenant-key");
    let byok = use_and_activate(&ck, &url);
    let k = active(&ck);
    assert_eq!(k["KeyType"], "Customer-managed (BYOK)");
    assert_eq!(k["KeyVaultKeyUrl"], json!(url));
    assert!(
        customer_key::b64::decode(k["Publickey"].as_str().unwrap())
            .unwrap()
            .len()
            > 256
    );

    let (topology, ops) = lifecycle(&ck);
    assert_eq!(topology, "Customer-managed (BYOK)");
    for available in ["Revoke", "ReKey", "BackupAndRecover", "RespondToBreach"] {
        assert_eq!(cell(&ops, available)["Available"], true, "{available}");
    }
    assert!(cell(&ops, "Revoke")["How"]
        .as_str()
        .unwrap()
        .contains("Remove-CkKeyVaultAccessPolicy"));
    assert!(cell(&ops, "BackupAndRecover")["How"]
        .as_str()
        .unwrap()
        .contains("Backup-CkKeyVaultKey"));
    let export_cell = cell(&ops, "Export");
    assert_eq!(export_cell["Available"], false);
    assert!(export_cell["WhyNot"]
        .as_str()
        .unwrap()
        .contains("never leaves Key Vault"));

    // Export refused, for the topology and for the key by name; the archived
    // Microsoft-managed key may still be exported.
    let tpd = dir.join("byok.tpd");
    for named in [None, Some(byok.as_str())] {
        let e = export(&ck, &tpd, named).unwrap_err();
        assert_eq!(e.code(), "ExportNotAllowed");
        assert!(
            e.message().contains("never leaves Key Vault"),
            "{}",
            e.message()
        );
        assert!(!tpd.exists(), "nothing written");
    }
    assert_eq!(
        export(&ck, &tpd, Some(&mm)).unwrap()["KeyIdentifiers"],
        json!([mm])
    );
    // Revoking is done in Key Vault, and the refusal to archive says so.
    let e = ck.err(
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": byok, "Active": false}),
    );
    assert!(
        e.message()
            .contains("Remove-CkKeyVaultAccessPolicy -VaultName contoso-aip"),
        "{}",
        e.message()
    );
}

#[test]
fn byok_revoke_stops_unprotect_and_protect_until_access_is_restored() {
    let (dir, ck) = tenant("aip-byok-revoke");
    let (mm_doc, mm) = protect(&ck, &dir, "protected while Microsoft-managed");
    let byok = use_and_activate(&ck, &vault_key(&ck, VAULT, "tenant-key"));
    let (doc, protected_with) = protect(&ck, &dir, "board minutes");
    assert_eq!(protected_with, byok);
    assert_eq!(unprotect(&ck, &doc).unwrap(), "board minutes");

    revoke(&ck, VAULT);
    let e = unprotect(&ck, &doc).unwrap_err();
    assert_eq!(e.category(), "PermissionDenied");
    assert!(
        e.message().contains("keys/decrypt") && e.message().contains(&byok),
        "{}",
        e.message()
    );
    let e = try_protect(&ck, &dir, "new content").unwrap_err();
    assert_eq!(e.category(), "PermissionDenied");
    assert!(e.message().contains("keys/sign"), "{}", e.message());
    // Content of the Microsoft-managed era does not depend on the vault.
    assert_eq!(
        unprotect(&ck, &mm_doc).unwrap(),
        "protected while Microsoft-managed"
    );
    // Protection resumes once another key is Active; the revoked key cannot come back
    // while the service cannot use it.
    activate(&ck, &mm);
    assert_eq!(
        try_protect(&ck, &dir, "new content").unwrap()["KeyIdentifier"],
        json!(mm)
    );
    let e = ck.err(
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": byok, "Active": true}),
    );
    assert_eq!(e.category(), "PermissionDenied");
    assert!(
        e.message().contains("cannot be made Active"),
        "{}",
        e.message()
    );
    assert_eq!(id(&active(&ck)), mm);

    grant(&ck, VAULT);
    assert_eq!(unprotect(&ck, &doc).unwrap(), "board minutes");
    activate(&ck, &byok);
    assert_eq!(
        try_protect(&ck, &dir, "new content").unwrap()["KeyIdentifier"],
        json!(byok)
    );
}

#[test]
fn byok_rekey_with_a_new_version_keeps_every_earlier_document_open() {
    let (dir, ck) = tenant("aip-byok-rekey");
    let (mm_doc, mm) = protect(&ck, &dir, "era 0");
    let v1 = vault_key(&ck, VAULT, "tenant-key");
    let k1 = use_and_activate(&ck, &v1);
    let (doc1, with1) = protect(&ck, &dir, "era 1");
    let v2 = vault_key(&ck, VAULT, "tenant-key");
    assert_ne!(v1, v2);
    let k2 = use_and_activate(&ck, &v2);
    let (doc2, with2) = protect(&ck, &dir, "era 2");
    assert_eq!((with1.as_str(), with2.as_str()), (k1.as_str(), k2.as_str()));
    assert_ne!(mm, k1);
    for (doc, text) in [(&mm_doc, "era 0"), (&doc1, "era 1"), (&doc2, "era 2")] {
        assert_eq!(unprotect(&ck, doc).unwrap(), text);
    }
    let statuses: Vec<(String, String)> = keys(&ck)
        .iter()
        .map(|k| (id(k), k["Status"].as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        statuses,
        vec![
            (mm, "Archived".into()),
            (k1, "Archived".into()),
            (k2, "Active".into())
        ]
    );
}

#[test]
fn use_key_vault_key_checks_version_size_permissions_and_recoverability() {
    let (_dir, ck) = tenant("aip-use-checks");
    let url = vault_key(&ck, VAULT, "tenant-key");
    let versionless = url.rsplit_once('/').unwrap().0.to_string();
    let e = ck.err(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": versionless}),
    );
    assert_eq!(e.category(), "InvalidArgument");
    assert!(
        e.message().contains("'KeyVaultKeyUrl'") && e.message().contains("next version"),
        "{}",
        e.message()
    );

    // The service principal may get but not sign.
    ck.ok(
        "Set-KeyVaultAccessPolicy",
        json!({"VaultName": VAULT, "ServicePrincipalName": AIP, "PermissionsToKeys": ["get", "decrypt"]}),
    );
    let e = ck.err("Use-AipServiceKeyVaultKey", json!({"KeyVaultKeyUrl": url}));
    assert_eq!(e.category(), "PermissionDenied");
    assert!(
        e.message().contains("keys/sign") && e.message().contains(AIP),
        "{}",
        e.message()
    );
    revoke(&ck, VAULT);
    let e = ck.err("Use-AipServiceKeyVaultKey", json!({"KeyVaultKeyUrl": url}));
    assert!(e.message().contains("keys/get"), "{}", e.message());
    grant(&ck, VAULT);

    // A key that cannot decrypt and sign, and a vault that cannot recover deleted keys.
    let wrap_only = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "wrap-only", "KeyOps": ["wrapKey", "unwrapKey"]}),
    )["Id"]
        .as_str()
        .unwrap()
        .to_string();
    let e = ck.err(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": wrap_only}),
    );
    assert!(
        e.message().contains("does not allow 'decrypt'"),
        "{}",
        e.message()
    );
    vault(&ck, "contoso-plain", false);
    let plain = vault_key(&ck, "contoso-plain", "tenant-key");
    let e = ck.err(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": plain}),
    );
    assert_eq!(e.code(), "VaultNotRecoverable");
    assert_eq!(keys(&ck).len(), 1, "nothing added by a refusal");
    ck.ok(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": plain, "AcceptUnrecoverableVault": true}),
    );

    let added = ck.ok(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": url, "FriendlyName": "Contoso BYOK"}),
    );
    assert_eq!(
        (added["Status"].as_str(), added["FriendlyName"].as_str()),
        (Some("Archived"), Some("Contoso BYOK"))
    );
    let e = ck.err("Use-AipServiceKeyVaultKey", json!({"KeyVaultKeyUrl": url}));
    assert_eq!(e.category(), "ResourceExists");
    let e = ck.err(
        "Set-AipServiceKeyProperties",
        json!({"KeyIdentifier": "4b1e8a3c-0000-4000-8000-000000000000", "Active": true}),
    );
    assert_eq!(e.category(), "ObjectNotFound");
}

#[test]
fn byok_backup_and_recover_through_key_vault_and_tenant_keys_guarded_in_key_references() {
    let (dir, ck) = tenant("aip-byok-backup");
    // Purge needs a vault without purge protection: accepted with -Force.
    vault(&ck, "contoso-purgeable", false);
    let url = vault_key(&ck, "contoso-purgeable", "tenant-key");
    let added = ck.ok(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": url, "AcceptUnrecoverableVault": true}),
    );
    let byok = id(&added);
    activate(&ck, &byok);
    let (doc, _) = protect(&ck, &dir, "recoverable");
    assert_eq!(unprotect(&ck, &doc).unwrap(), "recoverable");
    let backup = dir.join("tenant-key.keybackup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "contoso-purgeable", "Name": "tenant-key", "OutputFile": backup}),
    );

    // Removing or disabling a tenant key is refused, naming the content it would lock.
    let version = url.rsplit_once('/').unwrap().1;
    for (op, args) in [
        (
            "Remove-KeyVaultKey",
            json!({"VaultName": "contoso-purgeable", "Name": "tenant-key"}),
        ),
        (
            "Update-KeyVaultKey",
            json!({"VaultName": "contoso-purgeable", "Name": "tenant-key", "Version": version, "Enable": false}),
        ),
    ] {
        let e = ck.err(op, args);
        assert_eq!(e.code(), "KeyInUse", "{op}");
        assert!(
            e.message().contains(&format!("Active tenant key {byok}"))
                && e.message().contains("1 opened here so far"),
            "{op}: {}",
            e.message()
        );
    }
    // Archived keys guard their vault key as well.
    let other = vault_key(&ck, VAULT, "other");
    let archived = id(&ck.ok(
        "Use-AipServiceKeyVaultKey",
        json!({"KeyVaultKeyUrl": other}),
    ));
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "other"}),
    );
    assert!(
        e.message()
            .contains(&format!("Archived tenant key {archived}")),
        "{}",
        e.message()
    );

    // Lost for good (the admin insisted), then recovered from the backup.
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "contoso-purgeable", "Name": "tenant-key", "AcceptDataLoss": true}),
    );
    let e = ck.err(
        "Remove-KeyVaultKey",
        json!({"VaultName": "contoso-purgeable", "Name": "tenant-key", "InRemovedState": true}),
    );
    assert!(
        e.code() == "KeyInUse" && e.message().contains("Refusing to purge"),
        "{}",
        e.message()
    );
    ck.ok("Remove-KeyVaultKey", json!({"VaultName": "contoso-purgeable", "Name": "tenant-key", "InRemovedState": true, "AcceptDataLoss": true}));
    let e = unprotect(&ck, &doc).unwrap_err();
    assert_eq!(e.category(), "ObjectNotFound", "{}", e.message());
    ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "contoso-purgeable", "InputFile": backup}),
    );
    assert_eq!(unprotect(&ck, &doc).unwrap(), "recoverable");
}

#[test]
fn protected_files_name_their_key_and_hold_nothing_in_the_clear() {
    let (dir, ck) = tenant("aip-file");
    let (doc, key) = protect(&ck, &dir, "a very recognisable sentence");
    let bytes = std::fs::read(&doc).unwrap();
    assert!(bytes.windows(key.len()).any(|w| w == key.as_bytes()));
    assert!(!bytes.windows(10).any(|w| w == b"recognisab"));
    let out = ck.ok(
        "Unprotect-AipContent",
        json!({"InputFile": doc, "OutputFile": dir.join("plain.txt")}),
    );
    assert!(out["Value"].is_null());
    assert_eq!(
        std::fs::read_to_string(dir.join("plain.txt")).unwrap(),
        "a very recognisable sentence"
    );
    let e = ck.err(
        "Unprotect-AipContent",
        json!({"InputFile": doc, "OutputFile": dir.join("plain.txt")}),
    );
    assert_eq!(e.category(), "ResourceExists");
    // A file with -Path, binary content needs -OutputFile to come back.
    std::fs::write(dir.join("blob.bin"), [0u8, 159, 146, 150]).unwrap();
    ck.ok(
        "Protect-AipContent",
        json!({"Path": dir.join("blob.bin"), "OutputFile": dir.join("blob.ckaip")}),
    );
    let e = unprotect(&ck, &dir.join("blob.ckaip")).unwrap_err();
    assert!(e.message().contains("'OutputFile'"), "{}", e.message());
    let e = ck.err(
        "Protect-AipContent",
        json!({"OutputFile": dir.join("x.ckaip")}),
    );
    assert_eq!(e.category(), "InvalidArgument");
}
