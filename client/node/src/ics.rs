//! iCalendar (RFC 5545) export of conference meetings.
//!
//! Each meeting is a `VEVENT` whose `UID` is the id of the message that first
//! convened it, so a rescheduled or cancelled meeting keeps its UID and carries
//! a higher `SEQUENCE`: importing the newer file replaces the older event.
//! Times are local in the meeting's IANA zone, with a `VTIMEZONE` built from
//! the bundled time-zone database (every offset change from the year before the
//! first meeting to the year after the last), so calendar programs that do not
//! know the zone still place the meeting correctly.
//!
//! Written by hand rather than with the `icalendar` crate: that crate has no
//! way to build a `VTIMEZONE` with its transitions, which is the part that
//! matters here. The tests parse the output back with an independent parser.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use lianxi_shared::conference::{Conference, MeetingState};
use lianxi_shared::{ErrorCode, ProtoError};

use crate::case_file::Names;

fn bad(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, m)
}

/// Escape a TEXT value (RFC 5545 3.3.11).
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Append one content line, folded at 75 octets without splitting a
/// character (RFC 5545 3.1), ending in CRLF.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

fn utc(ms: i64) -> String {
    Timestamp::from_millisecond(ms)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string()
}

fn local(dt: DateTime) -> String {
    dt.strftime("%Y%m%dT%H%M%S").to_string()
}

fn offset(secs: i32) -> String {
    let sign = if secs < 0 { '-' } else { '+' };
    let a = secs.unsigned_abs();
    if a.is_multiple_of(60) {
        format!("{sign}{:02}{:02}", a / 3600, a / 60 % 60)
    } else {
        format!("{sign}{:02}{:02}{:02}", a / 3600, a / 60 % 60, a % 60)
    }
}

/// A `VTIMEZONE` for `name` covering the years `from..=to`.
fn vtimezone(out: &mut String, name: &str, from: i16, to: i16) -> Result<(), ProtoError> {
    let tz = TimeZone::get(name).map_err(|_| bad(format!("unknown time zone {name:?}")))?;
    let start = jiff::civil::date(from, 1, 1)
        .to_zoned(tz.clone())
        .map_err(|e| bad(e.to_string()))?
        .timestamp();
    let end = jiff::civil::date(to.saturating_add(1), 1, 1)
        .to_zoned(tz.clone())
        .map_err(|e| bad(e.to_string()))?
        .timestamp();
    line(out, "BEGIN:VTIMEZONE");
    line(out, &format!("TZID:{name}"));
    let first = tz.to_offset_info(start);
    let mut prev = first.offset();
    let component = |out: &mut String, at: DateTime, from: i32, to: i32, dst: bool, abbr: &str| {
        let kind = if dst { "DAYLIGHT" } else { "STANDARD" };
        line(out, &format!("BEGIN:{kind}"));
        line(out, &format!("DTSTART:{}", local(at)));
        line(out, &format!("TZOFFSETFROM:{}", offset(from)));
        line(out, &format!("TZOFFSETTO:{}", offset(to)));
        if !abbr.is_empty() && !abbr.starts_with(['+', '-']) {
            line(out, &format!("TZNAME:{}", text(abbr)));
        }
        line(out, &format!("END:{kind}"));
    };
    component(
        out,
        first.offset().to_datetime(start),
        prev.seconds(),
        prev.seconds(),
        first.dst().is_dst(),
        first.abbreviation(),
    );
    for t in tz.following(start) {
        if t.timestamp() >= end {
            break;
        }
        // DTSTART is the wall-clock time just before the change, in the old offset.
        let at = prev.to_datetime(t.timestamp());
        component(
            out,
            at,
            prev.seconds(),
            t.offset().seconds(),
            t.dst().is_dst(),
            t.abbreviation(),
        );
        prev = t.offset();
    }
    line(out, "END:VTIMEZONE");
    Ok(())
}

fn vevent(
    out: &mut String,
    conf: &Conference,
    m: &MeetingState,
    names: &Names,
) -> Result<(), ProtoError> {
    let mt = &m.meeting;
    let start: DateTime = format!("{}T{}", mt.date, mt.start)
        .parse()
        .map_err(|_| bad(format!("session {}: bad date or time", mt.session)))?;
    let end = start
        .checked_add(jiff::Span::new().minutes(i64::from(mt.minutes)))
        .map_err(|e| bad(e.to_string()))?;
    line(out, "BEGIN:VEVENT");
    line(out, &format!("UID:{}@lianxi", m.uid));
    line(out, &format!("DTSTAMP:{}", utc(m.updated_at)));
    line(out, &format!("CREATED:{}", utc(m.convened_at)));
    line(out, &format!("LAST-MODIFIED:{}", utc(m.updated_at)));
    line(out, &format!("SEQUENCE:{}", m.sequence));
    line(out, &format!("DTSTART;TZID={}:{}", mt.tz, local(start)));
    line(out, &format!("DTEND;TZID={}:{}", mt.tz, local(end)));
    line(out, &format!("SUMMARY:{}", text(&mt.display_title())));
    let place = match (mt.place.trim(), mt.link.trim()) {
        ("", l) => l.to_owned(),
        (p, "") => p.to_owned(),
        (p, l) => format!("{p} / {l}"),
    };
    line(out, &format!("LOCATION:{}", text(&place)));
    if mt.link.starts_with("https://") || mt.link.starts_with("http://") {
        line(out, &format!("URL:{}", mt.link.trim()));
    }
    let mut d = String::new();
    if let Some(chair) = &conf.roster.chair {
        let _ = writeln!(d, "召集人 Convener: {}", names.of(chair));
    }
    if let Some(host) = conf.host(mt.session) {
        let _ = writeln!(d, "执行副主席 Host: {}", names.of(host));
    }
    let _ = writeln!(
        d,
        "议题征集截止 Agenda items by: {} ({})",
        mt.agenda_deadline, mt.tz
    );
    if !m.agenda.is_empty() {
        let _ = writeln!(d, "议程 Agenda:");
        let mut at = 0;
        for (i, s) in m.agenda.iter().enumerate() {
            let title = m.proposal(&s.item).map_or("?", |p| p.item.title.as_str());
            let _ = writeln!(
                d,
                "{}. {} {} ({} min)",
                i + 1,
                mt.local_time_after(at),
                title,
                s.minutes
            );
            at += s.minutes;
        }
    }
    if !mt.note.trim().is_empty() {
        let _ = writeln!(d, "{}", mt.note.trim());
    }
    if let Some(r) = &m.cancelled {
        let _ = writeln!(d, "已取消 Cancelled: {r}");
    }
    line(out, &format!("DESCRIPTION:{}", text(d.trim_end())));
    line(
        out,
        &format!(
            "STATUS:{}",
            if m.cancelled.is_some() {
                "CANCELLED"
            } else {
                "CONFIRMED"
            }
        ),
    );
    line(out, "TRANSP:OPAQUE");
    line(out, "END:VEVENT");
    Ok(())
}

/// An iCalendar file holding `sessions` (all convened meetings when empty).
pub fn calendar(conf: &Conference, sessions: &[u32], names: &Names) -> Result<String, ProtoError> {
    let chosen: Vec<&MeetingState> = if sessions.is_empty() {
        conf.meetings.values().collect()
    } else {
        sessions
            .iter()
            .map(|s| {
                conf.meetings.get(s).ok_or_else(|| {
                    ProtoError::new(
                        ErrorCode::NotFound,
                        format!("session {s} has not been convened"),
                    )
                })
            })
            .collect::<Result<_, _>>()?
    };
    if chosen.is_empty() {
        return Err(ProtoError::new(
            ErrorCode::NotFound,
            "no meeting has been convened yet",
        ));
    }
    let mut zones: BTreeMap<&str, (i16, i16)> = BTreeMap::new();
    for m in &chosen {
        let y = m.meeting.year().unwrap_or(1970);
        let e = zones.entry(m.meeting.tz.as_str()).or_insert((y, y));
        e.0 = e.0.min(y);
        e.1 = e.1.max(y);
    }
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, "PRODID:-//Lianxi//Joint conference 联席会议//ZH");
    line(&mut out, "CALSCALE:GREGORIAN");
    line(&mut out, "METHOD:PUBLISH");
    line(&mut out, "X-WR-CALNAME:联席会议");
    for (name, (from, to)) in &zones {
        vtimezone(&mut out, name, from.saturating_sub(1), to.saturating_add(1))?;
    }
    let mut seen = BTreeSet::new();
    for m in chosen {
        if seen.insert(m.meeting.session) {
            vevent(&mut out, conf, m, names)?;
        }
    }
    line(&mut out, "END:VCALENDAR");
    Ok(out)
}

#[cfg(test)]
mod tests;
