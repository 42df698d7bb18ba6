//! Persisted background jobs, run on the library's runtime ([`crate::rt`]).
//!
//! A job is a row of the store's job table: a kind (the code that runs it), a target, progress
//! (`done` of `total`, and an opaque `cursor`) and a JSON payload (never secrets). A [`Runner`]
//! per open session works through the Queued and Running jobs of the kinds it knows, one batch
//! at a time: the kind computes a [`Batch`] outside any write transaction, then the batch's
//! writes and the job row's new cursor commit in one transaction, guarded by the job's lease and
//! its batch counter, so a batch is never applied twice. A crash loses at most the batch being
//! computed; the next runner to open the store resumes from the last committed cursor.
//!
//! The runner also purges, every [`PURGE_INTERVAL`], soft-deleted vaults and keys whose
//! retention has ended, so they go even while a long-lived session (a PowerShell window left
//! open for days) makes no calls.

mod leases;
#[cfg(feature = "test-hooks")]
mod passes;
mod runner;
#[cfg(feature = "test-hooks")]
mod test_ledger;

pub use crate::store::jobs::{JobRecord, JobState};
pub use runner::{Runner, MAX_ATTEMPTS};
#[cfg(feature = "test-hooks")]
pub use test_ledger::LedgerKind;

use crate::cancel::Stop;
use crate::error::{Error, Result};
use crate::store::{self, Store, Tx};
use std::sync::Arc;
use std::time::Duration;

/// How often the runner looks for expired deleted objects.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

/// Set to `1` when a session opens to register the test-only job kinds ([`LedgerKind`]).
/// For the engine's own tests only; no operation enqueues these kinds. Compiled only with the
/// `test-hooks` feature, so the library admins load has neither the kinds nor this switch.
#[cfg(feature = "test-hooks")]
pub const TEST_JOB_KINDS_ENV: &str = "CUSTOMER_KEY_TEST_JOB_KINDS";

/// A kind of job: the code that works through jobs whose `kind` column is [`JobKind::name`].
/// Keep a batch well under a minute (the lease): past it another process may take the job over,
/// and the slow batch is then discarded rather than applied. Check [`JobContext::stop`] between
/// the items of a batch: a close lets the batch in flight run on for a second, then stops it.
pub trait JobKind: Send + Sync + 'static {
    /// Stable name stored in the job table, e.g. "exchange-refresh".
    fn name(&self) -> &'static str;
    /// Works out the next batch after `job.cursor`: reads and cryptography happen here, outside
    /// any write transaction (the vault may be remote). Returns what to write.
    fn next_batch(&self, ctx: &JobContext, job: &JobRecord) -> Result<Batch>;
}

/// What a job kind runs against: the session's store and clock.
pub struct JobContext {
    pub store: Arc<Store>,
    /// The session's clock.
    pub clock: crate::time::Clock,
    /// Seconds added to the wall clock (the session's TimeShiftSeconds).
    pub time_shift: i64,
    /// The session's Azure Key Vault backend, when its Environment names a cloud: jobs reach
    /// keys where the session's calls do. The runner's carries [`JobContext::stop`], so its
    /// requests end when the session closes.
    pub remote: Option<Arc<dyn crate::azure_backend::AzureBackend>>,
    /// Comes when the session closes and the batch in flight has not ended within a second: a
    /// kind checks it between the items of a batch, and the batch it cuts short is dropped (the
    /// job resumes from its cursor on the next open).
    pub stop: Stop,
}

impl JobContext {
    /// A context nothing stops, for running a kind's batches by hand.
    pub fn new(
        store: Arc<Store>,
        clock: crate::time::Clock,
        time_shift: i64,
        remote: Option<Arc<dyn crate::azure_backend::AzureBackend>>,
    ) -> JobContext {
        JobContext {
            store,
            clock,
            time_shift,
            remote,
            stop: Stop::never(),
        }
    }

    /// The session's clock in unix seconds.
    pub fn now(&self) -> i64 {
        self.clock.unix_seconds() + self.time_shift
    }
}

/// The writes of one batch and where they leave the job.
pub struct Batch {
    /// The new cursor after this batch.
    pub cursor: Option<String>,
    /// Items this batch completes (added to the job's `done`).
    pub done: u64,
    /// True: the job is Completed after this batch.
    pub finished: bool,
    /// The batch's writes, committed in the same transaction as the job row's new cursor.
    pub apply: BatchWrites,
}

/// The writes of a batch, run inside the transaction that moves the job's cursor.
pub type BatchWrites = Box<dyn FnOnce(&Tx<'_>) -> Result<()> + Send>;

const MAX_KIND_CHARS: usize = 64;
const MAX_TARGET_CHARS: usize = 1024;

/// Inside the caller's transaction: the job starts only if that transaction commits.
/// Call [`notify`] after the commit so this session's runner starts it at once.
pub fn enqueue(
    tx: &Tx<'_>,
    kind: &str,
    target: &str,
    total: u64,
    payload: &serde_json::Value,
    now: i64,
) -> Result<i64> {
    let kind_ok = !kind.is_empty()
        && kind.len() <= MAX_KIND_CHARS
        && kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !kind_ok {
        return Err(Error::invalid_argument(
            "kind",
            format!("must be 1-{MAX_KIND_CHARS} characters of a-z, 0-9 and '-'"),
        ));
    }
    if target.trim().is_empty() || target.chars().count() > MAX_TARGET_CHARS {
        return Err(Error::invalid_argument(
            "target",
            format!("must be 1-{MAX_TARGET_CHARS} characters, not only spaces"),
        ));
    }
    if i64::try_from(total).is_err() {
        return Err(Error::invalid_argument("total", "must be below 2^63"));
    }
    store::jobs::insert(tx, kind, target, total, &payload.to_string(), now)
}

/// Enqueues in a transaction of its own and wakes this store's runner.
pub fn submit(
    store: &Store,
    kind: &str,
    target: &str,
    total: u64,
    payload: &serde_json::Value,
    now: i64,
) -> Result<i64> {
    let id = store.write_tx(|tx| enqueue(tx, kind, target, total, payload, now))?;
    notify(store);
    Ok(id)
}

/// Runs `work` in one write transaction of the store: committed when it returns `Ok`, rolled
/// back (with any job it enqueued) when it returns `Err`. For callers outside the engine's
/// operations, such as tests, that enqueue together with writes of their own.
pub fn with_transaction<R>(store: &Store, work: impl FnOnce(&Tx<'_>) -> Result<R>) -> Result<R> {
    store.write_tx(work)
}

pub fn get(store: &Store, id: i64) -> Result<Option<JobRecord>> {
    store.read_tx(|tx| store::jobs::get(tx, id))
}

/// Jobs, oldest first, optionally of one kind and/or one target.
pub fn list(store: &Store, kind: Option<&str>, target: Option<&str>) -> Result<Vec<JobRecord>> {
    store.read_tx(|tx| store::jobs::list(tx, kind, target))
}

/// Cancels a Queued or Running job: a batch in flight does not commit. False when the job had
/// already ended or does not exist.
pub fn cancel(store: &Store, id: i64, now: i64) -> Result<bool> {
    store.write_tx(|tx| store::jobs::cancel(tx, id, now))
}

/// Wake the runner(s) of this store after a commit that enqueued work.
pub fn notify(store: &Store) {
    store.job_wakeup().notify();
}

/// The kinds every session's runner serves. The workloads add theirs here; the test-only
/// kinds join (with the `test-hooks` feature) only when `CUSTOMER_KEY_TEST_JOB_KINDS` is `1`
/// as the session opens.
pub fn builtin_kinds() -> Vec<Arc<dyn JobKind>> {
    #[allow(unused_mut)] // without test-hooks nothing is pushed
    let mut kinds: Vec<Arc<dyn JobKind>> = Vec::new();
    #[cfg(feature = "test-hooks")]
    if std::env::var(TEST_JOB_KINDS_ENV).is_ok_and(|v| v == "1") {
        kinds.push(Arc::new(LedgerKind));
    }
    kinds
}
