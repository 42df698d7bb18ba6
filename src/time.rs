//! Time as the engine sees it: unix seconds inside, ISO 8601 UTC strings outside.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

/// ISO 8601 UTC with seconds precision and a `Z` suffix. Written field by field: every key
/// in every result carries dates, and strftime parses its pattern on each call.
pub fn iso(t: DateTime<Utc>) -> String {
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        t.month(),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
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

#[cfg(test)]
mod tests {
    #[test]
    fn iso_is_rfc3339_utc_with_seconds() {
        assert_eq!(super::iso_from_unix(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::iso_from_unix(1_767_225_599), "2025-12-31T23:59:59Z");
        assert_eq!(
            super::iso_from_unix(253_402_300_799),
            "9999-12-31T23:59:59Z"
        );
    }
}
