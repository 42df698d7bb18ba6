//! Test hooks only: a test waits for the runner to have been through the job table, rather
//! than sleeping and hoping it has.

use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// The runner's claim passes: how many began, and the last that found nothing to run.
#[derive(Default)]
pub struct Passes {
    state: Mutex<Counts>,
    idle: Condvar,
}

#[derive(Default)]
struct Counts {
    begun: u64,
    last_idle: u64,
}

impl Passes {
    /// A claim pass begins; returns its number.
    pub fn begin(&self) -> u64 {
        let mut counts = self.state.lock().unwrap_or_else(|p| p.into_inner());
        counts.begun += 1;
        counts.begun
    }

    /// Pass `pass` found nothing this runner may run now.
    pub fn idle(&self, pass: u64) {
        self.state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last_idle = pass;
        self.idle.notify_all();
    }

    /// The number of the last pass begun, to wait past with [`Passes::wait_idle_after`].
    pub fn begun(&self) -> u64 {
        self.state.lock().unwrap_or_else(|p| p.into_inner()).begun
    }

    /// Waits for a pass after `pass` to find nothing to run, false after `limit`. The caller
    /// rings the runner's bell after reading `pass`, so that a sleeping runner begins one.
    pub fn wait_idle_after(&self, pass: u64, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        let mut counts = self.state.lock().unwrap_or_else(|p| p.into_inner());
        while counts.last_idle <= pass {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            counts = self
                .idle
                .wait_timeout(counts, left)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        true
    }
}
