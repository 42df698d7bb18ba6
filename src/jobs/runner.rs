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

use super::leases::{self, Now, Waits, LEASE};
use super::{Batch, JobContext, JobKind, PURGE_INTERVAL};
use crate::cancel::Canceller;
use crate::error::Error;
use crate::store::jobs::{self as job_table, BatchUpdate, Claim, ClaimedJob, FailureUpdate, Lease};
use crate::store::Store;
use crate::time::Clock;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Failed attempts of one batch before the job is Failed.
pub const MAX_ATTEMPTS: u32 = 4;
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
    #[cfg(feature = "test-hooks")]
    passes: Arc<super::passes::Passes>,
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
        remote: Option<Arc<dyn crate::azure_backend::AzureBackend>>,
    ) -> Runner {
        Runner::start_clocked(store, time_shift, kinds, remote, Clock::system())
    }

    /// The same on the session's clock.
    pub fn start_clocked(
        store: Arc<Store>,
        time_shift: i64,
        kinds: Vec<Arc<dyn JobKind>>,
        remote: Option<Arc<dyn crate::azure_backend::AzureBackend>>,
        clock: Clock,
    ) -> Runner {
        let stop = Arc::new(AtomicBool::new(false));
        let closing = Canceller::for_jobs();
        #[cfg(feature = "test-hooks")]
        let passes = Arc::new(super::passes::Passes::default());
        let loop_ended = crate::rt::runtime().map(|runtime| {
            let (ended, loop_ended) = mpsc::channel::<()>();
            let job_stop = closing.begin(None);
            let worker = Worker {
                ctx: JobContext {
                    store: Arc::clone(&store),
                    clock,
                    time_shift,
                    remote: remote.map(|r| r.with_stop(job_stop.clone())),
                    stop: job_stop,
                },
                kinds,
                owner: new_owner_id(),
                stop: Arc::clone(&stop),
                unrecorded: RefCell::new(None),
                waits: RefCell::new(Waits::default()),
                #[cfg(feature = "test-hooks")]
                passes: Arc::clone(&passes),
            };
            runtime.spawn_blocking(move || {
                // Dropped when the loop ends, however it ends: that is the signal Drop waits for.
                let _ended = ended;
                // Bound after it, so dropped before it: the worker's store handle is gone by the
                // time Drop returns, and a closed session leaves its store checkpointed.
                let worker = worker;
                worker.run();
            });
            std::sync::Mutex::new(loop_ended)
        });
        Runner {
            stop,
            closing,
            store,
            loop_ended,
            #[cfg(feature = "test-hooks")]
            passes,
        }
    }

    /// Test hooks only: returns once a claim pass begun after the call has found nothing this
    /// runner may run now (every job it could run ended, or waits on a lease or a backoff);
    /// false when none did within `limit`.
    #[cfg(feature = "test-hooks")]
    pub fn settle(&self, limit: Duration) -> bool {
        let pass = self.passes.begun();
        self.store.job_wakeup().notify();
        self.passes.wait_idle_after(pass, limit)
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
    /// Others' leases and the backoffs seen, timed on the clock's monotonic side.
    waits: RefCell<Waits>,
    #[cfg(feature = "test-hooks")]
    passes: Arc<super::passes::Passes>,
}

/// A [`FailureUpdate`] waiting for the store, with the claim it belongs to.
struct UnrecordedFailure {
    job_id: i64,
    batches: i64,
    error: String,
    fail: bool,
    retry_at_ms: i64,
    backoff: Duration,
    now: i64,
}

enum Step {
    /// A batch was committed or a failure recorded: look for more at once.
    Worked,
    Idle {
        next_due: Option<Duration>,
    },
    StoreFailed,
}

impl Worker {
    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    fn run(&self) {
        let wakeup = self.ctx.store.job_wakeup();
        let clock = &self.ctx.clock;
        let mut next_purge = clock.monotonic();
        while !self.stopping() {
            // Read before the step, so a notify during the step cuts the sleep after it short.
            let seen = wakeup.generation();
            if clock.monotonic() >= next_purge {
                self.purge();
                next_purge = clock.monotonic() + PURGE_INTERVAL;
            }
            #[cfg(feature = "test-hooks")]
            let pass = self.passes.begin();
            let step = self.step();
            #[cfg(feature = "test-hooks")]
            if matches!(step, Step::Idle { .. }) {
                self.passes.idle(pass);
            }
            let sleep = match step {
                Step::Worked => continue,
                // With no kinds there is nothing to poll for: only the next purge.
                Step::Idle { .. } if self.kinds.is_empty() => PURGE_INTERVAL,
                Step::Idle { next_due } => next_due.map_or(IDLE_POLL, |d| d.min(IDLE_POLL)),
                Step::StoreFailed => STORE_ERROR_PAUSE,
            };
            self.sleep_until(seen, (clock.monotonic() + sleep).min(next_purge));
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

    /// Sleeps until `until` on the clock's monotonic side, or until notified or stopped.
    fn sleep_until(&self, seen: u64, until: Instant) {
        let clock = &self.ctx.clock;
        loop {
            let left = until.saturating_duration_since(clock.monotonic());
            if left.is_zero() || self.stopping() {
                return;
            }
            let woken = self
                .ctx
                .store
                .job_wakeup()
                .wait(seen, clock.wait_slice(left), &|| self.stopping());
            if woken != seen {
                return;
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
            self.ctx
                .store
                .purge_expired(self.ctx.now(), self.ctx.clock.unix_seconds())
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
            Ok(()) => {
                self.backoff_recorded(failure.job_id, failure.retry_at_ms, failure.backoff);
                true
            }
            Err(e) => {
                self.trouble(&e);
                *self.unrecorded.borrow_mut() = Some(failure);
                false
            }
        }
    }

    fn lease(&self) -> Lease<'_> {
        let now_ms = self.ctx.clock.unix_ms();
        Lease {
            owner: &self.owner,
            now_ms,
            until_ms: now_ms.saturating_add(LEASE.as_millis() as i64),
        }
    }

    /// Starts timing, on the monotonic clock, the backoff this runner just wrote.
    fn backoff_recorded(&self, job_id: i64, retry_at_ms: i64, backoff: Duration) {
        let now = self.ctx.clock.monotonic();
        self.waits
            .borrow_mut()
            .backoff_recorded(job_id, retry_at_ms, backoff, now);
    }

    fn step(&self) -> Step {
        if self.kinds.is_empty() {
            return Step::Idle { next_due: None };
        }
        // Before claiming: the job it belongs to must not be claimed again without it (its
        // attempts would not count, nor would the admin see why it is being retried).
        if !self.record_unrecorded() {
            return Step::StoreFailed;
        }
        let names: Vec<&str> = self.kinds.iter().map(|k| k.name()).collect();
        let lease = self.lease();
        let now = Now {
            wall_ms: lease.now_ms,
            monotonic: self.ctx.clock.monotonic(),
        };
        let mut waits = self.waits.borrow_mut();
        waits.begin_pass();
        let claim = self.ctx.store.write_tx(|tx| {
            job_table::claim(tx, &names, &lease, &mut |job| {
                waits.held(job, &self.owner, now, &owner_is_gone)
            })
        });
        if matches!(claim, Ok(Claim::Idle { .. })) {
            waits.end_full_pass();
        }
        drop(waits);
        if claim.is_ok() {
            self.ctx.store.clear_runner_trouble();
        }
        let job = match claim {
            Ok(Claim::Job(job)) => job,
            Ok(Claim::Idle { next_due }) => return Step::Idle { next_due },
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
        let backoff = leases::backoff(attempt);
        self.write_failure(
            job,
            &FailureUpdate {
                error: &format!("{}: {}", error.code, error.message),
                fail: attempt >= MAX_ATTEMPTS,
                retry_at_ms: self
                    .ctx
                    .clock
                    .unix_ms()
                    .saturating_add(backoff.as_millis() as i64),
                now: self.ctx.now(),
            },
            backoff,
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
                retry_at_ms: self.ctx.clock.unix_ms(),
                now: self.ctx.now(),
            },
            Duration::ZERO,
        );
    }

    fn write_failure(&self, job: &ClaimedJob, failure: &FailureUpdate<'_>, backoff: Duration) {
        // Unrecorded (the store failing too), it is kept and written before the next claim;
        // meanwhile the store's runner trouble shows on the job.
        let written = self.ctx.store.write_tx(|tx| {
            job_table::record_failure(tx, job.record.id, job.batches, &self.owner, failure)
        });
        match written {
            Ok(()) => self.backoff_recorded(job.record.id, failure.retry_at_ms, backoff),
            Err(e) => {
                self.trouble(&e);
                *self.unrecorded.borrow_mut() = Some(UnrecordedFailure {
                    job_id: job.record.id,
                    batches: job.batches,
                    error: failure.error.to_string(),
                    fail: failure.fail,
                    retry_at_ms: failure.retry_at_ms,
                    backoff,
                    now: failure.now,
                });
            }
        }
    }
}

/// `<pid>-<random>`: the pid lets a runner of another process on this machine see that the
/// owner died (WAL stores are shared by processes of one machine only); the random part tells
/// apart the runners of several sessions in one process.
fn new_owner_id() -> String {
    static SEQUENCE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let unique = crate::crypto::random_bytes(8)
        .map(|b| crate::crypto::hex(&b))
        .unwrap_or_else(|_| {
            let now = Clock::system().unix_ms();
            format!("{now}s{}", SEQUENCE.fetch_add(1, Ordering::Relaxed))
        });
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
