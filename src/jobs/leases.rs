//! How a runner judges the waits the job table holds: other runners' leases and failed jobs'
//! backoff.
//!
//! Both are stored as wall-clock milliseconds (`lease_until`, `not_before`) and must be: they
//! are written by one process and read by runners of others, and by the next session after a
//! restart, and an `Instant` means nothing outside the process that took it. But read against
//! this process's wall clock they are only as good as that clock, and the system clock can be
//! set (by an admin, by NTP after a suspend, by a VM restored from a snapshot). An hour forward
//! and every live lease looks ended, so another runner takes a running job over (the holder's
//! next batch is then thrown away: wasted work, and on a slow vault a job that never gets
//! anywhere), and every backoff ends at once; an hour back and a backoff lasts an hour more.
//!
//! So a runner reads the stored times only to see when they change, and times the waits
//! itself, on its clock's monotonic side, from the moment it first sees them:
//! - A lease is the holder's for as long as the holder keeps renewing it (every committed batch
//!   rewrites `lease_until` and moves the batch counter). Another runner takes it over once it
//!   has seen the same lease, unrenewed, for [`LEASE`] of its own monotonic time, whatever the
//!   wall clock says; at once when the holder's process is gone. A runner that starts
//!   later waits a whole lease before taking over from a live holder that stopped renewing,
//!   which costs at most [`LEASE`] once, against the holder's work thrown away at every jump.
//! - A backoff is written once and never renewed, so its length is read from it: the wait
//!   left when first seen (`not_before` against the wall clock then, at most [`BACKOFF_MAX`]),
//!   then timed on the monotonic clock. The runner that recorded the failure knows the wait
//!   exactly and starts timing it there ([`Waits::backoff_recorded`]).

use crate::store::jobs::HeldJob;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a claim or a committed batch holds a job. A batch should take well under this:
/// past it, another runner may take the job over (its result is then discarded here, never
/// applied twice). A process that dies is noticed sooner when its pid is gone.
pub const LEASE: Duration = Duration::from_secs(60);
/// Backoff before retry n (from 1): BACKOFF_BASE * 2^(n-1), at most BACKOFF_MAX.
pub const BACKOFF_BASE: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(300);

/// The backoff after failed attempt number `attempt` (from 1).
pub fn backoff(attempt: u32) -> Duration {
    BACKOFF_BASE
        .saturating_mul(1 << attempt.saturating_sub(1).min(20))
        .min(BACKOFF_MAX)
}

/// The leases and backoffs one runner has seen, and since when on its monotonic clock.
#[derive(Default)]
pub struct Waits {
    leases: HashMap<i64, SeenLease>,
    backoffs: HashMap<i64, SeenBackoff>,
    /// Claim passes so far: entries of jobs a whole pass did not meet are dropped.
    pass: u64,
}

struct SeenLease {
    holder: String,
    until_ms: i64,
    batches: i64,
    ends: Instant,
    pass: u64,
}

struct SeenBackoff {
    not_before_ms: i64,
    ends: Instant,
    pass: u64,
}

/// What the runner's clock read as a claim pass began.
#[derive(Clone, Copy)]
pub struct Now {
    pub wall_ms: i64,
    pub monotonic: Instant,
}

impl Waits {
    /// Starts a claim pass.
    pub fn begin_pass(&mut self) {
        self.pass += 1;
    }

    /// After a pass that met every job of this runner's kinds: forgets the jobs it did not
    /// meet (ended, cancelled, or no longer waiting).
    pub fn end_full_pass(&mut self) {
        let pass = self.pass;
        self.leases.retain(|_, l| l.pass == pass);
        self.backoffs.retain(|_, b| b.pass == pass);
    }

    /// How long `job` is still not this runner's to claim; `None` when it may claim it now.
    pub fn held(
        &mut self,
        job: &HeldJob<'_>,
        me: &str,
        now: Now,
        owner_is_gone: &dyn Fn(&str) -> bool,
    ) -> Option<Duration> {
        let pass = self.pass;
        if let Some(not_before_ms) = job.not_before_ms {
            let fresh = || SeenBackoff {
                not_before_ms,
                ends: now.monotonic + left_of(not_before_ms, now.wall_ms, BACKOFF_MAX),
                pass,
            };
            let seen = self.backoffs.entry(job.id).or_insert_with(fresh);
            if seen.not_before_ms != not_before_ms {
                *seen = fresh();
            }
            seen.pass = pass;
            let left = seen.ends.saturating_duration_since(now.monotonic);
            if !left.is_zero() {
                return Some(left);
            }
        }
        let (Some(holder), Some(until_ms)) = (job.owner, job.lease_until_ms) else {
            return None;
        };
        if holder == me || owner_is_gone(holder) {
            return None;
        }
        let renewed = |l: &SeenLease| {
            l.holder != holder || l.until_ms != until_ms || l.batches != job.batches
        };
        let fresh = || SeenLease {
            holder: holder.to_string(),
            until_ms,
            batches: job.batches,
            ends: now.monotonic + LEASE,
            pass,
        };
        let seen = self.leases.entry(job.id).or_insert_with(fresh);
        if renewed(seen) {
            *seen = fresh();
        }
        seen.pass = pass;
        let left = seen.ends.saturating_duration_since(now.monotonic);
        (!left.is_zero()).then_some(left)
    }

    /// This runner recorded a failure of `job_id` with `not_before_ms`, `backoff` from now.
    pub fn backoff_recorded(
        &mut self,
        job_id: i64,
        not_before_ms: i64,
        backoff: Duration,
        now: Instant,
    ) {
        self.backoffs.insert(
            job_id,
            SeenBackoff {
                not_before_ms,
                ends: now + backoff,
                pass: self.pass,
            },
        );
    }
}

/// The wait a stored wall-clock time has left, from 0 to `longest`.
fn left_of(at_ms: i64, now_ms: i64, longest: Duration) -> Duration {
    let left = u64::try_from(at_ms.saturating_sub(now_ms)).unwrap_or(0);
    Duration::from_millis(left).min(longest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job<'a>(owner: Option<&'a str>, until: Option<i64>, not_before: Option<i64>) -> HeldJob<'a> {
        HeldJob {
            id: 7,
            owner,
            lease_until_ms: until,
            not_before_ms: not_before,
            batches: 3,
        }
    }

    #[test]
    fn a_lease_ends_after_a_lease_unrenewed_on_the_monotonic_clock_whatever_the_wall_says() {
        let alive = |_: &str| false;
        let mut waits = Waits::default();
        let start = Instant::now();
        let at = |wall_ms: i64, after: Duration| Now {
            wall_ms,
            monotonic: start + after,
        };
        let lease = job(Some("1-other"), Some(60_000), None);
        waits.begin_pass();
        assert_eq!(
            waits.held(&lease, "me", at(0, Duration::ZERO), &alive),
            Some(LEASE)
        );
        // The wall clock an hour on, one second later: the lease is still the holder's.
        let later = at(3_600_000, Duration::from_secs(1));
        assert_eq!(
            waits.held(&lease, "me", later, &alive),
            Some(LEASE - Duration::from_secs(1))
        );
        // Renewed (a batch committed): a whole lease again from when it was seen renewed.
        let renewed = HeldJob {
            batches: 4,
            ..job(Some("1-other"), Some(3_660_000), None)
        };
        let seen = Duration::from_secs(50);
        assert_eq!(waits.held(&renewed, "me", at(0, seen), &alive), Some(LEASE));
        assert_eq!(
            waits.held(&renewed, "me", at(0, seen + LEASE), &alive),
            None
        );
        // Its own lease, or a dead holder's, is claimable at once.
        assert_eq!(waits.held(&lease, "1-other", at(0, seen), &alive), None);
        let mut fresh = Waits::default();
        assert_eq!(fresh.held(&lease, "me", at(0, seen), &|_| true), None);
    }

    #[test]
    fn a_backoff_is_read_once_from_the_wall_clock_then_timed_on_the_monotonic_one() {
        let alive = |_: &str| false;
        let mut waits = Waits::default();
        let start = Instant::now();
        let at = |wall_ms: i64, after: u64| Now {
            wall_ms,
            monotonic: start + Duration::from_secs(after),
        };
        let failed = job(None, None, Some(10_000));
        assert_eq!(
            waits.held(&failed, "me", at(2_000, 0), &alive),
            Some(Duration::from_secs(8))
        );
        // The wall clock jumps either way: the wait keeps its course.
        assert_eq!(
            waits.held(&failed, "me", at(3_600_000, 1), &alive),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            waits.held(&failed, "me", at(-3_600_000, 2), &alive),
            Some(Duration::from_secs(6))
        );
        assert_eq!(waits.held(&failed, "me", at(0, 8), &alive), None);
        // A not_before far ahead (a clock set back since it was written) waits the longest
        // backoff at most.
        let mut other = Waits::default();
        let far = job(None, None, Some(i64::MAX / 2));
        assert_eq!(other.held(&far, "me", at(0, 0), &alive), Some(BACKOFF_MAX));
        // The runner that wrote it times it from the write.
        let mut own = Waits::default();
        own.backoff_recorded(7, 10_000, Duration::from_secs(4), start);
        assert_eq!(
            own.held(&failed, "me", at(-50_000, 1), &alive),
            Some(Duration::from_secs(3))
        );
    }

    #[test]
    fn entries_of_jobs_a_whole_pass_did_not_meet_are_forgotten() {
        let mut waits = Waits::default();
        let now = Now {
            wall_ms: 0,
            monotonic: Instant::now(),
        };
        waits.begin_pass();
        // Past its backoff, and leased to another.
        waits.held(&job(Some("1-x"), Some(1), Some(-5)), "me", now, &|_| false);
        waits.end_full_pass();
        assert_eq!((waits.leases.len(), waits.backoffs.len()), (1, 1));
        waits.begin_pass();
        waits.end_full_pass();
        assert_eq!((waits.leases.len(), waits.backoffs.len()), (0, 0));
    }

    #[test]
    fn backoff_doubles_up_to_its_longest() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(3), Duration::from_secs(4));
        assert_eq!(backoff(30), BACKOFF_MAX);
    }
}
