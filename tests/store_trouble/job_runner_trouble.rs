//! The runner's store errors are never silent: while another connection holds the store's
//! write lock, a failure the runner could not record on its job is kept and written once the
//! store is back, and the jobs held up show the runner's trouble as their last error (through
//! the job API and the Exchange status cmdlet), until the next successful claim clears it.
//!
//! The busy timeout is shortened with the test-hooks switch, so the store fails in 200 ms
//! rather than ten seconds.

use crate::common::{TempDir, ADMIN};
use crate::exchange_support::*;
use customer_key::jobs::{self, JobKind, JobRecord, JobState, LedgerKind};
use customer_key::store::TEST_BUSY_TIMEOUT_ENV;
use customer_key::{Session, SessionOptions};
use serde_json::{json, Value};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const STALLED: &str = "JobRunnerStalled: the job runner cannot use the store since ";

/// A session whose runner serves only the ledger kind, with a 200 ms busy timeout.
fn ledger_session(store: &Path) -> Session {
    std::env::set_var(TEST_BUSY_TIMEOUT_ENV, "200");
    let kinds: Vec<Arc<dyn JobKind>> = vec![Arc::new(LedgerKind)];
    Session::open(
        SessionOptions {
            store: Some(store.to_path_buf()),
            user_principal_name: Some(ADMIN.into()),
            time_shift_seconds: None,
            ..Default::default()
        },
        kinds,
        customer_key::vault::open_azure,
    )
    .expect("session opens")
}

fn wait_for(
    session: &Session,
    id: i64,
    what: &str,
    done: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let job = jobs::get(session.store(), id)
            .unwrap()
            .expect("the job exists");
        if done(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "{what}: job is {job:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Holds the store's write lock until dropped (rolled back).
fn hold_write_lock(store: &Path) -> rusqlite::Connection {
    let db = rusqlite::Connection::open(store.join("store.db")).unwrap();
    db.execute_batch("BEGIN IMMEDIATE").unwrap();
    db
}

/// Submits a two-item ledger job whose batches take 800 ms, waits until its first batch is
/// being computed and takes the write lock, so that batch's commit, its failure's record and
/// the next claim all fail.
fn stall_a_batch(session: &Session, store: &Path) -> (i64, rusqlite::Connection) {
    let id = jobs::submit(
        session.store(),
        LedgerKind::NAME,
        "stalled",
        2,
        &json!({"batch_size": 1, "pause_ms": 800}),
        session.now(),
    )
    .unwrap();
    wait_for(session, id, "the runner did not claim the job", |j| {
        j.state == JobState::Running
    });
    let lock = hold_write_lock(store);
    assert_eq!(
        jobs::get(session.store(), id).unwrap().unwrap().done,
        0,
        "the first batch committed before the lock was taken"
    );
    (id, lock)
}

#[test]
fn a_stalled_runner_shows_on_its_jobs_and_its_unrecorded_failure_reaches_the_job() {
    let dir = TempDir::new("runner-trouble");
    let store = dir.join("store");
    let session = ledger_session(&store);
    let (id, lock) = stall_a_batch(&session, &store);

    let stalled = wait_for(&session, id, "the runner's trouble is not shown", |j| {
        j.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with(STALLED))
    });
    let shown = stalled.last_error.unwrap();
    assert!(shown.contains(": StoreBusy: "), "{shown}");
    let trouble = session
        .store()
        .runner_trouble()
        .expect("the store keeps the trouble");
    assert_eq!(trouble.code, "StoreBusy");
    assert_eq!(shown, trouble.describe());
    // Other readers of the job table show it too.
    let listed = jobs::list(session.store(), Some(LedgerKind::NAME), None).unwrap();
    assert_eq!(listed[0].last_error.as_deref(), Some(shown.as_str()));

    drop(lock);
    let done = wait_for(&session, id, "the job did not finish", |j| {
        j.state == JobState::Completed
    });
    // The failed batch's failure (its commit refused by the busy store), which could not be
    // written while the lock was held, is on the job: the retry is explained, not silent.
    let own = done
        .last_error
        .expect("the failure was recorded on the job");
    assert!(own.starts_with("StoreBusy: "), "{own}");
    assert_eq!(done.done, 2);
    assert!(session.store().runner_trouble().is_none());
}

fn call(session: &Session, op: &str, args: Value) -> Value {
    customer_key::registry()
        .call(session, op, &args)
        .unwrap_or_else(|e| panic!("{op}: {}", e.message))
}

#[test]
fn get_data_encryption_policy_shows_the_runner_trouble_on_a_rewrap_it_holds_up() {
    let t = tenant("runner-trouble-exo");
    t.policy("DEP");
    t.mailbox("ada", Some("DEP"));
    t.add_item("ada", "first", "1");
    let Tenant { dir, ck, .. } = t;
    drop(ck);
    let store = dir.join("store");
    // This session's runner does not serve the rewrap kind: the refresh's rewrap stays Queued.
    let session = ledger_session(&store);
    call(
        &session,
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP", "Refresh": true}),
    );
    let policy =
        |s: &Session| call(s, "Get-DataEncryptionPolicy", json!({"Identity": "DEP"}))[0].clone();
    let before = policy(&session);
    assert_eq!(before["RewrapState"], "Rewrapping", "{before}");
    assert_eq!(before["LastError"], Value::Null, "{before}");

    let (id, lock) = stall_a_batch(&session, &store);
    wait_for(&session, id, "the runner's trouble is not shown", |j| {
        j.last_error
            .as_deref()
            .is_some_and(|e| e.starts_with(STALLED))
    });
    let during = policy(&session);
    assert_eq!(during["JobState"], "Queued", "{during}");
    let last_error = during["LastError"].as_str().unwrap_or_default();
    assert!(
        last_error.starts_with(STALLED) && last_error.contains(": StoreBusy: "),
        "{during}"
    );

    drop(lock);
    wait_for(&session, id, "the job did not finish", |j| {
        j.state == JobState::Completed
    });
    let after = policy(&session);
    assert_eq!(after["LastError"], Value::Null, "{after}");
}
