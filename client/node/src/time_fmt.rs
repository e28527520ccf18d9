//! Every time a person or a script reads or types, in one place, in the
//! node's time zone (`time_zone`, or `tz`, in `node.toml`: an IANA name;
//! default the system's zone, else `Asia/Shanghai`). Text shows local time
//! with its offset; JSON carries RFC 3339 with the same offset; a date typed as
//! a deadline means the end of that day.
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

/// The zone shown when `node.toml` names none and the system's is unknown.
pub const DEFAULT_ZONE: &str = "Asia/Shanghai";

/// The zone a node uses when `node.toml` names none: the system's (from `TZ`
/// or `/etc/localtime`) when it is a named zone other than plain UTC, else
/// [`DEFAULT_ZONE`] (servers and containers often run in UTC, which is rarely
/// what an association's secretary reads).
pub fn default_zone_name() -> String {
    match TimeZone::try_system()
        .ok()
        .and_then(|z| z.iana_name().map(str::to_owned))
    {
        Some(n)
            if !matches!(
                n.as_str(),
                "UTC" | "Etc/UTC" | "Etc/Universal" | "Universal"
            ) =>
        {
            n
        }
        _ => DEFAULT_ZONE.to_owned(),
    }
}

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

/// RFC 3339 with the node's offset, for JSON; out of range: an empty string.
pub fn rfc3339(ms: i64) -> String {
    rfc3339_in(zone(), ms)
}

fn rfc3339_in(zone: &TimeZone, ms: i64) -> String {
    if !in_range(ms) {
        return String::new();
    }
    let offset = offset_at(zone, ms).and_then(|s| UtcOffset::from_whole_seconds(s).ok());
    offset
        .and_then(|o| {
            OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .ok()?
                .checked_to_offset(o)
        })
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

/// Which instant a typed date stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayEdge {
    /// 00:00 that day (a start: an embargo, `--since`).
    Start,
    /// The last millisecond of that day (a deadline: `--ack-by`, `--until`).
    End,
}

/// A time as a person types it: RFC 3339 with an offset, or in the node's
/// zone `YYYY-MM-DD HH:MM[:SS]` (or with `T`), or a date `YYYY-MM-DD` taken at
/// `edge`. In ms since the epoch, inside the years this node shows.
pub fn parse_input(s: &str, edge: DayEdge) -> Result<i64, ProtoError> {
    parse_input_in(zone(), s, edge)
}

fn parse_input_in(zone: &TimeZone, s: &str, edge: DayEdge) -> Result<i64, ProtoError> {
    let bad = || {
        ProtoError::new(
            ErrorCode::BadRequest,
            format!(
                "{s:?} is not a time: YYYY-MM-DD, \"YYYY-MM-DD HH:MM\" (in {}) or RFC 3339",
                zone.iana_name().unwrap_or("the node's zone")
            ),
        )
    };
    let s = s.trim();
    let ts = if let Ok(t) = s.parse::<jiff::Timestamp>() {
        t
    } else if let Ok(dt) = s.parse::<jiff::civil::DateTime>()
        && s.len() > 10
    {
        dt.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp()
    } else {
        let d = s.parse::<jiff::civil::Date>().map_err(|_| bad())?;
        match edge {
            DayEdge::Start => d.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp(),
            DayEdge::End => {
                let next = d.tomorrow().map_err(|_| bad())?;
                let t = next.to_zoned(zone.clone()).map_err(|_| bad())?.timestamp();
                t.checked_sub(jiff::SignedDuration::from_millis(1))
                    .map_err(|_| bad())?
            }
        }
    };
    let ms = ts.as_millisecond();
    if in_range(ms) { Ok(ms) } else { Err(bad()) }
}

/// This calendar year in the node's zone.
pub fn current_year() -> i16 {
    i16::try_from(year(crate::now_ms())).unwrap_or(i16::MAX)
}

/// The calendar year of `ms` in the node's zone (1970 when out of range).
pub fn year(ms: i64) -> i32 {
    local(ms).map(|t| t.year()).unwrap_or(1970)
}

/// How long ago `elapsed` milliseconds is, for a person: "刚刚", "3 分钟前",
/// "5 小时前", "2 天前" (or "just now", "3 min ago"…).
pub fn ago(elapsed: i64, lang: crate::lang::Lang) -> String {
    use crate::lang::Lang::{En, Zh};
    let m = elapsed.max(0) / 60_000;
    match (m, lang) {
        (0, l) => l.pick("刚刚", "just now").to_owned(),
        (m, Zh) if m < 60 => format!("{m} 分钟前"),
        (m, En) if m < 60 => format!("{m} min ago"),
        (m, Zh) if m < 48 * 60 => format!("{} 小时前", m / 60),
        (m, En) if m < 48 * 60 => format!("{} h ago", m / 60),
        (m, Zh) => format!("{} 天前", m / (24 * 60)),
        (m, En) => format!("{} days ago", m / (24 * 60)),
    }
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
        assert_eq!(rfc3339(ms), "2026-12-02T10:24:00+08:00");
        assert_eq!(rfc3339(ms + 5), "2026-12-02T10:24:00.005+08:00");
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

    #[test]
    fn typed_times_are_local_and_a_date_deadline_is_the_end_of_the_day() {
        let sh = parse_zone("Asia/Shanghai").unwrap();
        // 2026-12-31 00:00 in Beijing is 2026-12-30 16:00 UTC.
        let start = parse_input_in(&sh, "2026-12-31", DayEdge::Start).unwrap();
        assert_eq!(rfc3339_in(&sh, start), "2026-12-31T00:00:00+08:00");
        let end = parse_input_in(&sh, "2026-12-31", DayEdge::End).unwrap();
        assert_eq!(rfc3339_in(&sh, end), "2026-12-31T23:59:59.999+08:00");
        // An acknowledgement at 10:00 on the 31st is on time.
        let ack = parse_input_in(&sh, "2026-12-31 10:00", DayEdge::End).unwrap();
        assert!(ack < end && ack > start);
        assert_eq!(
            parse_input_in(&sh, "2026-12-31T10:00", DayEdge::Start).unwrap(),
            ack
        );
        // An offset given wins over the zone.
        assert_eq!(
            parse_input_in(&sh, "2026-12-31T02:00:00Z", DayEdge::Start).unwrap(),
            ack
        );
        // Summer time: Berlin's 2026-07-01 is UTC+2.
        let berlin = parse_zone("Europe/Berlin").unwrap();
        let b = parse_input_in(&berlin, "2026-07-01 14:00", DayEdge::Start).unwrap();
        assert_eq!(b, 1_782_907_200_000);
        for junk in [
            "",
            "31/12/2026",
            "2026-13-01",
            "10:00",
            "99999-01-01",
            "tomorrow",
        ] {
            let e = parse_input_in(&sh, junk, DayEdge::End).unwrap_err();
            assert_eq!(e.code, ErrorCode::BadRequest, "{junk:?}");
        }
    }

    #[test]
    fn ago_reads_in_either_language() {
        use crate::lang::Lang;
        assert_eq!(ago(30_000, Lang::Zh), "刚刚");
        assert_eq!(ago(5 * 60_000, Lang::Zh), "5 分钟前");
        assert_eq!(ago(3 * 3_600_000, Lang::En), "3 h ago");
        assert_eq!(ago(3 * 86_400_000, Lang::Zh), "3 天前");
        assert_eq!(ago(-5, Lang::En), "just now");
    }
}
