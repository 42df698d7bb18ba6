//! The store's files on disk: 0600 files and 0700 folders whatever the umask, and a store
//! directory someone else could change refused with the rule it breaks.

mod aip_support;
mod common;
mod sharepoint_common;

use common::{Ck, TempDir, ADMIN};
use serde_json::json;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const CHILD_ENV: &str = "CK_STORE_FILES_CHILD_DIR";

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

/// The workload, run by the child process under umask 000 (see the test below): every kind
/// of file the store and its operations create, checked while the session is still open, so
/// that store.db-wal and store.db-shm exist.
#[test]
#[ignore = "run by every_store_file_is_private_under_umask_000, in a child with umask 000"]
fn umask_child_workload() {
    let Some(dir) = std::env::var_os(CHILD_ENV).map(PathBuf::from) else {
        return;
    };
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

#[test]
fn every_store_file_is_private_under_umask_000() {
    let dir = TempDir::new("umask");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000; exec "$0" "$@""#)
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "umask_child_workload",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &dir.0)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the umask 000 child failed");
    assert!(
        stdout.contains("1 passed"),
        "the child ran its workload: {stdout}"
    );
}

fn open_error(store: &Path) -> common::CallError {
    match Ck::open(json!({"Store": store, "UserPrincipalName": ADMIN})) {
        Ok(_) => panic!("{} opened", store.display()),
        Err(e) => e,
    }
}

#[test]
fn a_store_directory_writable_by_group_or_others_is_refused() {
    let dir = TempDir::new("store-mode");
    let store = dir.join("store");
    drop(Ck::at(&store, ADMIN));
    for bad in [0o770, 0o707, 0o777, 0o720] {
        std::fs::set_permissions(&store, std::fs::Permissions::from_mode(bad)).unwrap();
        let e = open_error(&store);
        assert_eq!(e.code(), "InsecureStore", "{e:?}");
        let m = e.message();
        assert!(m.starts_with("Parameter 'Store': "), "{m}");
        assert!(m.contains("writable by its group or by other users"), "{m}");
        assert!(m.contains(&format!("mode {bad:04o}")), "{m}");
        assert!(m.contains("chmod 700"), "{m}");
    }
    // Readable by others is not a risk the directory adds (its files are 0600): it opens.
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o755)).unwrap();
    let ck = Ck::at(&store, ADMIN);
    ck.ok("Get-KeyVault", json!({}));
}

#[test]
fn a_store_directory_owned_by_another_user_is_refused() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        println!("SKIPPED: only root can give a directory to another user (chown); run as root to test it");
        return;
    }
    let dir = TempDir::new("store-owner");
    let store = dir.join("store");
    drop(Ck::at(&store, ADMIN));
    let nobody = 65534;
    std::os::unix::fs::chown(&store, Some(nobody), Some(nobody)).unwrap();
    let e = open_error(&store);
    assert_eq!(e.code(), "InsecureStore", "{e:?}");
    assert!(
        e.message().starts_with("Parameter 'Store': ")
            && e.message().contains("is owned by another user (uid 65534")
            && e.message()
                .contains("must belong to the user who runs CustomerKey"),
        "{}",
        e.message()
    );
    // Given back to this user, it opens again.
    std::os::unix::fs::chown(&store, Some(0), Some(0)).unwrap();
    drop(Ck::at(&store, ADMIN));
}
