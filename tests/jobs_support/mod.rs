//! What tests/it/jobs.rs shares with its child processes (tests/children/child.rs): the store,
//! the test ledger's rows, and waiting for a job.
#![allow(dead_code)]

use customer_key::jobs::{self, JobRecord};
use customer_key::store::Store;
use customer_key::{Session, SessionOptions};
use serde_json::json;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The items of the job the kill -9 test interrupts.
pub const CRASH_ITEMS: u64 = 5_000;

pub fn open_store(path: &Path) -> Arc<Store> {
    Arc::new(Store::open(path, false).expect("store opens"))
}

/// Polls `job` until `done` holds, failing after `limit`.
pub fn wait_for(
    store: &Store,
    id: i64,
    limit: Duration,
    what: &str,
    done: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let deadline = Instant::now() + limit;
    loop {
        let job = jobs::get(store, id).unwrap().expect("the job exists");
        if done(&job) {
            return job;
        }
        assert!(Instant::now() < deadline, "{what}: job is {job:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub fn ledger_items(store_path: &Path, job_id: i64) -> Vec<i64> {
    let db = rusqlite::Connection::open(store_path.join("store.db")).unwrap();
    let mut stmt = db
        .prepare("SELECT item FROM job_test_ledger WHERE job_id = ?1 ORDER BY item")
        .unwrap();
    let items = stmt
        .query_map([job_id], |r| r.get(0))
        .unwrap()
        .collect::<rusqlite::Result<Vec<i64>>>()
        .unwrap();
    items
}

pub fn assert_every_item_once(store_path: &Path, job_id: i64, total: u64) {
    let items = ledger_items(store_path, job_id);
    let expected: Vec<i64> = (0..total as i64).collect();
    assert!(
        items == expected,
        "{} rows, first {:?}, last {:?}",
        items.len(),
        items.first(),
        items.last()
    );
}

pub fn ledger_payload(batch_size: u64, pause_ms: u64) -> serde_json::Value {
    json!({"batch_size": batch_size, "pause_ms": pause_ms})
}

pub fn session_at(store: &Path) -> Session {
    customer_key::open_session(SessionOptions {
        store: Some(store.to_path_buf()),
        user_principal_name: Some(crate::common::ADMIN.into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .expect("session opens")
}
