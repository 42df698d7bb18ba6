//! The store's files on disk: 0600 files and 0700 folders whatever the umask, and a store
//! directory someone else could change refused with the rule it breaks.

use crate::common;

use crate::common::{Ck, TempDir, ADMIN};
use serde_json::json;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

#[test]
fn every_store_file_is_private_under_umask_000() {
    let dir = TempDir::new("umask");
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"umask 000; exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_ck-test-child"))
        .arg("store-files-umask")
        .arg(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "the umask 000 child failed");
    assert!(
        stdout.contains("paths checked under umask 000, 0 with the wrong mode"),
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
