//! Time as the engine sees it: unix seconds inside, ISO 8601 UTC strings outside.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};

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
        assert_eq!(super::iso_from_unix(951_827_696), "2000-02-29T12:34:56Z");
        // Past year 9999 the year takes more digits, as format! writes it.
        assert_eq!(
            super::iso_from_unix(253_402_300_800),
            "10000-01-01T00:00:00Z"
        );
    }
}
