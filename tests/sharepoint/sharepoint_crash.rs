//! A key roll killed with SIGKILL mid-way resumes in a new session, and every file is readable
//! at the end.
//!
//! The killed process is `ck-test-child sharepoint-roll-primary` (tests/children).

use crate::common::*;
use crate::sharepoint_common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const SITES: usize = 1_000;
const FILE_EVERY: usize = 5;

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

    let mut child = Command::new(env!("CARGO_BIN_EXE_ck-test-child"))
        .arg("sharepoint-roll-primary")
        .arg(&store)
        .arg(&new_a)
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
