//! Time as the engine sees it: unix seconds inside, ISO 8601 UTC strings outside, read from
//! the session's [`Clock`].

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use std::time::{Duration, Instant};

/// ISO 8601 UTC with seconds precision and a `Z` suffix. Written digit by digit: every key in
/// every result carries four dates, and `format!` (let alone strftime, which parses its pattern
/// on each call) costs more than the rest of a `Get-KeyVaultKey` answer.
pub fn iso(t: DateTime<Utc>) -> String {
    let year = t.year();
    if !(0..=9999).contains(&year) {
        return format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            year,
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        );
    }
    let mut out = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, width: usize, mut value: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year as u32);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    // Only ASCII digits and separators were written.
    String::from_utf8_lossy(&out).into_owned()
}

pub fn iso_from_unix(seconds: i64) -> String {
    match Utc.timestamp_opt(seconds, 0).single() {
        Some(t) => iso(t),
        None => String::new(),
    }
}

pub fn unix_now() -> i64 {
    Utc::now().timestamp()
}

/// The clock a session, its calls and its jobs read, in two kinds.
///
/// Wall time (unix milliseconds) for what is stored or shown: rows that other processes read,
/// and the next session after a restart, need a time base they share, which no process's
/// `Instant` is. Monotonic time for what happens inside this process: waits, backoff, the job
/// runner's own deadlines and its view of how long others' leases have gone unrenewed, token
/// lifetimes. Only the monotonic kind is safe from the system clock being set (by an admin,
/// NTP after a suspend, a VM restored from a snapshot): an hour forward would otherwise end
/// every lease and backoff at once, an hour back stretch them by as much.
///
/// The library admins load has the system clock only; the `test-hooks` feature adds
/// [`ManualClock`], which the crate's tests move by hand instead of sleeping.
#[derive(Clone)]
pub struct Clock(Source);

#[derive(Clone)]
enum Source {
    System,
    #[cfg(feature = "test-hooks")]
    Manual(std::sync::Arc<ManualClock>),
}

/// What a call context holds when its caller gave no clock.
pub static SYSTEM_CLOCK: Clock = Clock::system();

impl Clock {
    pub const fn system() -> Clock {
        Clock(Source::System)
    }

    /// Wall time in unix milliseconds.
    pub fn unix_ms(&self) -> i64 {
        match &self.0 {
            Source::System => Utc::now().timestamp_millis(),
            #[cfg(feature = "test-hooks")]
            Source::Manual(m) => m.read().wall_ms,
        }
    }

    /// Wall time in unix seconds.
    pub fn unix_seconds(&self) -> i64 {
        self.unix_ms().div_euclid(1000)
    }

    /// Monotonic time: only differences between two readings of one clock mean anything.
    pub fn monotonic(&self) -> Instant {
        match &self.0 {
            Source::System => Instant::now(),
            #[cfg(feature = "test-hooks")]
            Source::Manual(m) => m.origin + m.read().elapsed,
        }
    }

    /// How long a thread waiting `left` of this clock's monotonic time blocks before reading
    /// the clock again: all of it on the system clock, whose time passes while it blocks; a
    /// moment on a manual clock, which only a test moves.
    pub fn wait_slice(&self, left: Duration) -> Duration {
        match &self.0 {
            Source::System => left,
            #[cfg(feature = "test-hooks")]
            Source::Manual(_) => left.min(MANUAL_WAIT_SLICE),
        }
    }
}

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Source::System => f.write_str("Clock(system)"),
            #[cfg(feature = "test-hooks")]
            Source::Manual(m) => write!(f, "Clock(manual, at {:?})", m.read()),
        }
    }
}

#[cfg(feature = "test-hooks")]
const MANUAL_WAIT_SLICE: Duration = Duration::from_millis(2);

/// A clock that stands still until the test moves it: time passing ([`ManualClock::advance`])
/// or the system clock being set ([`ManualClock::set_wall_by`]). Test hooks only.
#[cfg(feature = "test-hooks")]
pub struct ManualClock {
    origin: Instant,
    now: std::sync::Mutex<ManualTime>,
}

#[cfg(feature = "test-hooks")]
#[derive(Debug, Clone, Copy)]
struct ManualTime {
    wall_ms: i64,
    elapsed: Duration,
}

#[cfg(feature = "test-hooks")]
impl ManualClock {
    /// Starts at the system's wall time, so that what it stamps looks like today's.
    pub fn new() -> std::sync::Arc<ManualClock> {
        std::sync::Arc::new(ManualClock {
            origin: Instant::now(),
            now: std::sync::Mutex::new(ManualTime {
                wall_ms: Utc::now().timestamp_millis(),
                elapsed: Duration::ZERO,
            }),
        })
    }

    /// The [`Clock`] to give a session, a runner or a job context.
    pub fn clock(self: &std::sync::Arc<Self>) -> Clock {
        Clock(Source::Manual(std::sync::Arc::clone(self)))
    }

    fn read(&self) -> ManualTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Time passes: both kinds move on by `by`.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        now.elapsed += by;
        now.wall_ms = now
            .wall_ms
            .saturating_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX));
    }

    /// The system clock is set `by_ms` forward (or back, when negative): monotonic time stays.
    pub fn set_wall_by(&self, by_ms: i64) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        now.wall_ms = now.wall_ms.saturating_add(by_ms);
    }
}

/// Compact stamp for generated file names.
pub fn file_stamp(seconds: i64) -> String {
    match Utc.timestamp_opt(seconds, 0).single() {
        Some(t) => t.format("%Y%m%d%H%M%S").to_string(),
        None => seconds.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "test-hooks")]
    #[test]
    fn a_manual_clock_moves_only_when_told_and_its_wall_may_jump_alone() {
        use std::time::Duration;
        let manual = super::ManualClock::new();
        let clock = manual.clock();
        let (wall, mono) = (clock.unix_ms(), clock.monotonic());
        assert_eq!((clock.unix_ms(), clock.monotonic()), (wall, mono));
        manual.advance(Duration::from_millis(1_500));
        assert_eq!(clock.unix_ms(), wall + 1_500);
        assert_eq!(clock.monotonic() - mono, Duration::from_millis(1_500));
        manual.set_wall_by(-3_600_000);
        assert_eq!(clock.unix_ms(), wall + 1_500 - 3_600_000);
        assert_eq!(clock.monotonic() - mono, Duration::from_millis(1_500));
        assert_eq!(
            clock.unix_seconds(),
            (wall + 1_500 - 3_600_000).div_euclid(1000)
        );
    }

    #[test]
    fn iso_is_rfc3339_utc_with_seconds() {
        assert_eq!(super::iso_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso_from_unix(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(
            super::iso_from_unix(253_402_300_799),
            "9999-12-31T23:59:59Z"
        );
        assert_eq!(super::iso_from_unix(951_827_696), "2000-02-29T12:34:56Z");
        // Past year 9999 the year takes more digits, as format! writes it.
        assert_eq!(
            super::iso_from_unix(253_402_300_800),
            "10000-01-01T00:00:00Z"
        );
    }
}
