//! Time as the engine sees it: unix seconds inside, ISO 8601 UTC strings outside.

use chrono::{DateTime, TimeZone, Utc};

/// ISO 8601 UTC with seconds precision and a `Z` suffix.
pub fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
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

/// Compact stamp for generated file names.
pub fn file_stamp(seconds: i64) -> String {
    match Utc.timestamp_opt(seconds, 0).single() {
        Some(t) => t.format("%Y%m%d%H%M%S").to_string(),
        None => seconds.to_string(),
    }
}
