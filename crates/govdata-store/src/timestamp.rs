//! The one timestamp format of stored state: RFC 3339, UTC, milliseconds,
//! `Z` suffix. Fixed width, so string order is time order.

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Duration, OffsetDateTime};

pub fn format(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"))
        .expect("UTC time within year 0..9999 always formats")
}

pub fn now() -> String {
    format(OffsetDateTime::now_utc())
}

pub fn after(duration: Duration) -> String {
    format(OffsetDateTime::now_utc() + duration)
}

/// Parses any RFC 3339 time (as callers send it) and renders it in the stored form.
pub fn normalize(input: &str) -> Option<String> {
    OffsetDateTime::parse(input, &Rfc3339).ok().map(format)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_form_is_fixed_width_and_sorts() {
        let a = normalize("2026-01-02T03:04:05+08:00").unwrap();
        assert_eq!(a, "2026-01-01T19:04:05.000Z");
        let b = normalize("2026-01-01T19:04:05.5Z").unwrap();
        assert!(a < b);
        assert!(normalize("yesterday").is_none());
    }
}
