//! `ck-test-child`: the other processes of the crash, kill -9, load and store file tests,
//! which spawn it through `CARGO_BIN_EXE_ck-test-child`. A binary of its own rather than the
//! test binary run again as one of its tests: such an entry point, run as an ordinary test,
//! passed having done nothing. Built only with the `test-hooks` feature (Cargo.toml), which `cargo test` turns on
//! and `cargo build --release` leaves off, so it never ships.
//!
//! `ck-test-child <role> <arguments>`; a role or argument it does not know exits with 2.

#[path = "../aip_support/mod.rs"]
mod aip_support;
#[path = "../common/mod.rs"]
mod common;
#[path = "../jobs_support/mod.rs"]
mod jobs_support;
#[path = "../load_support/mod.rs"]
mod load_support;
#[path = "../crash/shared.rs"]
mod shared;
#[path = "../sharepoint_common/mod.rs"]
mod sharepoint_common;
mod store_files;
#[path = "../crash/workload.rs"]
mod workload;

use common::{Ck, ADMIN};
use customer_key::jobs::{self, JobState, LedgerKind};
use jobs_support::*;
use serde_json::json;
use std::path::Path;
use std::time::Duration;

/// How long a child that waits to be killed lives: its parent kills it long before.
const UNTIL_KILLED: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |i: usize| -> &str {
        args.get(i).map(String::as_str).unwrap_or_else(|| {
            eprintln!("ck-test-child: argument {i} is missing from {args:?}");
            std::process::exit(2)
        })
    };
    let number = |i: usize| -> u64 {
        arg(i).parse().unwrap_or_else(|_| {
            eprintln!("ck-test-child: argument {i} must be a number");
            std::process::exit(2)
        })
    };
    match arg(0) {
        "jobs-start-ledger" => jobs_start_ledger(Path::new(arg(1))),
        "jobs-finish-ledger" => jobs_finish_ledger(Path::new(arg(1))),
        "jobs-close-mid-job" => jobs_close_mid_job(Path::new(arg(1))),
        "exchange-refresh" => exchange_refresh(Path::new(arg(1))),
        "m365-assign" => m365_then_wait(
            Path::new(arg(1)),
            "Set-M365DataAtRestEncryptionPolicyAssignment",
            json!({"DataEncryptionPolicy": "M365-C"}),
        ),
        "m365-refresh" => m365_then_wait(
            Path::new(arg(1)),
            "Set-M365DataAtRestEncryptionPolicy",
            json!({"Identity": "M365-C", "Refresh": true}),
        ),
        "sharepoint-roll-primary" => sharepoint_roll_primary(Path::new(arg(1)), arg(2)),
        "load" => load_support::run_process(Path::new(arg(1)), number(2) as usize),
        "store-files-umask" => store_files::umask_workload(Path::new(arg(1))),
        "crash-workload" => {
            let dir = Path::new(arg(1));
            workload::run(&dir.join("store"), dir, number(2), number(3))
        }
        other => {
            eprintln!("ck-test-child: unknown role {other}");
            std::process::exit(2)
        }
    }
}

/// Enqueues the ledger job and keeps the session (its runner working) open until killed.
fn jobs_start_ledger(store: &Path) {
    let session = session_at(store);
    jobs::submit(
        session.store(),
        LedgerKind::NAME,
        "crash",
        CRASH_ITEMS,
        &ledger_payload(10, 5),
        session.now(),
    )
    .unwrap();
    std::thread::sleep(UNTIL_KILLED);
    panic!("not killed within two minutes");
}

/// A later session of the same store: its runner resumes and finishes the job.
fn jobs_finish_ledger(store: &Path) {
    let session = session_at(store);
    let id = jobs::list(session.store(), Some(LedgerKind::NAME), Some("crash")).unwrap()[0].id;
    wait_for(
        session.store(),
        id,
        Duration::from_secs(120),
        "the new session did not finish the job",
        |j| j.state != JobState::Running && j.state != JobState::Queued,
    );
}

/// Closing the session stops its runner for good, mid-job.
fn jobs_close_mid_job(store_path: &Path) {
    let session = session_at(store_path);
    let id = jobs::submit(
        session.store(),
        LedgerKind::NAME,
        "long",
        1_000_000,
        &ledger_payload(10, 2),
        session.now(),
    )
    .unwrap();
    let observer = open_store(store_path);
    wait_for(
        &observer,
        id,
        Duration::from_secs(60),
        "the job never started",
        |j| j.done >= 50,
    );
    drop(session);
    let at_close = jobs::get(&observer, id).unwrap().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let later = jobs::get(&observer, id).unwrap().unwrap();
    assert_eq!(later.done, at_close.done, "work went on after close");
    assert_eq!(later.cursor, at_close.cursor);
    assert_eq!(later.state, JobState::Running);
    assert_eq!(
        ledger_items(store_path, id).len() as u64,
        later.done,
        "a batch committed without its cursor, or the reverse"
    );
    let db = rusqlite::Connection::open(store_path.join("store.db")).unwrap();
    let owner: Option<String> = db
        .query_row("SELECT owner FROM jobs WHERE id = ?1", [id], |r| r.get(0))
        .unwrap();
    assert_eq!(owner, None, "a clean stop gives the lease up");
}

/// Starts a refresh of DEP-C, then lets the session's runner work until killed.
fn exchange_refresh(store: &Path) {
    let ck = Ck::at(store, ADMIN);
    ck.ok(
        "Set-DataEncryptionPolicy",
        json!({"Identity": "DEP-C", "Refresh": true}),
    );
    std::thread::sleep(UNTIL_KILLED);
    panic!("not killed within two minutes");
}

/// Assigns or refreshes the multi-workload policy M365-C, then lets the runner work until killed.
fn m365_then_wait(store: &Path, operation: &str, args: serde_json::Value) {
    let ck = Ck::at(store, ADMIN);
    ck.ok(operation, args);
    std::thread::sleep(UNTIL_KILLED);
    panic!("not killed within two minutes");
}

/// Starts the SharePoint roll to `version` and keeps the session open until killed.
fn sharepoint_roll_primary(store: &Path, version: &str) {
    let ck = Ck::at(store, ADMIN);
    ck.ok(
        "Update-SPODataEncryptionPolicy",
        json!({"KeyType": "Primary", "KeyVaultName": sharepoint_common::VAULT_A, "KeyName": sharepoint_common::KEY, "KeyVersion": version}),
    );
    std::thread::sleep(UNTIL_KILLED);
    panic!("not killed within two minutes");
}
