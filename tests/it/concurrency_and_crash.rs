//! Several threads on one session, several sessions and processes on one store, and kill -9 at
//! any moment: the store is always as before or after each operation, never between.

use crate::common::*;
use serde_json::json;
use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Barrier};

#[test]
fn threads_share_one_session() {
    let (_dir, ck) = store_with_vaults("threads", &[("vault-a", "westeurope")]);
    let ck = Arc::new(ck);
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let ck = Arc::clone(&ck);
            std::thread::spawn(move || {
                for i in 0..3 {
                    let name = format!("t{t}-k{i}");
                    ck.ok(
                        "Add-KeyVaultKey",
                        json!({"VaultName": "vault-a", "Name": name}),
                    );
                    let wrapped = wrap(&ck, "vault-a", &name, None, name.as_bytes());
                    let version = wrapped["KeyId"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string();
                    let opened = unwrap(
                        &ck,
                        "vault-a",
                        &name,
                        &version,
                        wrapped["RawResult"].as_str().unwrap(),
                    )
                    .unwrap();
                    assert_eq!(opened["RawResult"], b64(name.as_bytes()));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("no thread failed");
    }
    assert_eq!(
        ck.ok("Get-KeyVaultKey", json!({"VaultName": "vault-a"}))
            .as_array()
            .unwrap()
            .len(),
        12
    );
}

#[test]
fn two_sessions_roll_the_same_key_at_once() {
    let (dir, first) = store_with_vaults("sessions", &[("vault-a", "westeurope")]);
    let second = Ck::at(&dir.join("store"), ADMIN);
    first.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "shared"}),
    );
    std::thread::scope(|s| {
        for ck in [&first, &second] {
            s.spawn(move || {
                for _ in 0..4 {
                    ck.ok(
                        "Add-KeyVaultKey",
                        json!({"VaultName": "vault-a", "Name": "shared"}),
                    );
                }
            });
        }
    });
    let versions = second.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "shared", "IncludeVersions": true}),
    );
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 9);
    let ids: HashSet<&str> = versions
        .iter()
        .map(|v| v["Version"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 9, "every roll made a version of its own");
}

#[test]
fn two_processes_write_one_store() {
    let dir = TempDir::new("procs");
    let store = dir.join("store");
    let cli = env!("CARGO_BIN_EXE_customer-key");
    let run = |args: &[&str]| {
        std::process::Command::new(cli)
            .arg("--store")
            .arg(&store)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(run(&[
        "New-KeyVault",
        "-VaultName",
        "vault-a",
        "-Location",
        "westeurope"
    ])
    .status
    .success());
    let children: Vec<_> = (0..2)
        .map(|p| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..3 {
                    let out = std::process::Command::new(cli)
                        .arg("--store")
                        .arg(&store)
                        .args([
                            "Add-KeyVaultKey",
                            "-VaultName",
                            "vault-a",
                            "-Name",
                            &format!("p{p}-{i}"),
                        ])
                        .output()
                        .unwrap();
                    assert!(
                        out.status.success(),
                        "{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            })
        })
        .collect();
    for c in children {
        c.join().unwrap();
    }
    let listed = run(&["Get-KeyVaultKey", "-VaultName", "vault-a"]);
    let keys: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(keys.as_array().unwrap().len(), 6);
}

#[test]
fn kill_9_at_any_moment_leaves_whole_operations_only() {
    let dir = TempDir::new("kill9");
    let store = dir.join("store");
    let cli = env!("CARGO_BIN_EXE_customer-key");
    let ck = Ck::at(&store, ADMIN);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-a", "Location": "westeurope"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "seed"}),
    );
    let backup = dir.join("seed.backup");
    ck.ok(
        "Backup-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "seed", "OutputFile": backup}),
    );
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "seed"}),
    );
    ck.ok(
        "Remove-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "seed", "InRemovedState": true}),
    );
    drop(ck);

    let mut seed = [0u8; 32];
    aws_lc_rs::rand::fill(&mut seed).unwrap();
    for round in 0..24usize {
        // Key generation (3072 bits) and restore take long enough for kills to land before,
        // during and after the transaction.
        let args: Vec<String> = match round % 3 {
            0 => vec![
                "Add-KeyVaultKey".into(),
                "-VaultName".into(),
                "vault-a".into(),
                "-Name".into(),
                format!("k{round}"),
                "-Size".into(),
                "3072".into(),
            ],
            1 => vec![
                "Restore-KeyVaultKey".into(),
                "-VaultName".into(),
                "vault-a".into(),
                "-InputFile".into(),
                backup.display().to_string(),
            ],
            _ => vec![
                "Add-KeyVaultKey".into(),
                "-VaultName".into(),
                "vault-a".into(),
                "-Name".into(),
                "rolled".into(),
            ],
        };
        let mut child = std::process::Command::new(cli)
            .arg("--store")
            .arg(&store)
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let delay_ms = u64::from(seed[round % 32]) % 120;
        std::thread::sleep(std::time::Duration::from_millis(delay_ms));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }

    // The database is intact, every key has its versions, and every version decrypts.
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let orphans: i64 = db
        .query_row("SELECT COUNT(*) FROM keys k WHERE NOT EXISTS (SELECT 1 FROM key_versions v WHERE v.vault = k.vault AND v.name = k.name)", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        orphans, 0,
        "a key without versions is a half-done operation"
    );
    drop(db);
    let ck = Ck::at(&store, ADMIN);
    let keys = ck.ok("Get-KeyVaultKey", json!({"VaultName": "vault-a"}));
    for key in keys.as_array().unwrap() {
        let name = key["Name"].as_str().unwrap();
        for v in ck
            .ok(
                "Get-KeyVaultKey",
                json!({"VaultName": "vault-a", "Name": name, "IncludeVersions": true}),
            )
            .as_array()
            .unwrap()
        {
            let version = v["Version"].as_str().unwrap();
            let wrapped = wrap(&ck, "vault-a", name, Some(version), b"check");
            assert_eq!(
                unwrap(
                    &ck,
                    "vault-a",
                    name,
                    version,
                    wrapped["RawResult"].as_str().unwrap()
                )
                .unwrap()["RawResult"],
                b64(b"check")
            );
        }
    }
    // Whether or not a killed round got as far as restoring the seed, restoring it once more
    // either brings it back or finds it whole: then it has its one version, and it works.
    match ck.call(
        "Restore-KeyVaultKey",
        json!({"VaultName": "vault-a", "InputFile": backup}),
    ) {
        Ok(restored) => assert_eq!(restored["Name"], "seed"),
        Err(e) => assert_eq!(e.category(), "ResourceExists", "{e:?}"),
    }
    let seed_versions = ck.ok(
        "Get-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "seed", "IncludeVersions": true}),
    );
    let seed_versions = seed_versions.as_array().unwrap();
    assert_eq!(seed_versions.len(), 1);
    let version = seed_versions[0]["Version"].as_str().unwrap();
    let wrapped = wrap(&ck, "vault-a", "seed", Some(version), b"seed check");
    assert_eq!(
        unwrap(
            &ck,
            "vault-a",
            "seed",
            version,
            wrapped["RawResult"].as_str().unwrap()
        )
        .unwrap()["RawResult"],
        b64(b"seed check")
    );
}

#[test]
fn processes_creating_the_same_new_store_at_once_all_succeed() {
    let cli = env!("CARGO_BIN_EXE_customer-key");
    for round in 0..5 {
        let dir = TempDir::new(&format!("create-race-{round}"));
        let store = dir.join("store");
        let children: Vec<_> = (0..8)
            .map(|_| {
                std::process::Command::new(cli)
                    .arg("--store")
                    .arg(&store)
                    .args(["Get-KeyVault"])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_one_complete_master_key(&store);
    }
}

/// The store holds one master key, complete and private, and no temporary key file.
fn assert_one_complete_master_key(store: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(store.join("master.key")).unwrap();
    assert_eq!(meta.len(), 32);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let leftovers: Vec<String> = std::fs::read_dir(store)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("master.key") && n != "master.key")
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn sessions_creating_one_store_at_once_share_one_master_key() {
    const SESSIONS: usize = 6;
    let dir = TempDir::new("create-threads");
    let store = dir.join("store");
    let start = Barrier::new(SESSIONS);
    // Each session opens (and so may create) the store at the same moment, then makes a key
    // in a vault of its own and wraps a value with it.
    let sessions: Vec<(Ck, String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..SESSIONS)
            .map(|i| {
                let (store, start) = (&store, &start);
                s.spawn(move || {
                    start.wait();
                    let ck = Ck::at(store, ADMIN);
                    let vault = format!("vault-{i}");
                    ck.ok(
                        "New-KeyVault",
                        json!({"VaultName": vault, "Location": "westeurope"}),
                    );
                    ck.ok("Add-KeyVaultKey", json!({"VaultName": vault, "Name": "k"}));
                    let wrapped = wrap(&ck, &vault, "k", None, vault.as_bytes());
                    let version = wrapped["KeyId"]
                        .as_str()
                        .unwrap()
                        .rsplit('/')
                        .next()
                        .unwrap()
                        .to_string();
                    (
                        ck,
                        version,
                        wrapped["RawResult"].as_str().unwrap().to_string(),
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_one_complete_master_key(&store);
    // Every session unseals every other session's key: they all hold the one master key.
    for (reader, _, _) in &sessions {
        for (i, (_, version, wrapped)) in sessions.iter().enumerate() {
            let vault = format!("vault-{i}");
            let opened = unwrap(reader, &vault, "k", version, wrapped).unwrap();
            assert_eq!(opened["RawResult"], b64(vault.as_bytes()));
        }
    }
}

#[test]
fn a_temporary_key_file_left_by_a_crash_does_not_break_opening() {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = TempDir::new("master-leftover");
    let store = dir.join("store");
    std::fs::create_dir(&store).unwrap();
    let leave_temp = |name: &str, bytes: &[u8]| {
        use std::io::Write;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(store.join(name))
            .unwrap()
            .write_all(bytes)
            .unwrap();
    };
    // A creator killed halfway through writing its key, before the store existed...
    leave_temp(".master.key.tmp-0123456789ab", &[7u8; 5]);
    let ck = Ck::at(&store, ADMIN);
    ck.ok(
        "New-KeyVault",
        json!({"VaultName": "vault-a", "Location": "westeurope"}),
    );
    ck.ok(
        "Add-KeyVaultKey",
        json!({"VaultName": "vault-a", "Name": "k"}),
    );
    let wrapped = wrap(&ck, "vault-a", "k", None, b"kept");
    drop(ck);
    // ...and one that lost the race with a complete key of its own, after the store existed.
    leave_temp(".master.key.tmp-ba9876543210", &[9u8; 32]);
    let ck = Ck::at(&store, ADMIN);
    let version = wrapped["KeyId"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let opened = unwrap(
        &ck,
        "vault-a",
        "k",
        version,
        wrapped["RawResult"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(opened["RawResult"], b64(b"kept"));
    assert_eq!(std::fs::read(store.join("master.key")).unwrap().len(), 32);
}
