//! Every time a person or a script reads, formatted in one place, in the
//! node's time zone (`time_zone` in `node.toml`, an IANA name; default
//! `Asia/Shanghai`). JSON carries RFC 3339 in UTC.
//!
//! Times come from other nodes (a forwarded original's `created_at`, an
//! `ack_by`, a receipt's time) and a hostile or broken node may send any `i64`.
//! Every function here is total: a time outside the years 1970–9999 is shown as
//! [`UNKNOWN`], never a panic (year 9999 plus eight hours once crashed the UI).

use std::sync::OnceLock;

use jiff::tz::TimeZone;
use lianxi_shared::{ErrorCode, ProtoError};
use time::{OffsetDateTime, UtcOffset};

/// What an out-of-range time is shown as.
pub const UNKNOWN: &str = "—";

/// The zone shown when `node.toml` names none.
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

static ZONE: OnceLock<TimeZone> = OnceLock::new();

/// The time zone of an IANA name, from the bundled tz database.
pub fn parse_zone(name: &str) -> Result<TimeZone, ProtoError> {
    TimeZone::get(name).map_err(|_| {
        ProtoError::new(
            ErrorCode::BadRequest,
            format!("unknown time zone {name:?}: an IANA name such as Asia/Shanghai"),
        )
    })
}

/// Show times in `name` from now on (once per process: a node's zone does
/// not change while it runs; later calls only check the name).
pub fn set_zone(name: &str) -> Result<(), ProtoError> {
    let zone = parse_zone(name)?;
    let _ = ZONE.set(zone);
    Ok(())
}

fn zone() -> &'static TimeZone {
    ZONE.get_or_init(|| {
        parse_zone(DEFAULT_ZONE).unwrap_or_else(|_| TimeZone::fixed(jiff::tz::offset(8)))
    })
}

/// The zone's offset from UTC at `ms`, in seconds.
fn offset_at(zone: &TimeZone, ms: i64) -> Option<i32> {
    let ts = jiff::Timestamp::from_millisecond(ms).ok()?;
    Some(zone.to_offset(ts).seconds())
}

/// The earliest and latest instants shown (1970-01-01 to 9999-12-30, UTC).
pub const MIN_MS: i64 = 0;
pub const MAX_MS: i64 = lianxi_shared::text::MAX_TIME_MS;

/// Whether `ms` is a time this node shows and compares.
pub fn in_range(ms: i64) -> bool {
    (MIN_MS..=MAX_MS).contains(&ms)
}

fn local(ms: i64) -> Option<OffsetDateTime> {
    local_in(zone(), ms)
}

fn local_in(zone: &TimeZone, ms: i64) -> Option<OffsetDateTime> {
    if !in_range(ms) {
        return None;
    }
    let offset = UtcOffset::from_whole_seconds(offset_at(zone, ms)?).ok()?;
    OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()?
        .checked_to_offset(offset)
}

/// `UTC+8`, `UTC+5:30`, `UTC-4`, `UTC`.
fn offset_label(seconds: i32) -> String {
    let (sign, s) = if seconds < 0 {
        ('-', -seconds)
    } else {
        ('+', seconds)
    };
    match (s / 3600, s % 3600 / 60) {
        (0, 0) => "UTC".into(),
        (h, 0) => format!("UTC{sign}{h}"),
        (h, m) => format!("UTC{sign}{h}:{m:02}"),
    }
}

/// `MM-DD HH:MM` in the node's zone.
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

/// `YYYY-MM-DD HH:MM` in the node's zone.
pub fn minutes(ms: i64) -> String {
    minutes_in(zone(), ms)
}

fn minutes_in(zone: &TimeZone, ms: i64) -> String {
    local_in(zone, ms)
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

/// `YYYY-MM-DD HH:MM (UTC+8)`: with the zone's offset at that time.
pub fn long(ms: i64) -> String {
    long_in(zone(), ms)
}

fn long_in(zone: &TimeZone, ms: i64) -> String {
    match offset_at(zone, ms).filter(|_| in_range(ms)) {
        Some(off) => format!("{} ({})", minutes_in(zone, ms), offset_label(off)),
        None => UNKNOWN.into(),
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

/// The calendar year of `ms` in the node's zone (1970 when out of range).
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

    #[test]
    fn other_zones_show_their_own_offset_with_summer_time() {
        let berlin = parse_zone("Europe/Berlin").unwrap();
        // 2026-12-02 02:24 UTC: winter, UTC+1; 2026-07-01 12:00 UTC: summer, UTC+2.
        assert_eq!(
            long_in(&berlin, 1_796_178_240_000),
            "2026-12-02 03:24 (UTC+1)"
        );
        assert_eq!(
            long_in(&berlin, 1_782_907_200_000),
            "2026-07-01 14:00 (UTC+2)"
        );
        let kolkata = parse_zone("Asia/Kolkata").unwrap();
        assert_eq!(
            long_in(&kolkata, 1_796_178_240_000),
            "2026-12-02 07:54 (UTC+5:30)"
        );
        assert_eq!(
            long_in(&parse_zone("UTC").unwrap(), 0),
            "1970-01-01 00:00 (UTC)"
        );
        assert_eq!(
            parse_zone("Mars/Olympus").unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert_eq!(offset_label(-4 * 3600), "UTC-4");
    }
}
