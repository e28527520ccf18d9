//! A session of the joint conference: when, where, how long, and until when
//! agenda items are taken. Times are local wall-clock times in a named IANA
//! time zone (default Asia/Shanghai), as people agree on them; instants are
//! derived with the bundled time-zone database, so every node computes the same.

use serde::{Deserialize, Serialize};

use crate::error::{ErrorCode, ProtoError};

/// The time zone a meeting is in unless the chair says otherwise.
pub const DEFAULT_TZ: &str = "Asia/Shanghai";

/// A convened session (第N次联席会议).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Meeting {
    /// The session number, N in 第N次联席会议.
    pub session: u32,
    /// Empty: "第N次联席会议".
    #[serde(default)]
    pub title: String,
    /// `YYYY-MM-DD`, local.
    pub date: String,
    /// `HH:MM`, local.
    pub start: String,
    /// Duration, minutes.
    pub minutes: u32,
    /// IANA time zone name.
    pub tz: String,
    #[serde(default)]
    pub place: String,
    /// Online meeting link.
    #[serde(default)]
    pub link: String,
    /// Agenda items are taken until this local time, `YYYY-MM-DD HH:MM`.
    pub agenda_deadline: String,
    #[serde(default)]
    pub note: String,
}

fn bad(m: impl Into<String>) -> ProtoError {
    ProtoError::new(ErrorCode::BadRequest, m)
}

/// A local wall-clock time (`YYYY-MM-DD HH:MM` or with `T`) in `tz`, as Unix ms.
pub fn local_to_ms(local: &str, tz: &str) -> Result<i64, ProtoError> {
    let zone = jiff::tz::TimeZone::get(tz).map_err(|_| {
        bad(format!(
            "unknown time zone {tz:?} (an IANA name such as Asia/Shanghai)"
        ))
    })?;
    let dt: jiff::civil::DateTime = local
        .trim()
        .replacen(' ', "T", 1)
        .parse()
        .map_err(|_| bad(format!("{local:?} is not a local time YYYY-MM-DD HH:MM")))?;
    let z = dt
        .to_zoned(zone)
        .map_err(|e| bad(format!("{local:?} in {tz}: {e}")))?;
    Ok(z.timestamp().as_millisecond())
}

/// `HH:MM` plus `minutes`, on a 24-hour clock (agenda slot times).
pub fn clock_after(start: &str, minutes: u32) -> String {
    let Ok(t) = start.parse::<jiff::civil::Time>() else {
        return start.to_owned();
    };
    let m =
        (u32::from(t.hour().unsigned_abs()) * 60 + u32::from(t.minute().unsigned_abs()) + minutes)
            % (24 * 60);
    format!("{:02}:{:02}", m / 60, m % 60)
}

impl Meeting {
    /// The title people see.
    pub fn display_title(&self) -> String {
        if self.title.trim().is_empty() {
            format!("第{}次联席会议", self.session)
        } else {
            self.title.clone()
        }
    }

    pub fn year(&self) -> Option<i16> {
        self.date
            .parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.year())
    }

    /// When it starts (Unix ms).
    pub fn start_ms(&self) -> Result<i64, ProtoError> {
        local_to_ms(&format!("{} {}", self.date, self.start), &self.tz)
    }

    /// When it ends (Unix ms).
    pub fn end_ms(&self) -> Result<i64, ProtoError> {
        Ok(self.start_ms()? + i64::from(self.minutes) * 60_000)
    }

    /// When the call for agenda items closes (Unix ms).
    pub fn deadline_ms(&self) -> Result<i64, ProtoError> {
        local_to_ms(&self.agenda_deadline, &self.tz)
    }

    /// The local start time as `HH:MM` plus `offset` minutes (for agenda slots).
    pub fn local_time_after(&self, offset: u32) -> String {
        clock_after(&self.start, offset)
    }

    pub fn validate(&self) -> Result<(), ProtoError> {
        if self.session == 0 {
            return Err(bad("sessions are numbered from 1"));
        }
        if self.date.parse::<jiff::civil::Date>().is_err() {
            return Err(bad(format!("{:?} is not a date YYYY-MM-DD", self.date)));
        }
        if self.start.parse::<jiff::civil::Time>().is_err() {
            return Err(bad(format!("{:?} is not a time HH:MM", self.start)));
        }
        if self.minutes == 0 || self.minutes > 24 * 60 {
            return Err(bad("a meeting lasts 1 to 1440 minutes"));
        }
        if self.place.trim().is_empty() && self.link.trim().is_empty() {
            return Err(bad("a meeting needs a place or an online link"));
        }
        crate::text::check_line(
            "the meeting's title",
            &self.title,
            crate::Payload::MAX_TITLE,
        )?;
        crate::text::check_line("the meeting's place", &self.place, 4096)?;
        crate::text::check_line("the meeting's link", &self.link, 4096)?;
        if self.title.len() > crate::Payload::MAX_TITLE
            || self.place.len() > 4096
            || self.link.len() > 4096
            || self.note.len() > super::MAX_TEXT
        {
            return Err(ProtoError::new(
                ErrorCode::TooLarge,
                "a meeting field is too long",
            ));
        }
        let start = self.start_ms()?;
        if self.deadline_ms()? > start {
            return Err(bad(
                "the call for agenda items must close before the meeting starts",
            ));
        }
        Ok(())
    }
}
