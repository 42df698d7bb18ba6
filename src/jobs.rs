//! Background work, on one tokio runtime for the whole library, created on first use.
//!
//! Today: the retention purger. Soft-deleted vaults and keys are purged when their retention
//! ends even while a long-lived session (a PowerShell window left open for days) makes no
//! calls. Each job holds only a weak reference to its store, so it ends by itself once the
//! session is closed.

use crate::store::Store;
use once_cell::sync::Lazy;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often the purger looks for expired deleted objects.
pub const PURGE_INTERVAL: Duration = Duration::from_secs(60);

static RUNTIME: Lazy<Option<tokio::runtime::Runtime>> = Lazy::new(|| {
    // One worker: the jobs are small, and the host (PowerShell, a C program) owns the machine.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("customer-key-jobs")
        .enable_time()
        .build()
        .ok()
});

/// The library's runtime; `None` only if the OS refused a thread, in which case background
/// jobs do not run and every operation still purges at its start.
pub fn runtime() -> Option<&'static tokio::runtime::Runtime> {
    RUNTIME.as_ref()
}

/// Starts the retention purger for `store`, running at once and then every `PURGE_INTERVAL`,
/// with the session's clock (wall clock plus `time_shift` seconds).
pub fn start_retention_purger(store: &Arc<Store>, time_shift: i64) {
    let Some(runtime) = runtime() else {
        return;
    };
    let store: Weak<Store> = Arc::downgrade(store);
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(PURGE_INTERVAL);
        loop {
            ticks.tick().await;
            let Some(store) = store.upgrade() else {
                return;
            };
            let now = crate::time::unix_now() + time_shift;
            // SQLite calls block: keep them off the async worker.
            let done = tokio::task::spawn_blocking(move || {
                // A busy store is tried again at the next tick; errors are not fatal to the job.
                let _ = store.purge_expired(now);
            })
            .await;
            if done.is_err() {
                return;
            }
        }
    });
}
