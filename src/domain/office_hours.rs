//! When the Building Division's staff answer their own line: a weekly schedule in the city's
//! time zone, less holidays (closed all day). The phone line asks [`OfficeHours::is_open`]
//! before transferring a caller, and leaves a recorded message otherwise; when the city wrote no
//! `staff.office_hours` text, [`OfficeHours::describe`] says the schedule in plain words.
//!
//! Pure: the instant is passed in (from the injected clock). The tz database is the copy
//! compiled into the binary (jiff's bundled tzdb), so every machine applies the same
//! daylight-saving rules, with or without /usr/share/zoneinfo. A time on the schedule is wall
//! clock time: `08:00` is 08:00 in Denver in January and in July.

mod business;
mod describe;
mod weekly;

use std::collections::BTreeSet;
use std::fmt;

use jiff::Timestamp;
use jiff::civil::{Date, Time};
use jiff::tz::{AmbiguousOffset, TimeZone};

use crate::clock::Millis;
use crate::domain::language::Lang;

pub use weekly::{HoursError, Period, WeeklyHours};

/// The city's time zone, by its tz database name (`America/Denver`).
#[derive(Clone)]
pub struct CityZone {
    name: String,
    tz: TimeZone,
}

impl CityZone {
    /// The zone of a city that names none: the Mountain time of the Front Range cities this was
    /// written for.
    pub const DEFAULT: &'static str = "America/Denver";

    /// A zone of the tz database by name (`America/Denver`, any case). Abbreviations (`MST`)
    /// and offsets are refused: which rules they follow is easy to get wrong (`MST` keeps no
    /// daylight saving time), a place's name is not.
    pub fn parse(name: &str) -> Result<CityZone, HoursError> {
        let name = name.trim();
        let hint = "write the tz database name of the city's zone, e.g. America/Denver, \
                    America/Chicago, America/New_York or America/Los_Angeles";
        let tz = TimeZone::get(name)
            .map_err(|_| HoursError(format!("'{name}' is not a time zone: {hint}")))?;
        match tz.iana_name() {
            Some(canonical) if canonical.contains('/') || canonical == "UTC" => Ok(CityZone {
                name: canonical.to_string(),
                tz,
            }),
            _ => Err(HoursError(format!(
                "'{name}' is an abbreviation or an offset, not a city's time zone: {hint}"
            ))),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// Coordinated Universal Time: the calendar of a city that configured no zone.
    pub fn utc() -> CityZone {
        CityZone {
            name: "UTC".into(),
            tz: TimeZone::UTC,
        }
    }

    /// The date on the city's calendar at `at`.
    pub fn date_of(&self, at: Millis) -> Option<Date> {
        let ts = Timestamp::from_millisecond(at).ok()?;
        Some(self.tz.to_datetime(ts).date())
    }

    /// Minutes after local midnight at `at`, on the city's wall clock.
    pub fn minute_of_day(&self, at: Millis) -> Option<u16> {
        let ts = Timestamp::from_millisecond(at).ok()?;
        let local = self.tz.to_datetime(ts);
        u16::try_from(i16::from(local.hour()) * 60 + i16::from(local.minute())).ok()
    }

    /// The first instant of `date` on the city's calendar (a day is 23 or 25 hours long when
    /// the clocks change).
    pub fn start_of(&self, date: Date) -> Option<Millis> {
        let zoned = date.to_zoned(self.tz.clone()).ok()?;
        Some(zoned.start_of_day().ok()?.timestamp().as_millisecond())
    }
}

/// A time on the city's wall clock, `07:30` (minutes after midnight): when the daily digest
/// goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    /// `HH:MM` on a 24-hour clock, before 24:00.
    pub fn parse(text: &str) -> Result<TimeOfDay, HoursError> {
        let text = text.trim();
        match weekly::minute_of_day(text)? {
            1440 => Err(HoursError(format!(
                "'{text}' is not a time of day: write 00:00 to 23:59"
            ))),
            m => Ok(TimeOfDay(m)),
        }
    }

    pub fn minute_of_day(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl OfficeHours {
    /// The city's time zone, to show instants on its wall clock.
    pub fn zone_tz(&self) -> &TimeZone {
        &self.zone.tz
    }
}

impl fmt::Debug for CityZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CityZone({})", self.name)
    }
}

/// A day the office is closed, whatever the weekly schedule says: a date on the city's
/// calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Holiday(Date);

impl Holiday {
    /// `2026-12-25`, exactly so written.
    pub fn parse(text: &str) -> Result<Holiday, HoursError> {
        let text = text.trim();
        let bad = || {
            HoursError(format!(
                "'{text}' is not a date: write YYYY-MM-DD, e.g. 2026-12-25"
            ))
        };
        let b = text.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| text[r].parse::<i16>().map_err(|_| bad());
        let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (m, d) = (
            i8::try_from(m).map_err(|_| bad())?,
            i8::try_from(d).map_err(|_| bad())?,
        );
        Date::new(y, m, d).map(Holiday).map_err(|_| bad())
    }
}

impl fmt::Display for Holiday {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// When staff answer: a weekly schedule on the city's wall clock, less holidays.
#[derive(Debug, Clone)]
pub struct OfficeHours {
    pub zone: CityZone,
    pub weekly: WeeklyHours,
    pub holidays: BTreeSet<Holiday>,
}

impl OfficeHours {
    /// Whether staff answer at `at`: its local date is no holiday and its local time of day
    /// falls in one of that weekday's periods (opening minute included, closing minute not).
    pub fn is_open(&self, at: Millis) -> bool {
        let Ok(ts) = Timestamp::from_millisecond(at) else {
            return false;
        };
        let local = self.zone.tz.to_datetime(ts);
        if self.holidays.contains(&Holiday(local.date())) {
            return false;
        }
        let minute = i16::from(local.hour()) * 60 + i16::from(local.minute());
        let Ok(minute) = u16::try_from(minute) else {
            return false;
        };
        self.weekly
            .on(local.weekday())
            .iter()
            .any(|p| p.contains(minute))
    }

    /// The first instant after `at` at which staff start answering (closed just before, open
    /// from then on); `None` when there is none, as when the line never closes.
    pub fn next_opening(&self, at: Millis) -> Option<Millis> {
        let ts = Timestamp::from_millisecond(at).ok()?;
        let mut date = self.zone.tz.to_datetime(ts).date();
        // Each holiday can cost at most a week's openings.
        for _ in 0..7 * (self.holidays.len() + 1) + 1 {
            if !self.holidays.contains(&Holiday(date)) {
                for p in self.weekly.on(date.weekday()) {
                    let Some(opens) = self.first_instant_at(date, p.opens) else {
                        continue;
                    };
                    if opens > at && !self.is_open(opens - 1) {
                        return Some(opens);
                    }
                }
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    /// The schedule in plain words (holidays are not listed).
    pub fn describe(&self, lang: Lang) -> String {
        describe::describe(&self.weekly, lang)
    }

    /// The first instant at which the wall clock on `date` reads `minute_of_day` or later: the
    /// jump itself when the clocks spring over that time, the first pass when they fall back
    /// through it.
    fn first_instant_at(&self, date: Date, minute_of_day: u16) -> Option<Millis> {
        let (h, m) = (minute_of_day / 60, minute_of_day % 60);
        let time = Time::new(i8::try_from(h).ok()?, i8::try_from(m).ok()?, 0, 0).ok()?;
        let tz = &self.zone.tz;
        let ambiguous = tz.to_ambiguous_timestamp(date.to_datetime(time));
        let ts = match ambiguous.offset() {
            AmbiguousOffset::Gap { .. } => {
                tz.following(ambiguous.earlier().ok()?).next()?.timestamp()
            }
            _ => ambiguous.earlier().ok()?,
        };
        Some(ts.as_millisecond())
    }
}

#[cfg(test)]
mod tests;
