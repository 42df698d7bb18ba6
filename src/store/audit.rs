//! The audit writer: reads, cryptographic operations and failures hand their audit rows to
//! one thread per store, which group-commits them (one transaction every few milliseconds or
//! every few thousand rows). A state-changing operation's own row is never here: it is written
//! in the operation's transaction.
//!
//! What a crash can lose: the rows of the last batch not yet committed (at most
//! [`MAX_DELAY`] of reads, crypto operations and failures), never a change or its row. The
//! writer is flushed on `ck_close` (the store's drop), by [`AuditWriter::flush`] (before the
//! audit table is read), and when the process exits normally (an `atexit` hook).

use super::{insert_audit, open_connection, AuditEntry, Tx};
use crate::error::Result;
use rusqlite::TransactionBehavior;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, Once, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a row may wait for its commit.
pub const MAX_DELAY: Duration = Duration::from_millis(20);
/// Rows per transaction at most.
const MAX_BATCH: usize = 4096;
/// How long a flush waits for the writer before giving up (a wedged disk must not hang exit).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(10);

struct Row {
    time: i64,
    principal: String,
    operation: String,
    target: String,
    result: String,
}

/// Rows that may wait for a commit at most: past it a call waits for the writer's next commit
/// (callers outrunning it), and fails instead of queuing when the store is failing the
/// writer's commits or lets none through for [`QUEUE_WAIT`] (an unaudited call is worse than
/// a failed one).
const MAX_QUEUED: usize = 16 * MAX_BATCH;
/// How long a call waits for room in a full queue.
const QUEUE_WAIT: Duration = Duration::from_secs(10);

#[derive(Default)]
struct Pending {
    rows: Vec<Row>,
    /// Why the last commit failed, while rows wait for the next (cleared by a commit).
    failing: Option<String>,
    /// Rows the writer took for the commit it is making (still unwritten: they count against
    /// the bound, and come back to `rows` if the commit fails).
    in_flight: usize,
    /// Incremented by each flush request; the writer reports the last it has committed.
    flush_requested: u64,
    flush_done: u64,
    closed: bool,
}

/// What callers and the writer thread share. A call only locks, pushes and (for the first
/// row of a batch) wakes the writer: no syscall per row.
struct Shared {
    pending: Mutex<Pending>,
    /// Wakes the writer: rows arrived, a flush was asked for, or the store closes.
    work: Condvar,
    /// Wakes flushers: a batch was committed.
    committed: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn flush(&self) {
        let mut pending = self.lock();
        if pending.closed {
            return;
        }
        pending.flush_requested += 1;
        let ticket = pending.flush_requested;
        self.work.notify_one();
        let deadline = Instant::now() + FLUSH_TIMEOUT;
        while pending.flush_done < ticket && !pending.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            pending = self
                .committed
                .wait_timeout(pending, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

/// Every live writer, so the exit hook can flush them all.
static LIVE: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// Unix only (registered with `atexit`): see the compile_error! in lib.rs.
#[cfg(unix)]
extern "C" fn flush_all_at_exit() {
    let live: Vec<Arc<Shared>> = LIVE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .iter()
        .filter_map(Weak::upgrade)
        .collect();
    for shared in live {
        shared.flush();
    }
}

#[cfg(unix)]
fn register_exit_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: `flush_all_at_exit` is an `extern "C" fn()` that does not unwind (it only
        // locks and waits with a timeout), as atexit requires.
        unsafe {
            libc::atexit(flush_all_at_exit);
        }
    });
}

pub struct AuditWriter {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl AuditWriter {
    pub fn start(db_path: &Path) -> Result<AuditWriter> {
        let mut conn = open_connection(db_path)?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(Pending::default()),
            work: Condvar::new(),
            committed: Condvar::new(),
        });
        let for_thread = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("customer-key-audit".into())
            .spawn(move || run(&mut conn, &for_thread))
            .map_err(|e| crate::Error::internal(format!("cannot start the audit writer: {e}")))?;
        {
            let mut live = LIVE.lock().unwrap_or_else(|p| p.into_inner());
            live.retain(|w| w.strong_count() > 0);
            live.push(Arc::downgrade(&shared));
        }
        register_exit_hook();
        Ok(AuditWriter {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Queues one row; it is committed within about [`MAX_DELAY`]. Rows carry the real
    /// wall-clock time of the call, not of the commit. With [`MAX_QUEUED`] rows waiting, waits
    /// for the writer's next commit; refused (nothing queued) when the store keeps failing the
    /// writer's commits or none goes through for [`QUEUE_WAIT`]: the caller then fails the
    /// call rather than leave it unaudited. Queued rows are never dropped while the store is
    /// open.
    pub fn record(&self, entry: &AuditEntry<'_>, result: &str) -> Result<()> {
        let row = Row {
            time: entry.time,
            principal: entry.principal.to_string(),
            operation: entry.operation.to_string(),
            target: entry.target.to_string(),
            result: result.to_string(),
        };
        let mut pending = self.shared.lock();
        // A full queue with a healthy writer is callers outrunning its commits: wait for the
        // next commit (back-pressure). Only a failing store, or one that lets no commit through
        // for QUEUE_WAIT, fails the call.
        let deadline = Instant::now() + QUEUE_WAIT;
        while pending.rows.len() + pending.in_flight >= MAX_QUEUED
            && pending.failing.is_none()
            && !pending.closed
        {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            pending = self
                .shared
                .committed
                .wait_timeout(pending, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        if pending.rows.len() + pending.in_flight >= MAX_QUEUED {
            let cause = pending.failing.clone().unwrap_or_else(|| {
                format!("no commit went through for {} s", QUEUE_WAIT.as_secs())
            });
            return Err(crate::Error::new(
                crate::CkStatus::Io,
                "AuditUnavailable",
                format!(
                    "The audit log cannot be written: {} rows wait for the store ({cause}). The call's result is withheld rather than left unaudited; free disk space or end what holds the store, then try again",
                    pending.rows.len() + pending.in_flight
                ),
                "audit",
            ));
        }
        pending.rows.push(row);
        if pending.rows.len() == 1 {
            self.shared.work.notify_one();
        }
        Ok(())
    }

    /// Waits until every row queued so far is committed.
    pub fn flush(&self) {
        self.shared.flush();
    }
}

impl Drop for AuditWriter {
    fn drop(&mut self) {
        // The thread commits what is left, then ends.
        self.shared.lock().closed = true;
        self.shared.work.notify_one();
        if let Some(thread) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = thread.join();
        }
    }
}

fn run(conn: &mut rusqlite::Connection, shared: &Shared) {
    loop {
        let (mut rows, ticket, closed) = {
            let mut pending = shared.lock();
            while pending.rows.is_empty()
                && pending.flush_requested == pending.flush_done
                && !pending.closed
            {
                pending = shared.work.wait(pending).unwrap_or_else(|p| p.into_inner());
            }
            let asked = pending.flush_requested != pending.flush_done || pending.closed;
            if !asked && pending.rows.len() < MAX_BATCH {
                // Let the batch fill for a moment: one commit for many rows. A flush or the
                // store closing ends the wait at once (a caller is waiting for the commit);
                // rows arriving do not wake it (only a batch's first row notifies).
                let deadline = Instant::now() + MAX_DELAY;
                loop {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero()
                        || pending.flush_requested != pending.flush_done
                        || pending.closed
                    {
                        break;
                    }
                    pending = shared
                        .work
                        .wait_timeout(pending, left)
                        .unwrap_or_else(|p| p.into_inner())
                        .0;
                }
            }
            pending.in_flight = pending.rows.len();
            (
                std::mem::take(&mut pending.rows),
                pending.flush_requested,
                pending.closed,
            )
        };
        let failure = commit(conn, &mut rows);
        let mut pending = shared.lock();
        pending.failing = failure;
        pending.in_flight = 0;
        if !rows.is_empty() {
            // Not written (a store error): keep them, oldest first, for the next batch. The
            // queue stays bounded because `record` refuses new rows past MAX_QUEUED.
            rows.append(&mut pending.rows);
            pending.rows = rows;
        }
        pending.flush_done = ticket;
        shared.committed.notify_all();
        if closed {
            // Whatever could not be written by now is given up with the store.
            return;
        }
    }
}

/// Commits `rows` in one transaction, retrying a busy store a few times; on success `rows` is
/// emptied, otherwise left for the next batch (bounded by `record`, so a broken disk cannot
/// grow memory without end) and the last failure is returned, code and message.
fn commit(conn: &mut rusqlite::Connection, rows: &mut Vec<Row>) -> Option<String> {
    if rows.is_empty() {
        return None;
    }
    let mut failure = None;
    for _ in 0..5 {
        let written = (|| -> Result<()> {
            let tx = Tx::new(conn.transaction_with_behavior(TransactionBehavior::Immediate)?);
            for r in rows.iter() {
                insert_audit(
                    &tx,
                    r.time,
                    &AuditEntry {
                        time: r.time,
                        principal: &r.principal,
                        operation: &r.operation,
                        target: &r.target,
                    },
                    &r.result,
                )?;
            }
            tx.commit()?;
            Ok(())
        })();
        match written {
            Ok(()) => {
                rows.clear();
                return None;
            }
            Err(e) => failure = Some(format!("{}: {}", e.code, e.message)),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    failure
}
