//! The store files test's child (tests/it/store_files.rs): the store's files under umask 000.

use crate::common::{Ck, ADMIN};
use crate::{aip_support, sharepoint_common};
use serde_json::json;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

fn mode(path: &Path) -> u32 {
    std::fs::symlink_metadata(path).unwrap().mode() & 0o7777
}

/// Every file and folder under `dir`, depth first.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        out.push(path.clone());
        if path.is_dir() {
            walk(&path, out);
        }
    }
}

/// `ck-test-child store-files-umask <dir>`, run under umask 000 by tests/it/store_files.rs:
/// every kind of file the store and its operations create, checked while the session is still
/// open, so that store.db-wal and store.db-shm exist.
pub fn umask_workload(dir: &Path) {
    // SAFETY: umask only reads and sets this process's file mode mask.
    let umask = unsafe { libc::umask(0) };
    assert_eq!(umask, 0, "the child runs under umask 000");
    let store = dir.join("store");
    let out = dir.join("out");
    std::fs::create_dir(&out).unwrap();
    let ck = Ck::at(&store, ADMIN);
    for (vault, location) in [
        (sharepoint_common::VAULT_A, "westeurope"),
        (sharepoint_common::VAULT_B, "northeurope"),
    ] {
        ck.ok(
            "New-KeyVault",
            json!({"VaultName": vault, "Location": location, "EnablePurgeProtection": true}),
        );
        aip_support::grant(&ck, vault);
        sharepoint_common::grant_sharepoint(&ck, vault);
    }
    let version_a = sharepoint_common::add_key(&ck, sharepoint_common::VAULT_A, "spo-key");
    let version_b = sharepoint_common::add_key(&ck, sharepoint_common::VAULT_B, "spo-key");
    // Backups: into the store's own backups folder, and to a file of the caller's.
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": sharepoint_common::VAULT_A, "Name": "spo-key"}),
    );
    let outside = out.join("key.keybackup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": sharepoint_common::VAULT_A, "Name": "spo-key", "OutputFile": outside}),
    );
    // AIP: a protected file and a TPD.
    let protected = out.join("doc.ckaip");
    ck.ok(
        "Protect-AipContent",
        json!({"Value": "umask", "OutputFile": protected}),
    );
    let tpd = out.join("tenant.tpd");
    aip_support::export(&ck, &tpd, None).unwrap();
    // A background job: the SharePoint registration.
    ck.ok(
        "New-SPOSite",
        json!({"Url": sharepoint_common::site_url(0), "Title": "Site 0"}),
    );
    ck.ok(
        "Register-SPODataEncryptionPolicy",
        sharepoint_common::register_args(&version_a, &version_b),
    );
    sharepoint_common::wait_registered(&ck, std::time::Duration::from_secs(60));

    let mut paths = Vec::new();
    walk(&store, &mut paths);
    for name in [
        "store.db",
        "store.db-wal",
        "store.db-shm",
        "master.key",
        "backups",
    ] {
        assert!(
            paths.iter().any(|p| p.file_name().unwrap() == name),
            "{name} exists while the session is open: {paths:?}"
        );
    }
    paths.extend([outside, protected, tpd]);
    let mut wrong = Vec::new();
    for p in std::iter::once(&store).chain(&paths) {
        let want = if p.is_dir() { 0o700 } else { 0o600 };
        let got = mode(p);
        println!("{got:04o} {}", p.display());
        if got != want {
            wrong.push(format!("{} is {got:04o}, not {want:04o}", p.display()));
        }
    }
    println!(
        "{} paths checked under umask 000, {} with the wrong mode",
        paths.len() + 1,
        wrong.len()
    );
    assert!(wrong.is_empty(), "{wrong:#?}");
}
