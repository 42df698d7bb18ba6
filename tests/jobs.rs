//! Persisted background jobs: resume after kill -9 with every item exactly once, bounded retries,
//! panics recorded as Failed, clean stop on close, and no job from a rolled-back transaction.
//!
//! Processes: `child_process` is this binary re-invoked (with `--exact child_process`) in the role
//! named by `CK_JOBS_TEST_ROLE`; run as an ordinary test it has nothing to do.

mod common;
use common::*;
use customer_key::error::Error;
use customer_key::jobs::{
    self, Batch, JobContext, JobKind, JobRecord, JobState, LedgerKind, Runner, MAX_ATTEMPTS,
};
use customer_key::store::Store;
use customer_key::{Session, SessionOptions};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROLE_ENV: &str = "CK_JOBS_TEST_ROLE";
const STORE_ENV: &str = "CK_JOBS_TEST_STORE";
const CRASH_ITEMS: u64 = 5_000;

fn open_store(path: &Path) -> Arc<Store> {
    Arc::new(Store::open(path, false).expect("store opens"))
}

/// Polls `job` until `done` holds, failing after `limit`.
fn wait_for(
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

fn ledger_items(store_path: &Path, job_id: i64) -> Vec<i64> {
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

fn assert_every_item_once(store_path: &Path, job_id: i64, total: u64) {
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

fn ledger_payload(batch_size: u64, pause_ms: u64) -> serde_json::Value {
    json!({"batch_size": batch_size, "pause_ms": pause_ms})
}

fn session_at(store: &Path) -> Session {
    customer_key::open_session(SessionOptions {
        store: Some(store.to_path_buf()),
        user_principal_name: Some(ADMIN.into()),
        time_shift_seconds: None,
        ..Default::default()
    })
    .expect("session opens")
}

fn child(role: &str, store: &Path) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "child_process", "--test-threads=1"])
        .env(ROLE_ENV, role)
        .env(STORE_ENV, store)
        .env(jobs::TEST_JOB_KINDS_ENV, "1");
    command
}

/// The other processes of these tests; see the module comment.
#[test]
fn child_process() {
    let Ok(role) = std::env::var(ROLE_ENV) else {
        return;
    };
    let store_path = PathBuf::from(std::env::var(STORE_ENV).unwrap());
    let session = session_at(&store_path);
    match role.as_str() {
        // Enqueues the ledger job and keeps the session open until killed.
        "start-ledger" => {
            jobs::submit(
                session.store(),
                LedgerKind::NAME,
                "crash",
                CRASH_ITEMS,
                &ledger_payload(10, 5),
                session.now(),
            )
            .unwrap();
            std::thread::sleep(Duration::from_secs(120));
            panic!("not killed within two minutes");
        }
        // A later session of the same store: its runner resumes and finishes the job.
        "finish-ledger" => {
            let id =
                jobs::list(session.store(), Some(LedgerKind::NAME), Some("crash")).unwrap()[0].id;
            wait_for(
                session.store(),
                id,
                Duration::from_secs(120),
                "the new session did not finish the job",
                |j| j.state != JobState::Running && j.state != JobState::Queued,
            );
        }
        // Closing the session stops its runner for good, mid-job.
        "close-mid-job" => {
            let id = jobs::submit(
                session.store(),
                LedgerKind::NAME,
                "long",
                1_000_000,
                &ledger_payload(10, 2),
                session.now(),
            )
            .unwrap();
            let observer = open_store(&store_path);
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
                ledger_items(&store_path, id).len() as u64,
                later.done,
                "a batch committed without its cursor, or the reverse"
            );
            let db = rusqlite::Connection::open(store_path.join("store.db")).unwrap();
            let owner: Option<String> = db
                .query_row("SELECT owner FROM jobs WHERE id = ?1", [id], |r| r.get(0))
                .unwrap();
            assert_eq!(owner, None, "a clean stop gives the lease up");
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_job_resumes_after_kill_9_with_every_item_exactly_once() {
    let dir = TempDir::new("jobs-kill9");
    let store_path = dir.join("store");
    let mut first = child("start-ledger", &store_path)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill once some batches are committed but far from all.
    let deadline = Instant::now() + Duration::from_secs(90);
    let done_at_kill = loop {
        // Opened only once the child created it, so this poll never creates the database.
        let db_path = store_path.join("store.db");
        let created = std::fs::metadata(&db_path).is_ok_and(|m| m.len() > 0);
        let progress: Option<(i64, String)> = created
            .then(|| rusqlite::Connection::open(&db_path).ok())
            .flatten()
            .and_then(|db| {
                db.query_row(
                    "SELECT done, state FROM jobs WHERE target = 'crash'",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .ok()
            });
        match progress {
            Some((_, state)) if state == "Completed" => break Err("finished before the kill"),
            Some((done, _)) if done >= 500 => break Ok(done),
            _ if Instant::now() >= deadline => break Err("made no progress"),
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    first.kill().unwrap(); // SIGKILL
    first.wait().unwrap();
    let done_at_kill = done_at_kill.expect("the job ran until killed mid-way");

    let store = open_store(&store_path);
    let id = jobs::list(&store, Some(LedgerKind::NAME), Some("crash")).unwrap()[0].id;
    let killed = jobs::get(&store, id).unwrap().unwrap();
    assert_eq!(killed.state, JobState::Running);
    assert!(
        killed.done >= done_at_kill as u64 && killed.done < CRASH_ITEMS,
        "{killed:?}"
    );
    assert_eq!(ledger_items(&store_path, id).len() as u64, killed.done);

    let second = child("finish-ledger", &store_path).output().unwrap();
    assert!(
        second.status.success(),
        "{}",
        String::from_utf8_lossy(&second.stdout)
    );
    let finished = jobs::get(&store, id).unwrap().unwrap();
    assert_eq!(finished.state, JobState::Completed, "{finished:?}");
    assert_eq!(finished.done, CRASH_ITEMS);
    assert_eq!(finished.cursor.as_deref(), Some("5000"));
    // A batch applied twice would have hit the ledger's UNIQUE constraint and left its error.
    assert_eq!((finished.attempts, finished.last_error), (0, None));
    assert_every_item_once(&store_path, id, CRASH_ITEMS);
}

#[test]
fn closing_the_session_stops_its_runner_mid_job() {
    let dir = TempDir::new("jobs-close");
    let out = child("close-mid-job", &dir.join("store")).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// Fails every attempt, either computing the batch or in its writes (after writing some rows).
struct FailingKind {
    calls: AtomicU32,
}

impl JobKind for FailingKind {
    fn name(&self) -> &'static str {
        "test-failing"
    }
    fn next_batch(&self, _ctx: &JobContext, job: &JobRecord) -> customer_key::Result<Batch> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if job.target == "in-next-batch" {
            return Err(Error::invalid_operation(
                "VaultUnreachable",
                "the vault did not answer",
                "",
            ));
        }
        let job_id = job.id;
        Ok(Batch {
            cursor: Some("10".into()),
            done: 10,
            finished: false,
            apply: Box::new(move |tx| {
                customer_key::store::jobs::insert_test_ledger_items(tx, job_id, 0..10)?;
                Err(Error::conflict("the mailbox moved meanwhile", "mailbox-1"))
            }),
        })
    }
}

#[test]
fn a_failing_job_is_retried_with_backoff_then_failed_with_its_error() {
    let dir = TempDir::new("jobs-fail");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let kind = Arc::new(FailingKind {
        calls: AtomicU32::new(0),
    });
    let runner = Runner::start(Arc::clone(&store), 0, vec![kind.clone()]);
    let in_next_batch =
        jobs::submit(&store, "test-failing", "in-next-batch", 5, &json!({}), 0).unwrap();
    let in_apply = jobs::submit(&store, "test-failing", "in-apply", 5, &json!({}), 0).unwrap();
    let ended = |id| {
        wait_for(&store, id, Duration::from_secs(90), "never failed", |j| {
            j.state == JobState::Failed
        })
    };
    let first = ended(in_next_batch);
    let second = ended(in_apply);
    drop(runner);
    assert_eq!(first.attempts, MAX_ATTEMPTS);
    assert_eq!(
        first.last_error.as_deref(),
        Some("VaultUnreachable: the vault did not answer")
    );
    assert_eq!(second.attempts, MAX_ATTEMPTS);
    assert_eq!(
        second.last_error.as_deref(),
        Some("Conflict: the mailbox moved meanwhile")
    );
    // Failed writes roll back whole, with the cursor.
    assert_eq!((second.done, second.cursor), (0, None));
    assert!(ledger_items(&store_path, in_apply).is_empty());
    assert_eq!(kind.calls.load(Ordering::SeqCst), 2 * MAX_ATTEMPTS);
}

/// Panics computing its batch, or in the batch's writes.
struct PanickingKind;

impl JobKind for PanickingKind {
    fn name(&self) -> &'static str {
        "test-panicking"
    }
    fn next_batch(&self, _ctx: &JobContext, job: &JobRecord) -> customer_key::Result<Batch> {
        if job.target == "in-next-batch" {
            panic!("a bug in a job kind");
        }
        let job_id = job.id;
        Ok(Batch {
            cursor: Some("3".into()),
            done: 3,
            finished: true,
            apply: Box::new(move |tx| {
                customer_key::store::jobs::insert_test_ledger_items(tx, job_id, 0..3)?;
                panic!("a bug in a batch's writes");
            }),
        })
    }
}

#[test]
fn a_panicking_job_is_failed_and_the_runner_serves_the_next() {
    let dir = TempDir::new("jobs-panic");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let runner = Runner::start(
        Arc::clone(&store),
        0,
        vec![Arc::new(PanickingKind), Arc::new(LedgerKind)],
    );
    let panics_computing =
        jobs::submit(&store, "test-panicking", "in-next-batch", 1, &json!({}), 0).unwrap();
    let panics_writing =
        jobs::submit(&store, "test-panicking", "in-apply", 3, &json!({}), 0).unwrap();
    let healthy = jobs::submit(
        &store,
        LedgerKind::NAME,
        "healthy",
        200,
        &ledger_payload(20, 0),
        0,
    )
    .unwrap();
    wait_for(
        &store,
        healthy,
        Duration::from_secs(60),
        "not completed",
        |j| j.state == JobState::Completed,
    );
    for id in [panics_computing, panics_writing] {
        let job = wait_for(&store, id, Duration::from_secs(60), "not failed", |j| {
            j.state == JobState::Failed
        });
        assert_eq!(job.attempts, 1, "a panic is not retried");
        assert!(
            job.last_error
                .as_deref()
                .unwrap()
                .starts_with("JobPanicked:"),
            "{job:?}"
        );
        assert_eq!(job.done, 0);
    }
    drop(runner);
    assert!(ledger_items(&store_path, panics_writing).is_empty());
    assert_every_item_once(&store_path, healthy, 200);
}

#[test]
fn a_job_enqueued_in_a_rolled_back_transaction_never_runs() {
    let dir = TempDir::new("jobs-rollback");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let runner = Runner::start(Arc::clone(&store), 0, vec![Arc::new(LedgerKind)]);
    let refused = jobs::with_transaction(&store, |tx| {
        jobs::enqueue(tx, LedgerKind::NAME, "rolled-back", 50, &json!({}), 0)?;
        Err::<(), _>(Error::invalid_argument(
            "Name",
            "stands for the operation failing",
        ))
    });
    assert!(refused.is_err());
    jobs::notify(&store);
    // A committed job queued after it runs to the end: the runner has been through the queue.
    let committed = jobs::submit(&store, LedgerKind::NAME, "committed", 50, &json!({}), 0).unwrap();
    wait_for(
        &store,
        committed,
        Duration::from_secs(60),
        "not completed",
        |j| j.state == JobState::Completed,
    );
    drop(runner);
    assert!(jobs::list(&store, None, Some("rolled-back"))
        .unwrap()
        .is_empty());
    assert_eq!(jobs::list(&store, None, None).unwrap().len(), 1);
    let db = rusqlite::Connection::open(store_path.join("store.db")).unwrap();
    let rows: i64 = db
        .query_row("SELECT COUNT(*) FROM job_test_ledger", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 50);
}

#[test]
fn two_runners_on_one_store_apply_each_batch_once() {
    let dir = TempDir::new("jobs-two-runners");
    let store_path = dir.join("store");
    let first = open_store(&store_path);
    let second = open_store(&store_path);
    let runners = [
        Runner::start(Arc::clone(&first), 0, vec![Arc::new(LedgerKind)]),
        Runner::start(Arc::clone(&second), 0, vec![Arc::new(LedgerKind)]),
    ];
    let ids: Vec<i64> = (0..3)
        .map(|n| {
            let id = jobs::submit(
                &first,
                LedgerKind::NAME,
                &format!("job-{n}"),
                600,
                &ledger_payload(10, 0),
                0,
            )
            .unwrap();
            jobs::notify(&second);
            id
        })
        .collect();
    for &id in &ids {
        let job = wait_for(&first, id, Duration::from_secs(90), "not completed", |j| {
            j.state == JobState::Completed
        });
        assert_eq!((job.done, job.attempts, job.last_error), (600, 0, None));
        assert_every_item_once(&store_path, id, 600);
    }
    drop(runners);
}

#[test]
fn enqueue_names_the_parameter_it_refuses() {
    let dir = TempDir::new("jobs-bad-input");
    let store = open_store(&dir.join("store"));
    for (kind, target, parameter) in [
        ("", "t", "kind"),
        ("Exchange Refresh", "t", "kind"),
        ("exchange-refresh", "  ", "target"),
    ] {
        let e = jobs::submit(&store, kind, target, 1, &json!({}), 0).unwrap_err();
        assert_eq!(e.code, "BadParameter");
        assert!(
            e.message.starts_with(&format!("Parameter '{parameter}'")),
            "{}",
            e.message
        );
    }
    let e = jobs::submit(&store, "exchange-refresh", "t", u64::MAX, &json!({}), 0).unwrap_err();
    assert!(e.message.starts_with("Parameter 'total'"));
    assert!(jobs::list(&store, None, None).unwrap().is_empty());
}

#[test]
fn a_cancelled_job_commits_no_further_batch() {
    let dir = TempDir::new("jobs-cancel");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let runner = Runner::start(Arc::clone(&store), 0, vec![Arc::new(LedgerKind)]);
    let id = jobs::submit(
        &store,
        LedgerKind::NAME,
        "cancelled",
        1_000_000,
        &ledger_payload(10, 2),
        0,
    )
    .unwrap();
    wait_for(&store, id, Duration::from_secs(60), "never started", |j| {
        j.done >= 30
    });
    assert!(jobs::cancel(&store, id, 0).unwrap());
    assert!(!jobs::cancel(&store, id, 0).unwrap(), "already ended");
    // Dropping waits for the batch in flight, which must not commit.
    drop(runner);
    let job = jobs::get(&store, id).unwrap().unwrap();
    assert_eq!(job.state, JobState::Cancelled);
    assert_eq!(ledger_items(&store_path, id).len() as u64, job.done);
}

#[test]
fn a_live_lease_keeps_others_off_a_job_until_it_ends() {
    let dir = TempDir::new("jobs-lease");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let leased = jobs::submit(&store, LedgerKind::NAME, "leased", 20, &json!({}), 0).unwrap();
    // Another live process (pid 1 always exists) holds the job for a minute more.
    let db = rusqlite::Connection::open(store_path.join("store.db")).unwrap();
    db.execute(
        "UPDATE jobs SET state = 'Running', owner = '1-elsewhere',
             lease_until = CAST(strftime('%s', 'now') AS INTEGER) * 1000 + 60000 WHERE id = ?1",
        [leased],
    )
    .unwrap();
    let runner = Runner::start(Arc::clone(&store), 0, vec![Arc::new(LedgerKind)]);
    let free = jobs::submit(&store, LedgerKind::NAME, "free", 20, &json!({}), 0).unwrap();
    wait_for(
        &store,
        free,
        Duration::from_secs(60),
        "not completed",
        |j| j.state == JobState::Completed,
    );
    let untouched = jobs::get(&store, leased).unwrap().unwrap();
    assert_eq!((untouched.done, untouched.cursor), (0, None));
    assert!(ledger_items(&store_path, leased).is_empty());
    // The lease ends: the runner takes the job over.
    db.execute("UPDATE jobs SET lease_until = 0 WHERE id = ?1", [leased])
        .unwrap();
    jobs::notify(&store);
    wait_for(
        &store,
        leased,
        Duration::from_secs(60),
        "not taken over",
        |j| j.state == JobState::Completed,
    );
    drop(runner);
    assert_every_item_once(&store_path, leased, 20);
}
