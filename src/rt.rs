//! The library's tokio runtime, created on first use, for every layer: background jobs, the
//! Azure client, `customer-key serve`. A leaf that names nothing of the crate, so any module
//! may use it without an import circle.
//!
//! The engine's callers are synchronous (the C ABI, the CLI, job batches), but some of them sit
//! inside a runtime of their own: a host's `#[tokio::main]`, a test's current-thread runtime, a
//! job batch on the blocking pool. [`block_on`] therefore never drives a future on the caller's
//! runtime, whose drivers it may lack and whose `block_in_place` panics on a current thread.

use once_cell::sync::Lazy;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::task::Poll;
use tokio::runtime::{Handle, Runtime, RuntimeFlavor};

static RUNTIME: Lazy<Option<Runtime>> = Lazy::new(|| {
    // Jobs alone would need one worker (their batches run on the blocking pool), but
    // `customer-key serve` answers on these workers: one per core, up to four. Idle workers
    // park, so a host that never serves pays only for the threads.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, 4);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name("customer-key-jobs")
        // IO as well: `customer-key serve` listens on this runtime, the Azure client connects.
        .enable_all()
        .build()
        .ok()
});

/// The library's runtime; `None` only if the OS refused a thread, in which case background
/// jobs do not run and every operation still purges at its start.
pub fn runtime() -> Option<&'static Runtime> {
    RUNTIME.as_ref()
}

/// The library's runtime could not start, or stopped before it answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unavailable;

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the library's runtime could not start a thread")
    }
}

impl std::error::Error for Unavailable {}

/// Runs `future` to its end on the library's runtime and returns its output, from any thread.
/// A panic inside `future` resumes on the caller's thread, where the C ABI's boundary catches
/// it as it would any other.
///
/// Outside any runtime the caller's thread drives the future, as `Runtime::block_on` does.
/// Inside one, the future is spawned on the library's runtime and the caller waits for it;
/// on a multi-thread runtime inside `block_in_place`, so a worker of the library's own runtime
/// hands its queue (the spawned task may sit there) to another thread while it waits.
pub fn block_on<F>(future: F) -> Result<F::Output, Unavailable>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let rt = runtime().ok_or(Unavailable)?;
    let Ok(caller) = Handle::try_current() else {
        return Ok(rt.block_on(future));
    };
    let (answer, answered) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let mut future = std::pin::pin!(future);
        let outcome = std::future::poll_fn(|cx| {
            match panic::catch_unwind(AssertUnwindSafe(|| future.as_mut().poll(cx))) {
                Ok(poll) => poll.map(Ok),
                Err(payload) => Poll::Ready(Err(payload)),
            }
        })
        .await;
        let _ = answer.send(outcome);
    });
    let wait = || answered.recv();
    let outcome = match caller.runtime_flavor() {
        RuntimeFlavor::MultiThread => tokio::task::block_in_place(wait),
        _ => wait(),
    };
    match outcome {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(payload)) => panic::resume_unwind(payload),
        // The task was dropped unfinished: only a runtime shutting down does that.
        Err(_) => Err(Unavailable),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    /// A future that needs a timer, and tells which thread finished it.
    async fn sleep_then_name() -> Option<String> {
        tokio::time::sleep(Duration::from_millis(5)).await;
        std::thread::current().name().map(str::to_string)
    }

    const LIBRARY_THREAD: Option<&str> = Some("customer-key-jobs");

    // The caller's runtime has no timer: a future run on its handle would panic, and before
    // `rt` the helper's `block_in_place` panicked on a current-thread runtime.
    #[test]
    fn answers_inside_a_current_thread_runtime() {
        let caller = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let name = caller.block_on(async { block_on(sleep_then_name()).unwrap() });
        assert_eq!(name.as_deref(), LIBRARY_THREAD);
        let from_task = caller
            .block_on(caller.spawn(async { block_on(sleep_then_name()).unwrap() }))
            .unwrap();
        assert_eq!(from_task.as_deref(), LIBRARY_THREAD);
    }

    // The old helper ran the future on the caller's handle (here without a timer: a panic).
    #[test]
    fn answers_inside_a_multi_thread_runtime() {
        let caller = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .build()
            .unwrap();
        let name = caller.block_on(async { block_on(sleep_then_name()).unwrap() });
        assert_eq!(name.as_deref(), LIBRARY_THREAD);
        let on_worker = caller
            .block_on(caller.spawn(async { block_on(sleep_then_name()).unwrap() }))
            .unwrap();
        assert_eq!(on_worker.as_deref(), LIBRARY_THREAD);
        let on_blocking_pool = caller
            .block_on(caller.spawn_blocking(|| block_on(sleep_then_name()).unwrap()))
            .unwrap();
        assert_eq!(on_blocking_pool.as_deref(), LIBRARY_THREAD);
    }

    // The library's own workers and blocking pool call it too (serve's handlers, job batches).
    #[test]
    fn answers_inside_the_library_runtime_and_outside_any() {
        let rt = runtime().unwrap();
        assert_eq!(block_on(async { 6 * 7 }), Ok(42));
        let nested = rt
            .block_on(rt.spawn(async { block_on(sleep_then_name()).unwrap() }))
            .unwrap();
        assert_eq!(nested.as_deref(), LIBRARY_THREAD);
        let blocking = rt
            .block_on(rt.spawn_blocking(|| block_on(async { 7 }).unwrap()))
            .unwrap();
        assert_eq!(blocking, 7);
    }

    #[test]
    fn a_panic_in_the_future_resumes_in_the_caller() {
        let caller = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let caught = panic::catch_unwind(AssertUnwindSafe(|| {
            caller.block_on(async { block_on(async { panic!("inside the future") }) })
        }))
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"inside the future"));
    }
}
