//! The runner: one loop per open session's store that claims a job under a lease, has its kind
//! compute the next batch, and commits the batch with the job's new cursor in one transaction.
//!
//! Why a blocking loop (on the runtime's blocking pool) rather than async tasks: every step is
//! SQLite or a job kind's synchronous computation, so an async loop would only hop to
//! `spawn_blocking` and back at each batch; the loop instead sleeps on the store's
//! [`Wakeup`](crate::store::jobs::Wakeup) condition variable, which `notify` rings given only a
//! `&Store`. The one async worker stays free, and stopping is a flag plus that bell, plus the
//! jobs' [`Canceller`], which ends a batch that waits (on Azure, say) so that closing a session
//! takes seconds, not a request timeout.

use super::{Batch, JobContext, JobKind, PURGE_INTERVAL};
use crate::cancel::Canceller;
use crate::error::Error;
use crate::store::jobs::{self as job_table, BatchUpdate, Claim, ClaimedJob, FailureUpdate, Lease};
use crate::store::Store;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long a claim or a committed batch holds a job. A batch should take well under this:
/// past it, another process may take the job over (its result is then discarded here, never
/// applied twice). A process that dies is noticed sooner when its pid is gone.
const LEASE_MS: i64 = 60_000;
/// Failed attempts of one batch before the job is Failed.
pub const MAX_ATTEMPTS: u32 = 4;
/// Backoff before retry n (from 1): BACKOFF_BASE_MS * 2^(n-1), at most BACKOFF_MAX_MS.
const BACKOFF_BASE_MS: i64 = 1_000;
const BACKOFF_MAX_MS: i64 = 300_000;
/// Longest sleep while idle: how soon work enqueued by another process is seen.
const IDLE_POLL: Duration = Duration::from_secs(5);
/// Pause after the store itself failed (busy for longer than its timeout, say).
const STORE_ERROR_PAUSE: Duration = Duration::from_secs(1);
/// How long a close lets the batch in flight run on: a batch of local work is done well within
/// it and commits, as it would have had the session stayed open.
const BATCH_GRACE: Duration = Duration::from_secs(1);
/// How long a close then waits for the cancelled batch. A kind that does not check its stop
/// finishes its batch on its own after that (committed under its lease, or refused by the batch
/// counter if another process took the job over meanwhile).
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// Runs the jobs of the given kinds, and the retention purge, for one store until dropped.
pub struct Runner {
    stop: Arc<AtomicBool>,
    /// Ends the batch in flight when the runner stops.
    closing: Arc<Canceller>,
    store: Arc<Store>,
    /// Disconnects when the loop has ended.
    /// In a Mutex only so that a Session (which holds the runner) is Sync: the HTTPS endpoint
    /// shares one between its request threads.
    loop_ended: Option<std::sync::Mutex<mpsc::Receiver<()>>>,
}

impl Runner {
    pub fn start(store: Arc<Store>, time_shift: i64, kinds: Vec<Arc<dyn JobKind>>) -> Runner {
        Runner::start_with(store, time_shift, kinds, None)
    }

    /// The same for a session whose keys are in Azure (`remote`).
    pub fn start_with(
        store: Arc<Store>,
        time_shift: i64,
        kinds: Vec<Arc<dyn JobKind>>,
        remote: Option<Arc<crate::vault::remote::RemoteVaults>>,
    ) -> Runner {
        let stop = Arc::new(AtomicBool::new(false));
        let closing = Canceller::for_jobs();
        let loop_ended = crate::rt::runtime().map(|runtime| {
            let (ended, loop_ended) = mpsc::channel::<()>();
            let job_stop = closing.begin(None);
            let worker = Worker {
                ctx: JobContext {
                    store: Arc::clone(&store),
                    time_shift,
                    remote: remote.map(|r| r.with_stop(job_stop.clone())),
                    stop: job_stop,
                },
                kinds,
                owner: new_owner_id(),
                stop: Arc::clone(&stop),
                unrecorded: RefCell::new(None),
            };
            runtime.spawn_blocking(move || {
                // Dropped when the loop ends, however it ends: that is the signal Drop waits for.
                let _ended = ended;
                worker.run();
            });
            std::sync::Mutex::new(loop_ended)
        });
        Runner {
            stop,
            closing,
            store,
            loop_ended,
        }
    }

    /// Stops the runner: the batch in flight commits if it is done within [`BATCH_GRACE`], else
    /// it is cancelled; the runner's leases are released. Returns then, or after
    /// [`CLOSE_WAIT`] more.
    pub fn stop(self) {}
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.store.job_wakeup().notify();
        if let Some(loop_ended) = self.loop_ended.take() {
            let loop_ended = loop_ended.into_inner().unwrap_or_else(|p| p.into_inner());
            // Nothing is sent: the loop ending disconnects the channel.
            if let Err(RecvTimeoutError::Timeout) = loop_ended.recv_timeout(BATCH_GRACE) {
                self.closing.cancel();
                let _ = loop_ended.recv_timeout(CLOSE_WAIT);
            }
        }
    }
}

struct Worker {
    ctx: JobContext,
    kinds: Vec<Arc<dyn JobKind>>,
    owner: String,
    stop: Arc<AtomicBool>,
    /// A failure of a job this worker could not record (the store failing too): written before
    /// the next claim, so it ends up on the job rather than being lost.
    unrecorded: RefCell<Option<UnrecordedFailure>>,
}

/// A [`FailureUpdate`] waiting for the store, with the claim it belongs to.
struct UnrecordedFailure {
    job_id: i64,
    batches: i64,
    error: String,
    fail: bool,
    retry_at_ms: i64,
    now: i64,
}

enum Step {
    /// A batch was committed or a failure recorded: look for more at once.
    Worked,
    Idle {
        next_due_ms: Option<i64>,
    },
    StoreFailed,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(&self) {
        let wakeup = self.ctx.store.job_wakeup();
        let mut next_purge = Instant::now();
        while !self.stopping() {
            // Read before the step, so a notify during the step cuts the sleep after it short.
            let seen = wakeup.generation();
            if Instant::now() >= next_purge {
                self.purge();
                next_purge = Instant::now() + PURGE_INTERVAL;
            }
            let mut sleep = match self.step() {
                Step::Worked => continue,
                // With no kinds there is nothing to poll for: only the next purge.
                Step::Idle { .. } if self.kinds.is_empty() => PURGE_INTERVAL,
                Step::Idle { next_due_ms } => {
                    let until_due = next_due_ms
                        .map(|due| Duration::from_millis((due - unix_ms()).max(0) as u64));
                    until_due.map_or(IDLE_POLL, |d| d.min(IDLE_POLL))
                }
                Step::StoreFailed => STORE_ERROR_PAUSE,
            };
            sleep = sleep.min(next_purge.saturating_duration_since(Instant::now()));
            wakeup.wait(seen, sleep, &|| self.stopping());
        }
        // Best effort: a lease left behind only delays others until it ends. Without kinds
        // there is none, and closing need not wait for a write (a CLI call closes every time).
        // A failure still unrecorded gets one more try; failing, it is the store's runner
        // trouble for as long as the store is open (the session closing drops both).
        if !self.kinds.is_empty() && self.record_unrecorded() {
            if let Err(e) = self
                .ctx
                .store
                .write_tx(|tx| job_table::release_leases(tx, &self.owner))
            {
                self.trouble(&e);
            }
        }
    }

    /// The store refused the runner outside a job's own failure: status reads show it on the
    /// jobs it holds up until the next successful claim.
    fn trouble(&self, error: &Error) {
        self.ctx.store.set_runner_trouble(error, self.ctx.now());
    }

    fn purge(&self) {
        // A busy store is tried again at the next interval (meanwhile it is the runner's
        // trouble, shown on the jobs held up); a panic must not end the runner.
        match catch_unwind(AssertUnwindSafe(|| {
            self.ctx.store.purge_expired(self.ctx.now())
        })) {
            Ok(Ok(_)) => {
                // Without kinds there is no claim to clear the trouble: the purge does.
                if self.kinds.is_empty() {
                    self.ctx.store.clear_runner_trouble();
                }
            }
            Ok(Err(e)) => self.trouble(&e),
            Err(_) => self.trouble(&Error::internal("the retention purge panicked")),
        }
    }

    /// Writes the failure this worker could not record earlier, if any; false (and the
    /// failure kept) while the store still refuses it.
    fn record_unrecorded(&self) -> bool {
        let Some(failure) = self.unrecorded.borrow_mut().take() else {
            return true;
        };
        let written = self.ctx.store.write_tx(|tx| {
            job_table::record_failure(
                tx,
                failure.job_id,
                failure.batches,
                &self.owner,
                &FailureUpdate {
                    error: &failure.error,
                    fail: failure.fail,
                    retry_at_ms: failure.retry_at_ms,
                    now: failure.now,
                },
            )
        });
        match written {
            Ok(()) => true,
            Err(e) => {
                self.trouble(&e);
                *self.unrecorded.borrow_mut() = Some(failure);
                false
            }
        }
    }

    fn lease(&self) -> Lease<'_> {
        let now_ms = unix_ms();
        Lease {
            owner: &self.owner,
            now_ms,
            until_ms: now_ms + LEASE_MS,
        }
    }

    fn step(&self) -> Step {
        if self.kinds.is_empty() {
            return Step::Idle { next_due_ms: None };
        }
        // Before claiming: the job it belongs to must not be claimed again without it (its
        // attempts would not count, nor would the admin see why it is being retried).
        if !self.record_unrecorded() {
            return Step::StoreFailed;
        }
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
        let lease = self.lease();
        let claim = self
            .ctx
            .store
            .write_tx(|tx| job_table::claim(tx, &names, &lease, &owner_is_gone));
        if claim.is_ok() {
            self.ctx.store.clear_runner_trouble();
        }
        let job = match claim {
            Ok(Claim::Job(job)) => job,
            Ok(Claim::Idle { next_due_ms }) => return Step::Idle { next_due_ms },
            Err(e) => {
                self.trouble(&e);
                return Step::StoreFailed;
            }
        };
        let Some(kind) = self.kinds.iter().find(|k| k.name() == job.record.kind) else {
            return Step::StoreFailed;
        };
        match catch_unwind(AssertUnwindSafe(|| kind.next_batch(&self.ctx, &job.record))) {
            Ok(Ok(batch)) => self.commit(&job, batch),
            // Cut short by the close (its requests cancelled, or its stop checked): no fault of
            // the job's, so no attempt is counted; the next runner redoes the batch.
            Ok(Err(e)) if e.is_stop() => {}
            Ok(Err(e)) => self.record_failure(&job, &e),
            Err(_) => self.record_panic(&job),
        }
        Step::Worked
    }

    fn commit(&self, job: &ClaimedJob, batch: Batch) {
        enum ApplyFailure {
            Error(Error),
            Panic,
        }
        let Batch {
            cursor,
            done,
            finished,
            apply,
        } = batch;
        let update = BatchUpdate {
            cursor: cursor.as_deref(),
            done,
            finished,
            now: self.ctx.now(),
        };
        let lease = self.lease();
        let mut apply_failure = None;
        let committed = self.ctx.store.write_tx(|tx| {
            if !job_table::advance(tx, job.record.id, job.batches, &lease, &update)? {
                // Taken over or cancelled since the claim: this batch is not ours to write.
                return Ok(());
            }
            match catch_unwind(AssertUnwindSafe(|| apply(tx))) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => {
                    apply_failure = Some(ApplyFailure::Error(e.clone()));
                    Err(e)
                }
                Err(_) => {
                    apply_failure = Some(ApplyFailure::Panic);
                    Err(Error::internal("the job's writes panicked"))
                }
            }
        });
        match (apply_failure, committed) {
            (Some(ApplyFailure::Panic), _) => self.record_panic(job),
            (Some(ApplyFailure::Error(e)), _) | (None, Err(e)) => self.record_failure(job, &e),
            (None, Ok(())) => {}
        }
    }

    /// Records an `Err`: only its code and message, which the engine keeps free of secrets.
    fn record_failure(&self, job: &ClaimedJob, error: &Error) {
        let attempt = job.record.attempts.saturating_add(1);
        let backoff = BACKOFF_BASE_MS
            .saturating_mul(1 << attempt.saturating_sub(1).min(20))
            .min(BACKOFF_MAX_MS);
        self.write_failure(
            job,
            &FailureUpdate {
                error: &format!("{}: {}", error.code, error.message),
                fail: attempt >= MAX_ATTEMPTS,
                retry_at_ms: unix_ms() + backoff,
                now: self.ctx.now(),
            },
        );
    }

    /// A panic is a bug in the kind, not a passing condition: the job is Failed at once. The
    /// panic's message is not stored, since nothing vouches that it is free of secrets.
    fn record_panic(&self, job: &ClaimedJob) {
        self.write_failure(
            job,
            &FailureUpdate {
                error: "JobPanicked: the job kind panicked; the job was stopped",
                fail: true,
                retry_at_ms: unix_ms(),
                now: self.ctx.now(),
            },
        );
    }

    fn write_failure(&self, job: &ClaimedJob, failure: &FailureUpdate<'_>) {
        // Unrecorded (the store failing too), it is kept and written before the next claim;
        // meanwhile the store's runner trouble shows on the job.
        let written = self.ctx.store.write_tx(|tx| {
            job_table::record_failure(tx, job.record.id, job.batches, &self.owner, failure)
        });
        if let Err(e) = written {
            self.trouble(&e);
            *self.unrecorded.borrow_mut() = Some(UnrecordedFailure {
                job_id: job.record.id,
                batches: job.batches,
                error: failure.error.to_string(),
                fail: failure.fail,
                retry_at_ms: failure.retry_at_ms,
                now: failure.now,
            });
        }
    }
}

fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `<pid>-<random>`: the pid lets a runner of another process on this machine see that the
/// owner died (WAL stores are shared by processes of one machine only); the random part tells
/// apart the runners of several sessions in one process.
fn new_owner_id() -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = crate::crypto::random_bytes(8)
        .map(|b| crate::crypto::hex(&b))
        .unwrap_or_else(|_| format!("{}s{}", unix_ms(), SEQUENCE.fetch_add(1, Ordering::Relaxed)));
    format!("{}-{unique}", std::process::id())
}

/// True only when the owner's process is certainly gone; any doubt (another user's process,
/// an unparsable owner, this very process) keeps its lease until it ends. Unix only:
/// `kill(pid, 0)`.
#[cfg(unix)]
fn owner_is_gone(owner: &str) -> bool {
    let Some(pid) = owner
        .split('-')
        .next()
        .and_then(|p| p.parse::<libc::pid_t>().ok())
    else {
        return false;
    };
    if pid <= 0 || u32::try_from(pid).ok() == Some(std::process::id()) {
        return false;
    }
    // Signal 0 checks existence without signalling.
    // SAFETY: kill with signal 0 sends nothing; it only asks whether `pid` exists, and takes
    // no pointers.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    !alive && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH)
}
