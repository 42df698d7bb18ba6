//! Ending work early: a call cancelled by `ck_cancel` (Ctrl+C in PowerShell), a call past its
//! deadline (the session's `CallTimeoutSeconds`), and a job's batch cut short by its session
//! closing.
//!
//! A [`Canceller`] belongs to what is cancelled as a whole: a session's calls, or a job runner's
//! batches. Cancelling it ends the work begun before, never the work begun after: Ctrl+C during
//! one cmdlet must not refuse the admin's next one. A [`Stop`] is one piece of work's view of it
//! (the generation it began in, and its deadline), checked where the work waits: the HTTP client
//! races each request against it ([`Stop::bound`], a `select!` on a `watch` channel), loops over
//! many items check it between items ([`Stop::check`]), and pauses sleep through it.
//!
//! A leaf beside [`crate::rt`]: it names nothing of the crate but the error type.

use crate::error::{CkStatus, Error, Result};
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Who cancels, which decides what the error tells the reader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cause {
    /// `ck_cancel` on the session.
    Caller,
    /// The session closing under its job runner.
    Closing,
}

/// The cancellation of a session's calls, or of a job runner's batches.
pub struct Canceller {
    /// Bumped by each cancel; a `watch` so that an async wait wakes at once, and a plain read
    /// for the synchronous checks.
    generation: watch::Sender<u64>,
    cause: Cause,
}

impl Canceller {
    /// For a session's calls, cancelled by `ck_cancel`.
    pub fn for_calls() -> Arc<Canceller> {
        Canceller::new(Cause::Caller)
    }

    /// For a job runner's batches, cancelled when its session closes.
    pub fn for_jobs() -> Arc<Canceller> {
        Canceller::new(Cause::Closing)
    }

    fn new(cause: Cause) -> Arc<Canceller> {
        Arc::new(Canceller {
            generation: watch::Sender::new(0),
            cause,
        })
    }

    /// Stops every piece of work begun before this returns.
    pub fn cancel(&self) {
        // send_modify stores the value even when nobody waits on it (send would not).
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
    }

    /// The stop of work beginning now: ended by the next [`Canceller::cancel`], and once
    /// `timeout` has passed when one is given.
    pub fn begin(self: &Arc<Self>, timeout: Option<Duration>) -> Stop {
        Stop {
            canceller: Some(Arc::clone(self)),
            begun: *self.generation.borrow(),
            deadline: timeout.map(Deadline::after),
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Deadline {
    at: Instant,
    /// The timeout it was made from, for the message.
    after: Duration,
}

impl Deadline {
    fn after(after: Duration) -> Deadline {
        let now = Instant::now();
        Deadline {
            // A timeout too long for the clock never comes.
            at: now
                .checked_add(after)
                .unwrap_or(now + Duration::from_secs(86_400 * 365)),
            after,
        }
    }
}

/// One call's (or one job's) way to learn that it should end. Cheap to clone.
#[derive(Clone)]
pub struct Stop {
    canceller: Option<Arc<Canceller>>,
    begun: u64,
    deadline: Option<Deadline>,
}

impl Default for Stop {
    fn default() -> Self {
        Stop::never()
    }
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("cancellable", &self.canceller.is_some())
            .field("deadline", &self.deadline.map(|d| d.after))
            .finish()
    }
}

impl Stop {
    /// Work nothing stops: the Rust API's own calls, and the session's shared backend.
    pub const fn never() -> Stop {
        Stop {
            canceller: None,
            begun: 0,
            deadline: None,
        }
    }

    /// The same cancellation with a deadline of its own from now: each item of a batch is a
    /// call of its own, and a cancel still ends the items after it.
    pub fn renewed(&self, timeout: Option<Duration>) -> Stop {
        Stop {
            canceller: self.canceller.clone(),
            begun: self.begun,
            deadline: timeout.map(Deadline::after),
        }
    }

    /// `Err` (cancelled, or past the deadline) when the work should end now.
    pub fn check(&self) -> Result<()> {
        if let Some(canceller) = &self.canceller {
            if *canceller.generation.borrow() != self.begun {
                return Err(cancelled(canceller.cause));
            }
        }
        match self.deadline {
            Some(d) if Instant::now() >= d.at => Err(timed_out(d.after)),
            _ => Ok(()),
        }
    }

    /// Runs `work` until it ends or this stop comes, whichever is first; dropping `work` then
    /// abandons it (an HTTP request in flight is dropped with its connection). Needs a runtime
    /// with a timer: the library's, through [`crate::rt::block_on`].
    pub async fn bound<T>(&self, work: impl Future<Output = Result<T>>) -> Result<T> {
        self.check()?;
        let cancelled_now = async {
            match &self.canceller {
                Some(canceller) => {
                    let mut seen = canceller.generation.subscribe();
                    // Err only when the sender is gone, which this stop's Arc prevents.
                    if seen.wait_for(|g| *g != self.begun).await.is_ok() {
                        return cancelled(canceller.cause);
                    }
                    std::future::pending().await
                }
                None => std::future::pending().await,
            }
        };
        let expired = async {
            match self.deadline {
                Some(d) => {
                    tokio::time::sleep_until(d.at.into()).await;
                    timed_out(d.after)
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            biased;
            e = cancelled_now => Err(e),
            e = expired => Err(e),
            answer = work => answer,
        }
    }

    /// Sleeps for `pause`, or less when the stop comes first (then `Err`).
    pub fn sleep(&self, pause: Duration) -> Result<()> {
        // Polled: the pauses are a job's pacing, short, and a synchronous wait on the watch
        // would need a runtime on this thread.
        let end = Instant::now() + pause;
        loop {
            self.check()?;
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            std::thread::sleep(left.min(Duration::from_millis(20)));
        }
    }
}

fn cancelled(cause: Cause) -> Error {
    match cause {
        Cause::Caller => Error::new(
            CkStatus::Cancelled,
            "OperationCancelled",
            "The call was cancelled (ck_cancel; Ctrl+C in PowerShell) and stopped where it was waiting; a request it had already sent to Azure may still take effect there",
            "",
        ),
        Cause::Closing => Error::new(
            CkStatus::Cancelled,
            "OperationCancelled",
            "The session closed during the job's batch; the job resumes from its last committed batch when a session next opens the store",
            "",
        ),
    }
}

fn timed_out(after: Duration) -> Error {
    Error::new(
        CkStatus::TimedOut,
        "OperationTimedOut",
        format!(
            "The call did not finish within {} s (the session's CallTimeoutSeconds) and was stopped; a request it had already sent to Azure may still take effect there. Open the session with a larger CallTimeoutSeconds for longer calls",
            after.as_secs()
        ),
        "CallTimeoutSeconds",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_stops_what_began_before_it_and_nothing_after() {
        let calls = Canceller::for_calls();
        let before = calls.begin(None);
        assert!(before.check().is_ok());
        calls.cancel();
        let e = before.check().unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.status),
            ("OperationCancelled", CkStatus::Cancelled)
        );
        assert_eq!(e.category(), "OperationStopped");
        let after = calls.begin(None);
        assert!(after.check().is_ok(), "a call begun after the cancel runs");
        // A batch's item keeps its batch's place: the cancel ends the items after it too.
        assert!(before.renewed(None).check().is_err());
        assert!(Stop::never().check().is_ok());
    }

    #[test]
    fn a_deadline_ends_the_work_and_names_the_option() {
        let stop = Canceller::for_calls().begin(Some(Duration::ZERO));
        let e = stop.check().unwrap_err();
        assert_eq!(
            (e.code.as_str(), e.category()),
            ("OperationTimedOut", "OperationTimeout")
        );
        assert!(e.message.contains("CallTimeoutSeconds"), "{e}");
        assert!(stop.renewed(Some(Duration::from_secs(60))).check().is_ok());
    }

    #[test]
    fn a_wait_ends_when_the_stop_comes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let calls = Canceller::for_calls();
        let stop = calls.begin(None);
        let cancel = {
            let calls = Arc::clone(&calls);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                calls.cancel();
            })
        };
        let started = Instant::now();
        let e = rt
            .block_on(stop.bound(std::future::pending::<Result<()>>()))
            .unwrap_err();
        cancel.join().unwrap();
        assert_eq!(e.code, "OperationCancelled");
        assert!(started.elapsed() < Duration::from_secs(5));
        let timed = Canceller::for_calls().begin(Some(Duration::from_millis(30)));
        let e = rt
            .block_on(timed.bound(std::future::pending::<Result<()>>()))
            .unwrap_err();
        assert_eq!(e.code, "OperationTimedOut");
        assert_eq!(
            rt.block_on(Stop::never().bound(async { Ok(7) })).unwrap(),
            7
        );
        let closing = Canceller::for_jobs();
        let job = closing.begin(None);
        closing.cancel();
        assert!(job.sleep(Duration::from_secs(30)).is_err());
    }
}
