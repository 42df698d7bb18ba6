//! A key roll killed with SIGKILL mid-way resumes in a new session, and every file is readable
//! at the end.
//!
//! Processes: `child_process` is this binary re-invoked (with `--exact child_process`) in the
//! role named by `CK_SPO_TEST_ROLE`; run as an ordinary test it has nothing to do.

mod common;
mod sharepoint_common;

use common::*;
use serde_json::json;
use sharepoint_common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const ROLE_ENV: &str = "CK_SPO_TEST_ROLE";
const STORE_ENV: &str = "CK_SPO_TEST_STORE";
const VERSION_ENV: &str = "CK_SPO_TEST_VERSION";
const SITES: usize = 1_000;
const FILE_EVERY: usize = 5;

/// The other process of this test; see the module comment.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let store = PathBuf::from(std::env::var(STORE_ENV).unwrap());
    let ck = Ck::at(&store, ADMIN);
    match role.as_str() {
        // Starts the roll and keeps the session (and its job runner) open until killed.
        "roll-primary" => {
            let version = std::env::var(VERSION_ENV).unwrap();
            ck.ok(
                "Update-SPODataEncryptionPolicy",
                json!({"KeyType": "Primary", "KeyVaultName": VAULT_A, "KeyName": KEY, "KeyVersion": version}),
            );
            std::thread::sleep(Duration::from_secs(120));
            panic!("not killed within two minutes");
        }
        other => panic!("unknown role {other}"),
    }
}

/// (sites under the policy's TIK, policy state), read straight from the database.
fn progress(store: &Path) -> (i64, String) {
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    db.busy_timeout(Duration::from_secs(5)).unwrap();
    db.query_row(
        "SELECT (SELECT COUNT(*) FROM spo_sites WHERE generation = p.generation), p.state
         FROM spo_policy p",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn a_roll_killed_mid_way_resumes_in_a_new_session_with_every_file_readable() {
    pace_batches(50, 10);
    let t = tenant("spo-kill9", SITES, FILE_EVERY);
    t.ck.ok(
        "Register-SPODataEncryptionPolicy",
        register_args(&t.version_a, &t.version_b),
    );
    wait_registered(&t.ck, Duration::from_secs(120));
    let new_a = add_key(&t.ck, VAULT_A, KEY);
    let store = t.dir.join("store");
    let Tenant { dir: _dir, ck, .. } = t;
    drop(ck); // this process's runner must not take the job over

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_process", "--test-threads=1"])
        .env(ROLE_ENV, "roll-primary")
        .env(STORE_ENV, &store)
        .env(VERSION_ENV, &new_a)
        .env("CUSTOMER_KEY_SPO_BATCH_SIZE", "20")
        .env("CUSTOMER_KEY_SPO_BATCH_PAUSE_MS", "20")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let done_at_kill = loop {
        let (done, state) = progress(&store);
        if state == "Rolling" && done >= 100 {
            break done;
        }
        assert!(Instant::now() < deadline, "the roll did not start");
        std::thread::sleep(Duration::from_millis(5));
    };
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (done, state) = progress(&store);
    assert_eq!(state, "Rolling");
    assert!(
        done >= done_at_kill && (done as usize) < SITES,
        "{done} of {SITES} at the kill"
    );

    let ck = Ck::at(&store, ADMIN);
    let p = policy(&ck);
    assert_eq!(p["State"], "Rolling");
    assert_eq!(p["SitesDone"], done);
    // Sites on both TIKs read while the new session's runner finishes the roll.
    assert_files_readable(&ck, SITES, FILE_EVERY);
    let rolled = wait_registered(&ck, Duration::from_secs(120))
        .pop()
        .unwrap();
    assert_eq!(rolled["SitesDone"], SITES as u64);
    assert!(rolled["PrimaryKeyVaultUri"]
        .as_str()
        .unwrap()
        .ends_with(&new_a));
    assert_files_readable(&ck, SITES, FILE_EVERY);
}
