//! Persisted background jobs: resume after kill -9 with every item exactly once, bounded retries,
//! panics recorded as Failed, clean stop on close, and no job from a rolled-back transaction.
//! Leases and backoff run on a manual clock the tests move (wall and monotonic apart).
//!
//! The other processes are `ck-test-child jobs-*` (tests/children).

use crate::common::*;
use crate::jobs_support::*;
use customer_key::error::Error;
use customer_key::jobs::{
    self, Batch, JobContext, JobKind, JobRecord, JobState, LedgerKind, Runner, MAX_ATTEMPTS,
};
use customer_key::time::ManualClock;
use serde_json::json;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn child(role: &str, store: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ck-test-child"));
    command
        .arg(role)
        .arg(store)
        .env(jobs::TEST_JOB_KINDS_ENV, "1");
    command
}

#[test]
fn a_job_resumes_after_kill_9_with_every_item_exactly_once() {
    let dir = TempDir::new("jobs-kill9");
    let store_path = dir.join("store");
    let mut first = child("jobs-start-ledger", &store_path)
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

    let second = child("jobs-finish-ledger", &store_path).output().unwrap();
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
    let out = child("jobs-close-mid-job", &dir.join("store"))
        .output()
        .unwrap();
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

/// A runner on a manual clock, with `kinds`.
fn clocked_runner(
    store: &Arc<customer_key::store::Store>,
    kinds: Vec<Arc<dyn JobKind>>,
) -> (Runner, Arc<ManualClock>) {
    let manual = ManualClock::new();
    let runner = Runner::start_clocked(Arc::clone(store), 0, kinds, None, manual.clock());
    (runner, manual)
}

/// Waits until the runner has been through the job table and found nothing it may run now.
fn settle(runner: &Runner) {
    assert!(
        runner.settle(Duration::from_secs(60)),
        "the runner found work for a minute"
    );
}

#[test]
fn a_failing_job_is_retried_with_backoff_then_failed_with_its_error() {
    let dir = TempDir::new("jobs-fail");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let kind = Arc::new(FailingKind {
        calls: AtomicU32::new(0),
    });
    let (runner, clock) = clocked_runner(&store, vec![kind.clone()]);
    let in_next_batch =
        jobs::submit(&store, "test-failing", "in-next-batch", 5, &json!({}), 0).unwrap();
    let in_apply = jobs::submit(&store, "test-failing", "in-apply", 5, &json!({}), 0).unwrap();
    // Each backoff (1, 2, then 4 s) passes on the clock, not in the test's time.
    for attempts in 1..=MAX_ATTEMPTS {
        settle(&runner);
        for id in [in_next_batch, in_apply] {
            assert_eq!(jobs::get(&store, id).unwrap().unwrap().attempts, attempts);
        }
        clock.advance(Duration::from_secs(1 << (attempts - 1)));
    }
    let first = jobs::get(&store, in_next_batch).unwrap().unwrap();
    let second = jobs::get(&store, in_apply).unwrap().unwrap();
    drop(runner);
    assert_eq!(
        (first.state, first.attempts),
        (JobState::Failed, MAX_ATTEMPTS)
    );
    assert_eq!(
        first.last_error.as_deref(),
        Some("VaultUnreachable: the vault did not answer")
    );
    assert_eq!(
        (second.state, second.attempts),
        (JobState::Failed, MAX_ATTEMPTS)
    );
    assert_eq!(
        second.last_error.as_deref(),
        Some("Conflict: the mailbox moved meanwhile")
    );
    // Failed writes roll back whole, with the cursor.
    assert_eq!((second.done, second.cursor), (0, None));
    assert!(ledger_items(&store_path, in_apply).is_empty());
    assert_eq!(kind.calls.load(Ordering::SeqCst), 2 * MAX_ATTEMPTS);
}

#[test]
fn a_backoff_runs_on_the_monotonic_clock_whatever_the_wall_clock_does() {
    let dir = TempDir::new("jobs-backoff-clock");
    let store = open_store(&dir.join("store"));
    let kind = Arc::new(FailingKind {
        calls: AtomicU32::new(0),
    });
    let (runner, clock) = clocked_runner(&store, vec![kind.clone()]);
    let id = jobs::submit(&store, "test-failing", "in-next-batch", 5, &json!({}), 0).unwrap();
    let attempts = || {
        settle(&runner);
        jobs::get(&store, id).unwrap().unwrap().attempts
    };
    assert_eq!(attempts(), 1, "the first attempt failed");
    // The system clock set an hour forward while a moment passes: the 1 s backoff goes on.
    clock.set_wall_by(3_600_000);
    clock.advance(Duration::from_millis(999));
    assert_eq!(attempts(), 1, "retried when the wall clock jumped");
    clock.advance(Duration::from_millis(1));
    assert_eq!(attempts(), 2, "not retried once its backoff had passed");
    // Set two hours back: the 2 s backoff still ends 2 s on, not two hours later.
    clock.set_wall_by(-7_200_000);
    clock.advance(Duration::from_millis(1_999));
    assert_eq!(attempts(), 2);
    clock.advance(Duration::from_millis(1));
    assert_eq!(
        attempts(),
        3,
        "the backoff waited for the wall clock to come back"
    );
    drop(runner);
    assert_eq!(kind.calls.load(Ordering::SeqCst), 3);
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
fn a_live_lease_is_kept_through_a_wall_clock_jump_and_ends_when_no_longer_renewed() {
    let dir = TempDir::new("jobs-lease");
    let store_path = dir.join("store");
    let store = open_store(&store_path);
    let leased = jobs::submit(&store, LedgerKind::NAME, "leased", 20, &json!({}), 0).unwrap();
    // Another live runner (pid 1 always exists) holds the job from before this one starts; its
    // lease rows say until when on the wall clock, and a renewal moves the batch counter.
    let db = rusqlite::Connection::open(store_path.join("store.db")).unwrap();
    let hold = |until_ms: i64| {
        db.execute(
            "UPDATE jobs SET state = 'Running', owner = '1-elsewhere', lease_until = ?2,
                 batches = batches + 1 WHERE id = ?1",
            rusqlite::params![leased, until_ms],
        )
        .unwrap();
    };
    let clock = ManualClock::new();
    let now_ms = || clock.clock().unix_ms();
    hold(now_ms() + 60_000);
    let runner = Runner::start_clocked(
        Arc::clone(&store),
        0,
        vec![Arc::new(LedgerKind)],
        None,
        clock.clock(),
    );
    let free = jobs::submit(&store, LedgerKind::NAME, "free", 20, &json!({}), 0).unwrap();
    settle(&runner);
    assert_eq!(
        jobs::get(&store, free).unwrap().unwrap().state,
        JobState::Completed
    );
    let untouched = || {
        settle(&runner);
        let job = jobs::get(&store, leased).unwrap().unwrap();
        (job.done, job.cursor) == (0, None) && ledger_items(&store_path, leased).is_empty()
    };
    assert!(untouched());
    // The system clock set an hour forward, a second later: by the wall clock the lease ended
    // long ago; its holder has had only a second.
    clock.set_wall_by(3_600_000);
    clock.advance(Duration::from_secs(1));
    assert!(untouched(), "a wall clock jump ended a live lease");
    clock.advance(Duration::from_secs(57));
    assert!(untouched());
    // Renewed (a batch committed), it holds a whole lease more from when the runner sees it.
    hold(now_ms() + 60_000);
    assert!(untouched());
    clock.advance(Duration::from_secs(59));
    assert!(untouched(), "a renewed lease ended early");
    // Unrenewed for a whole lease: the holder is stuck, the runner takes the job over.
    clock.advance(Duration::from_secs(1));
    settle(&runner);
    let taken = jobs::get(&store, leased).unwrap().unwrap();
    assert_eq!((taken.state, taken.done), (JobState::Completed, 20));
    drop(runner);
    assert_every_item_once(&store_path, leased, 20);
}
