//! When and how long to wait before asking the service again: 408, 429, 500, 502, 503, 504 and
//! connection failures, with exponential backoff and jitter (1, 2, 4, 8, 16 s by default),
//! `Retry-After` / `retry-after-ms` honoured when the service sends one, every wait capped, the
//! count bounded. A request that may have been applied is repeated only when that is harmless.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How often and how patiently to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (so at most `max_retries + 1` requests).
    pub max_retries: u32,
    /// The first wait; each further wait doubles it.
    pub base_delay: Duration,
    /// No wait is longer than this, whatever the service asks.
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
        }
    }
}

/// Whether a request may be sent again once it may have reached the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Reads and operations whose repetition changes nothing (get, wrap, unwrap, sign, a
    /// PATCH of the same attributes).
    Harmless,
    /// Creates, deletes, recovers, restores: retried only when the request never left (the
    /// connection could not be made).
    OnlyIfUnsent,
}

/// What one attempt came to.
pub enum Attempt<T, E> {
    Done(T),
    /// A retryable answer (status in [`RETRYABLE_STATUSES`]) or failure, with the service's
    /// requested wait if any; `sent` is false when the request never reached the service.
    Retryable {
        error: E,
        retry_after: Option<Duration>,
        sent: bool,
    },
    Failed(E),
}

pub const RETRYABLE_STATUSES: &[u16] = &[408, 429, 500, 502, 503, 504];

pub fn is_retryable_status(status: u16) -> bool {
    RETRYABLE_STATUSES.contains(&status)
}

/// Waits; a fake in the tests records the waits instead.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>>;
}

/// Sleeps on the runtime's timer.
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0 for the first), given the service's request
    /// and a jitter factor in [0, 1): the backoff scaled into [0.8, 1.2) of itself, or the
    /// service's wait when it gave one; capped either way.
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>, jitter: f64) -> Duration {
        let wait = match retry_after {
            Some(asked) => asked,
            None => {
                let backoff = self
                    .base_delay
                    .saturating_mul(1u32.checked_shl(retry.min(20)).unwrap_or(u32::MAX));
                backoff.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
            }
        };
        wait.min(self.max_delay)
    }

    /// Runs `attempt` until it is done, fails for good, or the retries are used up (the last
    /// retryable error is returned then).
    pub async fn run<T, E, F, Fut>(
        &self,
        replay: Replay,
        sleeper: &dyn Sleeper,
        mut jitter: impl FnMut() -> f64,
        mut attempt: F,
    ) -> Result<T, E>
    where
        F: FnMut(u32) -> Fut,
        Fut: Future<Output = Attempt<T, E>>,
    {
        let mut retry = 0;
        loop {
            match attempt(retry).await {
                Attempt::Done(v) => return Ok(v),
                Attempt::Failed(e) => return Err(e),
                Attempt::Retryable {
                    error,
                    retry_after,
                    sent,
                } => {
                    if retry >= self.max_retries || (sent && replay == Replay::OnlyIfUnsent) {
                        return Err(error);
                    }
                    sleeper
                        .sleep(self.delay(retry, retry_after, jitter()))
                        .await;
                    retry += 1;
                }
            }
        }
    }
}

/// The wait a response asks for: `retry-after-ms` / `x-ms-retry-after-ms` (milliseconds) before
/// `Retry-After` (seconds, or an HTTP date, measured from `now_unix`).
pub fn retry_after(headers: &reqwest::header::HeaderMap, now_unix: i64) -> Option<Duration> {
    let text = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    for name in ["retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = text(name).and_then(|v| v.parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = text("retry-after")?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value)
        .ok()?
        .timestamp();
    Some(Duration::from_secs(
        u64::try_from(at - now_unix).unwrap_or(0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Records the waits instead of waiting.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Duration>>);

    impl Sleeper for Recorder {
        fn sleep(&self, d: Duration) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
            self.0.lock().unwrap().push(d);
            Box::pin(async {})
        }
    }

    fn run_script(
        policy: RetryPolicy,
        replay: Replay,
        script: Vec<Attempt<&'static str, &'static str>>,
    ) -> (Result<&'static str, &'static str>, Vec<Duration>, usize) {
        let sleeper = Recorder::default();
        let script = Mutex::new(script.into_iter());
        let calls = Mutex::new(0usize);
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let result = rt.block_on(policy.run(
            replay,
            &sleeper,
            || 0.5,
            |_| {
                *calls.lock().unwrap() += 1;
                let next = script.lock().unwrap().next().expect("script long enough");
                async move { next }
            },
        ));
        let waits = sleeper.0.into_inner().unwrap();
        (result, waits, calls.into_inner().unwrap())
    }

    fn busy(after: Option<u64>) -> Attempt<&'static str, &'static str> {
        Attempt::Retryable {
            error: "busy",
            retry_after: after.map(Duration::from_secs),
            sent: true,
        }
    }

    #[test]
    fn default_backoff_is_one_two_four_eight_sixteen_seconds_then_gives_up() {
        let script = (0..6).map(|_| busy(None)).collect();
        let (result, waits, calls) = run_script(RetryPolicy::default(), Replay::Harmless, script);
        assert_eq!(result, Err("busy"));
        assert_eq!(calls, 6);
        // Jitter 0.5 is the middle of [0.8, 1.2): exactly the nominal backoff.
        assert_eq!(waits, [1, 2, 4, 8, 16].map(Duration::from_secs).to_vec());
    }

    #[test]
    fn the_services_wait_is_honoured_and_capped() {
        let policy = RetryPolicy {
            max_delay: Duration::from_secs(30),
            ..RetryPolicy::default()
        };
        let script = vec![busy(Some(7)), busy(Some(3600)), Attempt::Done("ok")];
        let (result, waits, _) = run_script(policy, Replay::Harmless, script);
        assert_eq!(result, Ok("ok"));
        assert_eq!(waits, vec![Duration::from_secs(7), Duration::from_secs(30)]);
    }

    #[test]
    fn a_request_that_may_have_been_applied_is_not_repeated_unless_harmless() {
        let (result, waits, calls) = run_script(
            RetryPolicy::default(),
            Replay::OnlyIfUnsent,
            vec![busy(None)],
        );
        assert_eq!((result, waits.len(), calls), (Err("busy"), 0, 1));
        let unsent = Attempt::Retryable {
            error: "refused",
            retry_after: None,
            sent: false,
        };
        let (result, waits, calls) = run_script(
            RetryPolicy::default(),
            Replay::OnlyIfUnsent,
            vec![unsent, Attempt::Done("created")],
        );
        assert_eq!((result, waits.len(), calls), (Ok("created"), 1, 2));
    }

    #[test]
    fn a_final_failure_is_not_retried() {
        let (result, waits, calls) = run_script(
            RetryPolicy::default(),
            Replay::Harmless,
            vec![Attempt::Failed("forbidden")],
        );
        assert_eq!((result, waits.len(), calls), (Err("forbidden"), 0, 1));
    }

    #[test]
    fn jitter_spreads_the_backoff_within_a_fifth_either_way() {
        let p = RetryPolicy::default();
        assert_eq!(p.delay(2, None, 0.0), Duration::from_millis(3200));
        assert!(p.delay(2, None, 0.999) < Duration::from_millis(4800));
        assert_eq!(p.delay(40, None, 0.5), p.max_delay);
    }

    #[test]
    fn retry_after_headers_are_read_in_milliseconds_seconds_or_as_a_date() {
        use reqwest::header::{HeaderMap, HeaderValue};
        let mut h = HeaderMap::new();
        h.insert("retry-after", HeaderValue::from_static("12"));
        assert_eq!(retry_after(&h, 0), Some(Duration::from_secs(12)));
        h.insert("retry-after-ms", HeaderValue::from_static("250"));
        assert_eq!(retry_after(&h, 0), Some(Duration::from_millis(250)));
        let mut d = HeaderMap::new();
        d.insert(
            "retry-after",
            HeaderValue::from_static("Thu, 01 Jan 1970 00:01:40 GMT"),
        );
        assert_eq!(retry_after(&d, 40), Some(Duration::from_secs(60)));
        assert_eq!(retry_after(&HeaderMap::new(), 0), None);
    }
}
