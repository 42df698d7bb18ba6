//! Backup and restore of whole keys: every version, ids kept, conflicts, tampering, geography,
//! and blobs from another store.

use crate::common::*;
use serde_json::json;
use std::os::unix::fs::PermissionsExt;

#[test]
fn restore_into_a_second_vault_brings_back_every_version() {
    let (dir, ck) = store_with_vaults(
        "restore",
        &[("vault-a1", "westeurope"), ("vault-a2", "northeurope")],
    );
    let v1 = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "Tag": {"owner": "alice"}}),
    )["Version"]
        .as_str()
        .unwrap()
        .to_string();
    let wrapped = wrap(&ck, "vault-a1", "key001", None, b"a mailbox key");
    let v2 = ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "Disable": true}),
    )["Version"]
        .as_str()
        .unwrap()
        .to_string();

    let file = dir.join("key001.backup");
    let out = ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    assert_eq!(out["OutputFile"], file.display().to_string());
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let restored = ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a2", "InputFile": file}),
    );
    assert_eq!(restored["VaultName"], "vault-a2");
    assert_eq!(restored["Version"], v2.as_str());
    assert_eq!(
        restored["Id"],
        format!("https://vault-a2.vault.azure.net/keys/key001/{v2}")
    );
    let versions = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a2", "Name": "key001", "IncludeVersions": true}),
    );
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["Version"], v1.as_str());
    assert_eq!(versions[0]["Tags"]["owner"], "alice");
    assert_eq!(versions[1]["Enabled"], false);
    // The restored copy opens what the original wrapped.
    let opened = unwrap(
        &ck,
        "vault-a2",
        "key001",
        &v1,
        wrapped["RawResult"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(opened["RawResult"], b64(b"a mailbox key"));
}

#[test]
fn restore_fails_with_conflict_when_the_name_exists_even_deleted() {
    let (dir, ck) = store_with_vaults("conflict", &[("vault-a1", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let file = dir.join("b.backup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    let e = ck.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a1", "InputFile": file}),
    );
    assert_eq!(
        (e.status, e.code(), e.category()),
        (3, "Conflict", "ResourceExists")
    );
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let e = ck.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a1", "InputFile": file}),
    );
    assert_eq!(e.code(), "Conflict");
    assert!(e.message().contains("deleted"));
    // After a purge the restore works.
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "InRemovedState": true}),
    );
    ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a1", "InputFile": file}),
    );
}

#[test]
fn a_changed_byte_anywhere_fails_the_restore_and_restores_nothing() {
    let (dir, ck) = store_with_vaults(
        "tamper",
        &[("vault-a1", "westeurope"), ("vault-a2", "westeurope")],
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let file = dir.join("b.backup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    let original = std::fs::read(&file).unwrap();
    let tampered = dir.join("t.backup");
    // Flip one bit at a spread of positions: magic, header, nonce, ciphertext, tag.
    let positions: Vec<usize> = (0..original.len())
        .step_by((original.len() / 40).max(1))
        .chain([original.len() - 1])
        .collect();
    for pos in positions {
        let mut bytes = original.clone();
        bytes[pos] ^= 0x01;
        std::fs::write(&tampered, &bytes).unwrap();
        let e = ck.err(
            "Restore-KeyVaultKey",
            json!({"VaultName": "vault-a2", "InputFile": tampered}),
        );
        assert!(e.message().contains("InputFile"), "byte {pos}: {e:?}");
        assert!(
            matches!(e.category(), "InvalidArgument" | "InvalidOperation"),
            "byte {pos}: {e:?}"
        );
    }
    // A truncated blob too.
    std::fs::write(&tampered, &original[..original.len() - 20]).unwrap();
    assert!(ck
        .err(
            "Restore-KeyVaultKey",
            json!({"VaultName": "vault-a2", "InputFile": tampered})
        )
        .message()
        .contains("InputFile"));
    // Never a partial key.
    assert_eq!(
        ck.ok("Get-KeyVaultKey", json!({"VaultName": "vault-a2"}))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    // The intact file still restores.
    ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a2", "InputFile": file}),
    );
}

#[test]
fn restore_refuses_another_geography_and_another_store() {
    let (dir, ck) = store_with_vaults(
        "geo",
        &[
            ("vault-eu", "westeurope"),
            ("vault-us", "eastus"),
            ("vault-eu2", "North Europe"),
        ],
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-eu", "Name": "key001"}),
    );
    let file = dir.join("b.backup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-eu", "Name": "key001", "OutputFile": file}),
    );
    let e = ck.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-us", "InputFile": file}),
    );
    assert_eq!(e.code(), "GeographyMismatch");
    assert!(e.message().contains("Europe") && e.message().contains("UnitedStates"));
    // northeurope is the same geography as westeurope.
    ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-eu2", "InputFile": file}),
    );

    let other_dir = TempDir::new("geo-other");
    let other = Ck::at(&other_dir.join("store"), ADMIN);
    other.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-eu", "Location": "westeurope"}),
    );
    let e = other.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-eu", "InputFile": file}),
    );
    assert!(e.message().contains("another CustomerKey store"), "{e:?}");
}

#[test]
fn backup_does_not_overwrite_without_force_and_has_a_default_place() {
    let (dir, ck) = store_with_vaults("overwrite", &[("vault-a1", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let file = dir.join("b.backup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    let first = std::fs::read(&file).unwrap();
    let e = ck.err(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    assert!(e.message().contains("OutputFile") && e.message().contains("-Force"));
    assert_eq!(e.category(), "ResourceExists");
    assert_eq!(std::fs::read(&file).unwrap(), first);
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file, "Force": true}),
    );
    assert_ne!(
        std::fs::read(&file).unwrap(),
        first,
        "a fresh blob (new nonce) replaced it"
    );

    let out = ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let default = std::path::PathBuf::from(out["OutputFile"].as_str().unwrap());
    assert!(default.starts_with(dir.join("store").join("backups")));
    assert!(default.exists());
    assert_eq!(
        std::fs::metadata(default.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777,
        0o700
    );
}

#[test]
fn backups_cannot_overwrite_the_store_or_files_that_are_not_backups() {
    let (dir, admin) = store_with_vaults("clobber", &[("vault-a1", "westeurope")]);
    admin.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    admin.ok("Set-KeyVaultAccessPolicy", json!({"VaultName": "vault-a1", "UserPrincipalName": "backup@contoso.com", "PermissionsToKeys": ["backup"]}));
    let operator = Ck::at(&dir.join("store"), "backup@contoso.com");
    let master = std::fs::read(dir.join("store/master.key")).unwrap();
    for target in ["store/master.key", "store/store.db", "store/new.keybackup"] {
        let e = operator.err("Backup-KeyVaultKey", json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": dir.join(target), "Force": true}));
        assert!(
            e.message().contains("OutputFile") && e.message().contains("inside the store"),
            "{target}: {e:?}"
        );
    }
    assert_eq!(std::fs::read(dir.join("store/master.key")).unwrap(), master);
    admin.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    // -Force replaces an earlier backup, never another kind of file.
    let notes = dir.join("notes.txt");
    std::fs::write(&notes, b"not a backup").unwrap();
    let e = operator.err(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": notes, "Force": true}),
    );
    assert!(e.message().contains("not a key backup"));
    assert_eq!(std::fs::read(&notes).unwrap(), b"not a backup");
    let file = dir.join("k.keybackup");
    operator.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    operator.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file, "Force": true}),
    );
}

#[test]
fn hsm_keys_restore_only_into_premium_vaults() {
    let (dir, ck) = store_with_vaults("hsmrestore", &[("vault-std", "westeurope")]);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-prem", "Location": "westeurope", "Sku": "Premium"}),
    );
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-prem2", "Location": "northeurope", "Sku": "Premium"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-prem", "Name": "hsm-key", "Destination": "HSM"}),
    );
    let file = dir.join("hsm.keybackup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-prem", "Name": "hsm-key", "OutputFile": file}),
    );
    let e = ck.err(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-std", "InputFile": file}),
    );
    assert_eq!(e.code(), "HsmNeedsPremium");
    assert_eq!(
        ck.ok("Get-KeyVaultKey", json!({"VaultName": "vault-std"}))
            .as_array()
            .unwrap()
            .len(),
        0
    );
    assert_eq!(
        ck.ok(
            "Restore-KeyVaultKey",
            json!({"VaultName": "vault-prem2", "InputFile": file})
        )["KeyType"],
        "RSA-HSM"
    );
}

#[test]
fn a_backup_that_cannot_be_written_is_audited_as_failed_only() {
    let (dir, ck) = store_with_vaults("backup-unwritable", &[("vault-a1", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    // A folder that is a regular file: unwritable whoever runs the test (root included), and
    // found out only when the file is written.
    let not_a_folder = dir.join("not-a-folder");
    std::fs::write(&not_a_folder, b"plain file").unwrap();
    let target = not_a_folder.join("key001.keybackup");
    let e = ck.err(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": target}),
    );
    assert_eq!(e.category(), "WriteError", "{e:?}");
    drop(ck);
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(dir.join("store")),
        ..Default::default()
    })
    .unwrap();
    let backups: Vec<String> = session
        .store()
        .audit_log()
        .unwrap()
        .into_iter()
        .filter(|(_, _, operation, _, _)| operation == "Backup-KeyVaultKey")
        .map(|(_, _, _, target, result)| format!("{target}: {result}"))
        .collect();
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(
        backups[0].starts_with("vault-a1/key001: Failed: "),
        "{backups:?}"
    );
}

#[test]
fn a_written_backup_is_audited_with_where_it_went() {
    let (dir, ck) = store_with_vaults("backup-audited", &[("vault-a1", "westeurope")]);
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let file = dir.join("key001.keybackup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    drop(ck);
    let session = customer_key::open_session(customer_key::SessionOptions {
        store: Some(dir.join("store")),
        ..Default::default()
    })
    .unwrap();
    let log = session.store().audit_log().unwrap();
    let backup_rows: Vec<_> = log
        .iter()
        .filter(|(_, _, operation, _, _)| operation == "Backup-KeyVaultKey")
        .collect();
    assert_eq!(backup_rows.len(), 1);
    assert_eq!(backup_rows[0].3, "vault-a1/key001");
    assert_eq!(
        backup_rows[0].4,
        format!("Succeeded: written to {}", file.display())
    );
}

/// A FAT filesystem (a real one: an image made by mkfs.fat, mounted through FUSE by fusefat),
/// unmounted when dropped.
struct FatMount {
    dir: std::path::PathBuf,
}

impl FatMount {
    /// Needs root (or FUSE rights), `mkfs.fat` (dosfstools) and `fusefat`; tests/run-all.sh
    /// installs both. Without them the test fails, saying so, unless CK_SKIP_FAT_TEST=1.
    fn make(at: &std::path::Path) -> Option<FatMount> {
        use std::process::Command;
        let have = |tool: &str| {
            Command::new("sh")
                .args(["-c", &format!("command -v {tool}")])
                .output()
                .is_ok_and(|o| o.status.success())
        };
        if !(have("mkfs.fat") && have("fusefat")) {
            if std::env::var_os("CK_SKIP_FAT_TEST").is_some() {
                eprintln!("SKIPPED (CK_SKIP_FAT_TEST): the backup to a FAT filesystem");
                return None;
            }
            panic!("mkfs.fat and fusefat are needed (apt-get install dosfstools fusefat), or set CK_SKIP_FAT_TEST=1");
        }
        let image = at.join("fat.img");
        let dir = at.join("fat");
        std::fs::create_dir(&dir).unwrap();
        let made = Command::new("mkfs.fat")
            .args(["-C", image.to_str().unwrap(), "8192"])
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        let mounted = Command::new("fusefat")
            .args(["-o", "rw+", image.to_str().unwrap(), dir.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(mounted.status.success(), "{mounted:?}");
        Some(FatMount { dir })
    }
}

impl Drop for FatMount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("fusermount")
            .arg("-u")
            .arg(&self.dir)
            .status();
    }
}

#[test]
fn a_backup_goes_to_a_filesystem_without_hard_links() {
    let (dir, ck) = store_with_vaults(
        "backup-fat",
        &[("vault-a1", "westeurope"), ("vault-a2", "northeurope")],
    );
    let Some(fat) = FatMount::make(dir.path()) else {
        return;
    };
    // The point of the test: links fail here as on a FAT USB stick.
    std::fs::write(fat.dir.join("probe"), b"x").unwrap();
    let link = std::fs::hard_link(fat.dir.join("probe"), fat.dir.join("probe2"));
    assert!(link.is_err(), "this FAT mount has hard links");
    std::fs::remove_file(fat.dir.join("probe")).unwrap();

    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001"}),
    );
    let file = fat.dir.join("key001.keybackup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    // Only the backup: no temporary file left beside it.
    let names: Vec<_> = std::fs::read_dir(&fat.dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["key001.keybackup"]);
    // Still never replaced without -Force.
    let e = ck.err(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a1", "Name": "key001", "OutputFile": file}),
    );
    assert_eq!(e.code(), "FileExists", "{e:?}");
    let restored = ck.ok(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a2", "InputFile": file}),
    );
    assert_eq!(restored["Name"], "key001");
}
