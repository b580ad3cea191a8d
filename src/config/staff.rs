//! The Building Division's own line: the number callers are transferred to and contractors are
//! told to call, and when staff answer it. `hours` (a weekly schedule on the city's wall clock,
//! `Mon-Fri 08:00-17:00`), `time_zone` and `holidays` say when the phone line puts a caller
//! through ([`staff_answering`]); `office_hours` is the text shown and said, written by the city
//! or, when it wrote none, generated from `hours` in each language.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, de};

use super::Settings;
use super::sources::Layers;
use crate::clock::Millis;
use crate::domain::language::Lang;
use crate::domain::office_hours::{CityZone, Holiday, OfficeHours, TimeOfDay, WeeklyHours};

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[
    ("HELPLINE_STAFF_PHONE", "staff.phone"),
    ("HELPLINE_STAFF_TIME_ZONE", "staff.time_zone"),
    ("HELPLINE_STAFF_HOURS", "staff.hours"),
    ("HELPLINE_STAFF_HOLIDAYS", "staff.holidays"),
    ("HELPLINE_STAFF_SLA_HOURS", "staff.sla_hours"),
    ("HELPLINE_STAFF_DIGEST_AT", "staff.digest_at"),
];

/// Business hours a ticket may wait before the queue marks it overdue, by default.
pub const DEFAULT_SLA_HOURS: u32 = 8;

/// `[staff]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStaff {
    phone: Option<String>,
    office_hours: Option<String>,
    time_zone: Option<String>,
    hours: Option<RawSchedule>,
    #[serde(default)]
    holidays: RawHolidays,
    /// Business hours before a ticket is overdue.
    sla_hours: Option<i64>,
    /// When the daily queue digest is emailed to staff (`07:30`, city time); off when unset.
    digest_at: Option<String>,
}

/// `hours` as written: the one-line schedule, or a table of the same pieces, one key per day
/// or range (`{ mon-fri = "08:00-17:00", sat = "closed" }`), read as `mon-fri 08:00-17:00; sat
/// closed`, so both are checked by one parser and its messages.
#[derive(Debug)]
pub(super) struct RawSchedule(String);

/// `holidays` as written: an array of dates, quoted or TOML dates (`2026-12-25`), or one string
/// listing them with commas as the variable does; each read as text and checked alike.
#[derive(Debug, Default)]
pub(super) struct RawHolidays(Vec<String>);

impl<'de> Deserialize<'de> for RawSchedule {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Schedule;
        impl<'de> de::Visitor<'de> for Schedule {
            type Value = RawSchedule;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a schedule such as \"Mon-Fri 08:00-17:00; Sat 09:00-12:00\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawSchedule, E> {
                Ok(RawSchedule(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<RawSchedule, A::Error> {
                let mut groups = Vec::new();
                while let Some((days, hours)) = map.next_entry::<String, String>()? {
                    groups.push(format!("{days} {hours}"));
                }
                Ok(RawSchedule(groups.join("; ")))
            }
        }
        d.deserialize_any(Schedule)
    }
}

impl<'de> Deserialize<'de> for RawHolidays {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Dates;
        impl<'de> de::Visitor<'de> for Dates {
            type Value = RawHolidays;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("dates such as [\"2026-07-03\", \"2026-12-25\"]")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<RawHolidays, E> {
                Ok(RawHolidays(v.split(',').map(str::to_string).collect()))
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawHolidays, A::Error> {
                let mut dates = Vec::new();
                while let Some(date) = seq.next_element::<OneDate>()? {
                    dates.push(date.0);
                }
                Ok(RawHolidays(dates))
            }
        }
        d.deserialize_any(Dates)
    }
}

/// One date in the array: a string, or a TOML date, which reaches serde as a one-entry map
/// only its own type reads.
struct OneDate(String);

impl<'de> Deserialize<'de> for OneDate {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Date;
        impl<'de> de::Visitor<'de> for Date {
            type Value = OneDate;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date such as \"2026-12-25\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OneDate, E> {
                Ok(OneDate(v.to_string()))
            }
            fn visit_map<A: de::MapAccess<'de>>(self, map: A) -> Result<OneDate, A::Error> {
                let date =
                    toml::value::Datetime::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(OneDate(date.to_string()))
            }
        }
        d.deserialize_any(Date)
    }
}

/// The staff line, checked; `Settings` keeps these as `staff_phone`, `staff_office_hours` and
/// `staff_hours`.
pub(super) struct StaffLine {
    /// E.164.
    pub phone: Option<String>,
    pub office_hours: Option<String>,
    pub hours: Option<OfficeHours>,
    pub sla_hours: u32,
    /// The city's calendar: `time_zone` when written, else the office hours' (default) zone
    /// when `hours` is set, else none (UTC).
    pub zone: Option<CityZone>,
    pub digest_at: Option<TimeOfDay>,
}

pub(super) fn read(c: &mut Layers<'_>, raw: RawStaff) -> StaffLine {
    let text = c.pick("staff.phone", raw.phone);
    let phone = c.phone("staff.phone", text);
    // Free text shown on the kiosk pages: one short line.
    let office_hours = raw
        .office_hours
        .map(|s| s.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|s| !s.is_empty());
    if let Some(hours) = &office_hours
        && hours.chars().count() > 120
    {
        c.problem(
            "staff.office_hours",
            "must be one short line (at most 120 characters)",
        );
    }
    let zone_name = c.pick("staff.time_zone", raw.time_zone);
    let named = zone_name.is_some();
    let zone = CityZone::parse(zone_name.as_deref().unwrap_or(CityZone::DEFAULT))
        .map_err(|e| c.problem("staff.time_zone", e.to_string()))
        .ok();
    let hours = office_hours_of(c, zone.clone(), raw.hours.map(|h| h.0), raw.holidays.0);
    let sla_hours = sla_hours_of(c, raw.sla_hours);
    let digest_at = c.pick("staff.digest_at", raw.digest_at).and_then(|text| {
        TimeOfDay::parse(&text)
            .map_err(|e| c.problem("staff.digest_at", e.to_string()))
            .ok()
    });
    StaffLine {
        phone,
        office_hours,
        zone: if named || hours.is_some() { zone } else { None },
        hours,
        sla_hours,
        digest_at,
    }
}

/// `sla_hours`: whole business hours from 1 to 720 (a month of working days), default
/// [`DEFAULT_SLA_HOURS`].
fn sla_hours_of(c: &mut Layers<'_>, file: Option<i64>) -> u32 {
    let Some(text) = c.pick("staff.sla_hours", file.map(|n| n.to_string())) else {
        return DEFAULT_SLA_HOURS;
    };
    match text.parse::<u32>() {
        Ok(n) if (1..=720).contains(&n) => n,
        _ => {
            c.problem(
                "staff.sla_hours",
                format!("'{text}' must be a whole number of business hours from 1 to 720"),
            );
            DEFAULT_SLA_HOURS
        }
    }
}

/// `time_zone` (default [`CityZone::DEFAULT`]), `hours` and `holidays`; `None` without `hours`.
fn office_hours_of(
    c: &mut Layers<'_>,
    zone: Option<CityZone>,
    hours: Option<String>,
    holidays: Vec<String>,
) -> Option<OfficeHours> {
    let weekly = c
        .pick("staff.hours", hours)
        .map(|text| WeeklyHours::parse(&text).map_err(|e| c.problem("staff.hours", e.to_string())));
    // The variable is a comma-separated list; the file's is a TOML array.
    let dates: Vec<String> = match c.pick("staff.holidays", None) {
        Some(list) => list.split(',').map(str::to_string).collect(),
        None => holidays,
    };
    let mut days = BTreeSet::new();
    for date in dates.iter().map(|d| d.trim()).filter(|d| !d.is_empty()) {
        match Holiday::parse(date) {
            Ok(day) => {
                days.insert(day);
            }
            Err(e) => c.problem("staff.holidays", e.to_string()),
        }
    }
    match weekly {
        Some(weekly) => Some(OfficeHours {
            zone: zone?,
            weekly: weekly.ok()?,
            holidays: days,
        }),
        None if !dates.iter().all(|d| d.trim().is_empty()) => {
            c.problem(
                "staff.holidays",
                "are set but staff.hours is not: give the weekly hours too, e.g. \
                 Mon-Fri 08:00-17:00",
            );
            None
        }
        None => None,
    }
}

/// Whether the phone line should put a caller through to staff at `now`: a staff phone is
/// configured and `now` is within `staff.hours` (on the city's wall clock, holidays closed).
/// Without `staff.hours` staff are taken to answer at any time, and the transfer's own ring
/// timeout decides.
pub fn staff_answering(settings: &Settings, now: Millis) -> bool {
    settings.staff_phone.is_some()
        && settings
            .staff_hours
            .as_ref()
            .is_none_or(|hours| hours.is_open(now))
}

impl Settings {
    /// The city's calendar, on which the dashboard's days and the digest's time are read:
    /// `staff.time_zone` (or the office hours' zone), else UTC.
    pub fn city_zone(&self) -> CityZone {
        self.staff_time_zone.clone().unwrap_or_else(CityZone::utc)
    }

    /// When staff answer, as shown and said in `lang`: the city's `staff.office_hours` as
    /// written, else `staff.hours` in plain words; `None` when neither is set.
    pub fn office_hours_text(&self, lang: Lang) -> Option<String> {
        self.staff_office_hours
            .clone()
            .or_else(|| self.staff_hours.as_ref().map(|h| h.describe(lang)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::Settings;
    use super::super::testing::{load_env, load_toml};
    use super::staff_answering;
    use crate::domain::language::Lang;
    use jiff::Timestamp;

    fn utc(text: &str) -> i64 {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    #[test]
    fn sla_hours_default_to_eight_and_are_checked() {
        assert_eq!(Settings::for_local("sqlite://x.db").staff_sla_hours, 8);
        let s = load_toml("[staff]\nsla_hours = 24\n", &[]).unwrap();
        assert_eq!(s.staff_sla_hours, 24);
        let s = load_toml(
            "[staff]\nsla_hours = 24\n",
            &[("HELPLINE_STAFF_SLA_HOURS", "4")],
        );
        assert_eq!(s.unwrap().staff_sla_hours, 4);
        for bad in ["0", "721", "-3"] {
            let errs = load_toml(&format!("[staff]\nsla_hours = {bad}\n"), &[]).unwrap_err();
            assert!(errs.to_string().contains("staff.sla_hours"), "{errs}");
        }
        let errs = load_env(&[("HELPLINE_STAFF_SLA_HOURS", "soon")]).unwrap_err();
        assert!(errs.to_string().contains("'soon'"), "{errs}");
    }

    #[test]
    fn office_hours_are_one_short_line_from_the_file() {
        let s = load_toml(
            "[staff]\nphone = \"303-555-0199\"\noffice_hours = \"  Monday–Friday   8 am–5 pm \"\n",
            &[],
        )
        .unwrap();
        assert_eq!(
            s.staff_office_hours.as_deref(),
            Some("Monday–Friday 8 am–5 pm")
        );
        assert_eq!(s.staff_phone.as_deref(), Some("+13035550199"));
        let errs = load_toml(
            &format!("[staff]\noffice_hours = \"{}\"\n", "x".repeat(121)),
            &[],
        )
        .unwrap_err();
        assert!(errs.to_string().contains("staff.office_hours"), "{errs}");
        assert_eq!(
            Settings::for_local("sqlite://x.db").staff_office_hours,
            None
        );
    }

    #[test]
    fn a_staff_phone_that_is_not_a_number_is_named() {
        let errs = load_env(&[("HELPLINE_STAFF_PHONE", "call us")]).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert!(
            errs.to_string().starts_with(
                "configuration problem: staff.phone (HELPLINE_STAFF_PHONE): 'call us': "
            ),
            "{errs}"
        );
    }

    #[test]
    fn hours_time_zone_and_holidays_from_the_file() {
        let s = load_toml(
            "[staff]\nphone = \"303-555-0199\"\ntime_zone = \"America/Chicago\"\n\
             hours = \"Mon-Fri 08:00-17:00; Sat 09:00-12:00\"\n\
             holidays = [\"2026-07-03\", 2026-12-25]\n",
            &[],
        )
        .unwrap();
        let hours = s.staff_hours.as_ref().unwrap();
        assert_eq!(hours.zone.name(), "America/Chicago");
        assert_eq!(
            hours
                .holidays
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
            ["2026-07-03", "2026-12-25"]
        );
        // 08:00 in Chicago (CST, UTC-6) on a Monday; closed on 3 July and on Saturday afternoon.
        assert!(hours.is_open(utc("2026-01-12T14:00:00Z")));
        assert!(!hours.is_open(utc("2026-01-12T13:59:00Z")));
        assert!(!hours.is_open(utc("2026-07-03T15:00:00Z")));
        assert!(!hours.is_open(utc("2026-01-17T19:00:00Z")));
        assert_eq!(
            s.office_hours_text(Lang::En).as_deref(),
            Some("Monday to Friday, 8 am to 5 pm; Saturday, 9 am to noon")
        );
        assert_eq!(
            s.office_hours_text(Lang::Es).as_deref(),
            Some("lunes a viernes, de 8:00 a 17:00; sabado, de 9:00 a 12:00")
        );
    }

    #[test]
    fn the_variables_win_and_the_zone_defaults_to_denver() {
        let s = load_toml(
            "[staff]\nhours = \"Mon-Fri 08:00-17:00\"\nholidays = [\"2026-01-01\"]\n\
             office_hours = \"Weekdays 8 to 5\"\n",
            &[
                ("HELPLINE_STAFF_HOURS", "Tue-Sat 07:00-15:30"),
                ("HELPLINE_STAFF_HOLIDAYS", " 2026-07-03 ,2026-12-25, "),
            ],
        )
        .unwrap();
        let hours = s.staff_hours.as_ref().unwrap();
        assert_eq!(hours.zone.name(), "America/Denver");
        assert_eq!(
            hours.weekly.to_string().split("; ").next(),
            Some("Tue 07:00-15:30")
        );
        assert_eq!(
            hours
                .holidays
                .iter()
                .map(|h| h.to_string())
                .collect::<Vec<_>>(),
            ["2026-07-03", "2026-12-25"]
        );
        // The city's words are shown and said as written, in both languages.
        for lang in Lang::ALL {
            assert_eq!(
                s.office_hours_text(lang).as_deref(),
                Some("Weekdays 8 to 5")
            );
        }
        let s = load_env(&[("HELPLINE_STAFF_TIME_ZONE", "America/Phoenix")]).unwrap();
        assert!(s.staff_hours.is_none(), "no hours, no schedule");
        assert_eq!(s.office_hours_text(Lang::En), None);
    }

    #[test]
    fn bad_zone_hours_and_holidays_are_each_named() {
        let errs = load_toml(
            "[staff]\ntime_zone = \"Mountain\"\nhours = \"Mon-Fri 8am-5pm\"\n\
             holidays = [\"12/25/2026\", \"2026-01-01\", 2026-12-31T08:00:00]\n",
            &[],
        )
        .unwrap_err();
        let lines: Vec<String> = errs.0.iter().map(|p| format!("{p}")).collect();
        assert_eq!(
            lines,
            [
                "staff.time_zone (HELPLINE_STAFF_TIME_ZONE): 'Mountain' is not a time zone: \
                 write the tz database name of the city's zone, e.g. America/Denver, \
                 America/Chicago, America/New_York or America/Los_Angeles",
                "staff.hours (HELPLINE_STAFF_HOURS): '8am' is not a time: write HH:MM on a \
                 24-hour clock, e.g. 08:00 or 17:30",
                "staff.holidays (HELPLINE_STAFF_HOLIDAYS): '12/25/2026' is not a date: write \
                 YYYY-MM-DD, e.g. 2026-12-25",
                "staff.holidays (HELPLINE_STAFF_HOLIDAYS): '2026-12-31T08:00:00' is not a date: \
                 write YYYY-MM-DD, e.g. 2026-12-25",
            ]
        );
        let errs = load_env(&[("HELPLINE_STAFF_HOURS", "Mon-Fri 17:00-08:00")]).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert!(
            errs.to_string().starts_with(
                "configuration problem: staff.hours (HELPLINE_STAFF_HOURS): '17:00-08:00' \
                 closes before it opens"
            ),
            "{errs}"
        );
        let errs = load_env(&[("HELPLINE_STAFF_HOLIDAYS", "2026-12-25")]).unwrap_err();
        assert_eq!(
            errs.to_string(),
            "configuration problem: staff.holidays (HELPLINE_STAFF_HOLIDAYS): are set but \
             staff.hours is not: give the weekly hours too, e.g. Mon-Fri 08:00-17:00"
        );
    }

    #[test]
    fn staff_answer_only_with_a_phone_and_within_the_hours() {
        let monday_9am = utc("2026-01-12T16:00:00Z");
        let monday_6pm = utc("2026-01-13T01:00:00Z");
        let no_phone = load_env(&[("HELPLINE_STAFF_HOURS", "Mon-Fri 08:00-17:00")]).unwrap();
        assert!(!staff_answering(&no_phone, monday_9am));
        let any_time = load_env(&[("HELPLINE_STAFF_PHONE", "303-555-0199")]).unwrap();
        assert!(staff_answering(&any_time, monday_6pm));
        let scheduled = load_env(&[
            ("HELPLINE_STAFF_PHONE", "303-555-0199"),
            ("HELPLINE_STAFF_HOURS", "Mon-Fri 08:00-17:00"),
        ])
        .unwrap();
        assert!(staff_answering(&scheduled, monday_9am));
        assert!(!staff_answering(&scheduled, monday_6pm));
        assert!(!staff_answering(
            &Settings::for_local("sqlite://x.db"),
            monday_9am
        ));
    }

    #[test]
    fn hours_may_be_a_table_and_holidays_one_string() {
        let s = load_toml(
            "[staff]\nholidays = \"2026-07-03, 2026-12-25\"\n\
             [staff.hours]\nmon-fri = \"08:00-12:00, 13:00-17:00\"\nsat = \"09:00-12:00\"\n\
             sun = \"closed\"\n",
            &[],
        )
        .unwrap();
        let hours = s.staff_hours.as_ref().unwrap();
        assert_eq!(hours.holidays.len(), 2);
        assert_eq!(
            s.office_hours_text(Lang::En).as_deref(),
            Some("Monday to Friday, 8 am to noon and 1 pm to 5 pm; Saturday, 9 am to noon")
        );
        let errs = load_toml("[staff]\nhours = { weekdays = \"08:00-17:00\" }\n", &[]).unwrap_err();
        assert_eq!(
            errs.to_string(),
            "configuration problem: staff.hours (HELPLINE_STAFF_HOURS): 'weekdays' is not a day: \
             write Mon, Tue, Wed, Thu, Fri, Sat or Sun"
        );
        // A value of the wrong kind is refused by the file's reader, saying what was expected.
        for (toml, expected) in [
            (
                "holidays = [20261225]",
                "expected a date such as \"2026-12-25\"",
            ),
            (
                "hours = 8",
                "expected a schedule such as \"Mon-Fri 08:00-17:00; Sat 09:00-12:00\"",
            ),
        ] {
            let errs = load_toml(&format!("[staff]\n{toml}\n"), &[]).unwrap_err();
            assert!(errs.to_string().contains(expected), "{toml}: {errs}");
        }
    }

    #[test]
    fn the_digest_time_and_the_city_calendar() {
        let s = load_toml("[staff]\ndigest_at = \"07:30\"\n", &[]).unwrap();
        assert_eq!(
            s.staff_digest_at.map(|t| t.to_string()).as_deref(),
            Some("07:30")
        );
        assert_eq!(
            s.city_zone().name(),
            "UTC",
            "no zone written, no hours: UTC"
        );
        let s = load_env(&[
            ("HELPLINE_STAFF_DIGEST_AT", "6:45"),
            ("HELPLINE_STAFF_TIME_ZONE", "America/Chicago"),
        ])
        .unwrap();
        assert_eq!(s.staff_digest_at.map(|t| t.minute_of_day()), Some(405));
        assert_eq!(s.city_zone().name(), "America/Chicago");
        let s = load_env(&[("HELPLINE_STAFF_HOURS", "Mon-Fri 08:00-17:00")]).unwrap();
        assert_eq!(s.city_zone().name(), "America/Denver");
        assert_eq!(s.staff_digest_at, None, "off unless set");
        let errs = load_env(&[("HELPLINE_STAFF_DIGEST_AT", "7.30am")]).unwrap_err();
        assert!(
            errs.to_string().starts_with(
                "configuration problem: staff.digest_at (HELPLINE_STAFF_DIGEST_AT): '7.30am' \
                 is not a time"
            ),
            "{errs}"
        );
    }
}
