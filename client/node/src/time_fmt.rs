//! Every time a person or a script reads, formatted in one place.
//!
//! Times come from other nodes (a forwarded original's `created_at`, an
//! `ack_by`, a receipt's time) and a hostile or broken node may send any `i64`.
//! Every function here is total: a time outside the years 1970–9999 is shown as
//! [`UNKNOWN`], never a panic (year 9999 plus eight hours once crashed the UI).

use time::{OffsetDateTime, UtcOffset};

/// What an out-of-range time is shown as.
pub const UNKNOWN: &str = "—";

/// China Standard Time, the time shown to people.
const CST: UtcOffset = time::macros::offset!(+8);

/// The earliest and latest instants shown (1970-01-01 to 9999-12-30, UTC).
pub const MIN_MS: i64 = 0;
pub const MAX_MS: i64 = lianxi_shared::text::MAX_TIME_MS;

/// Whether `ms` is a time this node shows and compares.
pub fn in_range(ms: i64) -> bool {
    (MIN_MS..=MAX_MS).contains(&ms)
}

fn local(ms: i64) -> Option<OffsetDateTime> {
    if !in_range(ms) {
        return None;
    }
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()?
        .checked_to_offset(CST)
}

/// `MM-DD HH:MM` in China Standard Time.
pub fn short(ms: i64) -> String {
    local(ms)
        .map(|t| {
            format!(
                "{:02}-{:02} {:02}:{:02}",
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|| UNKNOWN.into())
}

/// `YYYY-MM-DD HH:MM` in China Standard Time.
pub fn minutes(ms: i64) -> String {
    local(ms)
        .map(|t| {
            format!(
                "{}-{:02}-{:02} {:02}:{:02}",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute()
            )
        })
        .unwrap_or_else(|| UNKNOWN.into())
}

/// `YYYY-MM-DD HH:MM (UTC+8)`.
pub fn long(ms: i64) -> String {
    if in_range(ms) {
        format!("{} (UTC+8)", minutes(ms))
    } else {
        UNKNOWN.into()
    }
}

/// RFC 3339 in UTC, for JSON; out of range: an empty string.
pub fn rfc3339(ms: i64) -> String {
    if !in_range(ms) {
        return String::new();
    }
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// The calendar year of `ms` in China Standard Time (1970 when out of range).
pub fn year(ms: i64) -> i32 {
    local(ms).map(|t| t.year()).unwrap_or(1970)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_formatter_is_total() {
        for ms in [i64::MIN, -1, MAX_MS + 1, 253_402_300_799_999, i64::MAX] {
            assert_eq!(short(ms), UNKNOWN);
            assert_eq!(long(ms), UNKNOWN);
            assert_eq!(minutes(ms), UNKNOWN);
            assert_eq!(rfc3339(ms), "");
            assert_eq!(year(ms), 1970);
        }
        // 2026-12-02 02:24 UTC is 10:24 in Beijing.
        let ms = 1_796_178_240_000;
        assert_eq!(short(ms), "12-02 10:24");
        assert_eq!(long(ms), "2026-12-02 10:24 (UTC+8)");
        assert_eq!(rfc3339(ms), "2026-12-02T02:24:00Z");
        assert_eq!(short(MAX_MS), "12-30 08:00");
    }
}
