//! Trusted publishing domain files through the C ABI: the round trip between two stores, wrong
//! passwords and changed bytes refused with nothing imported, the AD RMS migration that binds
//! a TPD's key to a Key Vault key, and no password or key material in the audit table.

use crate::aip_support::*;
use crate::common::{Ck, TempDir, ADMIN};
use customer_key::crypto::tpd::{self, TpdKey};
use customer_key::crypto::Secret;
use serde_json::json;

#[test]
fn a_tpd_carries_every_microsoft_managed_key_to_another_store_where_old_content_opens() {
    let (dir, source) = tenant("aip-tpd-source");
    let first = id(&active(&source));
    let (doc1, _) = protect(&source, &dir, "first key's content");
    // Re-key within the source, so the TPD holds an Active and an Archived key.
    let other_dir = TempDir::new("aip-tpd-third");
    let third = Ck::at(&other_dir.join("store"), ADMIN);
    let tpd3 = dir.join("third.tpd");
    export(&third, &tpd3, None).unwrap();
    let second = id(&import(&source, &tpd3, PASSWORD).unwrap()[0]);
    activate(&source, &second);
    let (doc2, _) = protect(&source, &dir, "second key's content");

    let tpd_file = dir.join("source.tpd");
    let exported = export(&source, &tpd_file, None).unwrap();
    assert_eq!(exported["KeyIdentifiers"], json!([first, second]));
    let bytes = std::fs::read(&tpd_file).unwrap();
    assert!(
        !bytes.windows(first.len()).any(|w| w == first.as_bytes()),
        "key ids are inside the sealed body"
    );

    let target_dir = TempDir::new("aip-tpd-target");
    let target = Ck::at(&target_dir.join("store"), ADMIN);
    let own = id(&active(&target));
    let e = unprotect(&target, &doc1).unwrap_err();
    assert_eq!(e.category(), "ObjectNotFound");
    let imported = target
        .call(
            "Import-AipServiceTpd",
            json!({"TpdFile": tpd_file, "ProtectionPassword": PASSWORD, "FriendlyName": "Contoso from source"}),
        )
        .unwrap();
    let imported = imported.as_array().unwrap();
    assert_eq!(imported.len(), 2);
    for k in imported {
        assert_eq!(k["Status"], "Archived");
        assert_eq!(k["KeyType"], "Microsoft-managed");
        assert_eq!(k["FriendlyName"], "Contoso from source");
    }
    assert_eq!(id(&active(&target)), own, "imported keys are Archived");
    assert_eq!(unprotect(&target, &doc1).unwrap(), "first key's content");
    assert_eq!(unprotect(&target, &doc2).unwrap(), "second key's content");

    // A second import of the same keys is refused whole.
    let e = import(&target, &tpd_file, PASSWORD).unwrap_err();
    assert_eq!(e.category(), "ResourceExists");
    assert_eq!(keys(&target).len(), 3);

    // One key by name.
    let single = dir.join("single.tpd");
    let one = export(&source, &single, Some(&first)).unwrap();
    assert_eq!(one["KeyIdentifiers"], json!([first]));
}

#[test]
fn a_wrong_password_or_one_changed_byte_is_refused_clearly_and_imports_nothing() {
    let (dir, source) = tenant("aip-tpd-refusals");
    let tpd_file = dir.join("source.tpd");
    export(&source, &tpd_file, None).unwrap();
    let target_dir = TempDir::new("aip-tpd-refusals-target");
    let target = Ck::at(&target_dir.join("store"), ADMIN);
    let before = keys(&target);

    let e = import(&target, &tpd_file, "correct horse battery stapl").unwrap_err();
    assert_eq!(e.category(), "InvalidArgument");
    assert!(
        e.message().contains("'ProtectionPassword'") && e.message().contains("password is wrong"),
        "{}",
        e.message()
    );

    let original = std::fs::read(&tpd_file).unwrap();
    let changed = dir.join("changed.tpd");
    let body_byte = original.len() - 40;
    let mut bytes = original.clone();
    bytes[body_byte] ^= 0x01;
    std::fs::write(&changed, &bytes).unwrap();
    let e = import(&target, &changed, PASSWORD).unwrap_err();
    assert!(
        e.message().contains("'TpdFile'") && e.message().contains("was changed"),
        "{}",
        e.message()
    );

    let mut bytes = original.clone();
    bytes[12] ^= 0x80; // the salt
    std::fs::write(&changed, &bytes).unwrap();
    let e = import(&target, &changed, PASSWORD).unwrap_err();
    assert!(
        e.message().contains("header was changed"),
        "{}",
        e.message()
    );

    std::fs::write(&changed, &original[..original.len() - 1]).unwrap();
    let e = import(&target, &changed, PASSWORD).unwrap_err();
    assert!(
        e.message().contains("'TpdFile'") && e.message().contains("ends early"),
        "{}",
        e.message()
    );
    std::fs::write(&changed, b"not a tpd").unwrap();
    let e = import(&target, &changed, PASSWORD).unwrap_err();
    assert!(
        e.message().contains("not a trusted publishing domain file"),
        "{}",
        e.message()
    );
    let e = import(&target, &dir.join("missing.tpd"), PASSWORD).unwrap_err();
    assert!(e.message().contains("'TpdFile'"), "{}", e.message());

    assert_eq!(keys(&target), before, "nothing imported");
    assert_eq!(
        import(&target, &tpd_file, PASSWORD)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn export_refuses_short_passwords_existing_files_and_the_store_folder() {
    let (dir, ck) = tenant("aip-tpd-export-rules");
    let file = dir.join("t.tpd");
    let e = ck.err(
        "Export-AipServiceTpd",
        json!({"OutputFile": file, "ProtectionPassword": "short"}),
    );
    assert!(
        e.message().contains("'ProtectionPassword'") && e.message().contains("12 characters"),
        "{}",
        e.message()
    );
    assert!(
        !e.message().contains("short\""),
        "the password is not echoed"
    );
    export(&ck, &file, None).unwrap();
    let e = export(&ck, &file, None).unwrap_err();
    assert_eq!(e.category(), "ResourceExists");
    ck.ok(
        "Export-AipServiceTpd",
        json!({"OutputFile": file, "ProtectionPassword": PASSWORD, "Force": true}),
    );
    let e = export(&ck, &dir.join("store").join("t.tpd"), None).unwrap_err();
    assert!(
        e.message().contains("inside the store folder"),
        "{}",
        e.message()
    );
}

#[test]
fn passwords_and_key_material_stay_out_of_the_audit_table_and_the_json() {
    let (dir, ck) = tenant("aip-tpd-secrets");
    let (doc, _) = protect(&ck, &dir, "audited, not leaked");
    let file = dir.join("t.tpd");
    export(&ck, &file, None).unwrap();
    let _ = import(&ck, &file, "a wrong password that is long");
    let listed = ck.ok("Get-AipServiceKeys", json!({})).to_string();
    assert!(!listed.contains("Private") && !listed.contains("Sealed"));
    drop(ck);
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(dir.join("store")),
        user_principal_name: Some(ADMIN.into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .unwrap();
    let audit = session.store().audit_log().unwrap();
    let text = format!("{audit:?}");
    assert!(!text.contains(PASSWORD) && !text.contains("a wrong password"));
    assert!(!text.contains("audited, not leaked"));
    assert!(audit
        .iter()
        .any(|r| r.2 == "Export-AipServiceTpd" && r.4.starts_with("Succeeded")));
    assert!(audit
        .iter()
        .any(|r| r.2 == "Import-AipServiceTpd" && r.4.starts_with("Failed")));
    assert!(audit
        .iter()
        .any(|r| r.2 == "Protect-AipContent" && r.4.starts_with("Succeeded: Protect")));
    let _ = doc;
}

/// An AD RMS-style TPD (written with the library's TPD writer from a key the test made): the
/// key is imported into Key Vault, and the TPD imported bound to it.
#[test]
fn a_tpd_bound_to_its_key_in_key_vault_becomes_a_byok_key_that_opens_old_content() {
    let (dir, ck) = tenant("aip-tpd-migration");
    let key = customer_key::crypto::generate_rsa(2048).unwrap();
    let pkcs8 = key.pkcs8.expose().to_vec();
    std::fs::write(dir.join("adrms.der"), &pkcs8).unwrap();
    let adrms_id = "5a0f3c2e-8b1d-4c6a-9e7f-1d2c3b4a5e6f";
    let tpd_bytes = tpd::seal(
        &[TpdKey {
            key_identifier: adrms_id.into(),
            friendly_name: "AD RMS".into(),
            creation_time: 1_600_000_000,
            pkcs8: Secret::new(pkcs8),
        }],
        PASSWORD,
    )
    .unwrap();
    let tpd_file = dir.join("adrms.tpd");
    std::fs::write(&tpd_file, &tpd_bytes).unwrap();

    // Content protected under AD RMS (modelled: a store holding the TPD's key Active).
    let adrms_dir = TempDir::new("aip-tpd-adrms");
    let adrms = Ck::at(&adrms_dir.join("store"), ADMIN);
    import(&adrms, &tpd_file, PASSWORD).unwrap();
    activate(&adrms, adrms_id);
    let (doc, with) = protect(&adrms, &dir, "protected under AD RMS");
    assert_eq!(with, adrms_id);

    let wrong = vault_key(&ck, VAULT, "unrelated");
    let e = ck
        .call(
            "Import-AipServiceTpd",
            json!({"TpdFile": tpd_file, "ProtectionPassword": PASSWORD, "KeyVaultKeyUrl": wrong}),
        )
        .unwrap_err();
    assert!(
        e.message().contains("is not the TPD's key"),
        "{}",
        e.message()
    );

    let imported = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": VAULT, "Name": "adrms-key", "KeyFilePath": dir.join("adrms.der")}),
    );
    let url = imported["Id"].as_str().unwrap();
    let bound = ck.ok(
        "Import-AipServiceTpd",
        json!({"TpdFile": tpd_file, "ProtectionPassword": PASSWORD, "KeyVaultKeyUrl": url}),
    );
    let bound = &bound[0];
    assert_eq!(id(bound), adrms_id);
    assert_eq!(bound["KeyType"], "Customer-managed (BYOK)");
    assert_eq!(bound["Status"], "Archived");
    assert_eq!(bound["KeyVaultKeyUrl"], json!(url));
    assert_eq!(unprotect(&ck, &doc).unwrap(), "protected under AD RMS");
    // It goes through the vault: revoking the service's access stops it.
    revoke(&ck, VAULT);
    assert_eq!(
        unprotect(&ck, &doc).unwrap_err().category(),
        "PermissionDenied"
    );
}
