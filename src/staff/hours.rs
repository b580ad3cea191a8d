//! When staff answer the phone, as an administrator last set it from the staff pages, else as
//! the configuration file says. Every instance keeps the current schedule in memory (the phone
//! line asks on every transfer) and reloads it from `city_settings` every
//! [`REFRESH`], so a change made on one instance reaches the others within that time; the
//! instance that saved it knows at once.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crate::clock::Millis;
use crate::config::Settings;
use crate::domain::language::Lang;
use crate::domain::office_hours::{CityZone, Holiday, OfficeHours, WeeklyHours};
use crate::store::{Store, city_settings};

/// How often each instance reloads the schedule.
pub const REFRESH: Duration = Duration::from_secs(30);

/// The names under which the schedule is stored.
pub const PREFIX: &str = "staff.";
const HOURS: &str = "staff.hours";
const HOLIDAYS: &str = "staff.holidays";
const TIME_ZONE: &str = "staff.time_zone";
const TEXT: &str = "staff.office_hours";

/// The longest line of office hours shown and said to contractors.
pub const MAX_TEXT: usize = 120;

/// A schedule an administrator set, as typed (normalised) and as read.
#[derive(Debug, Clone)]
pub struct Override {
    pub schedule: String,
    /// Dates, comma separated (`2026-12-25, 2027-01-01`).
    pub holidays: String,
    pub time_zone: String,
    /// The words shown and said; `None` to describe the schedule in each language.
    pub text: Option<String>,
    pub hours: OfficeHours,
    /// Who set it, and when.
    pub by: String,
    pub at: Millis,
}

/// What an administrator typed, checked into an [`Override`] (less who and when).
#[derive(Debug, Clone, Default)]
pub struct ScheduleForm {
    pub schedule: String,
    pub holidays: String,
    pub time_zone: String,
    pub text: String,
}

/// What is wrong with a typed schedule: the field and a sentence for the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleProblem {
    pub field: &'static str,
    pub message: String,
}

impl ScheduleForm {
    /// The schedule it describes, or every problem with it.
    pub fn check(&self) -> Result<Override, Vec<ScheduleProblem>> {
        let mut problems = Vec::new();
        let mut problem =
            |field, message: String| problems.push(ScheduleProblem { field, message });
        let schedule = squeeze(&self.schedule);
        let weekly = match WeeklyHours::parse(&schedule) {
            Ok(w) => Some(w),
            Err(e) => {
                problem("schedule", format!("Weekly hours: {e}."));
                None
            }
        };
        let zone_name = self.time_zone.trim();
        let zone = match CityZone::parse(if zone_name.is_empty() {
            CityZone::DEFAULT
        } else {
            zone_name
        }) {
            Ok(z) => Some(z),
            Err(e) => {
                problem("time_zone", format!("Time zone: {e}."));
                None
            }
        };
        let mut days = BTreeSet::new();
        for date in self.holidays.split([',', '\n']).map(str::trim) {
            if date.is_empty() {
                continue;
            }
            match Holiday::parse(date) {
                Ok(day) => {
                    days.insert(day);
                }
                Err(e) => problem("holidays", format!("Holidays: {e}.")),
            }
        }
        let text = squeeze(&self.text);
        if text.chars().count() > MAX_TEXT || text.chars().any(char::is_control) {
            problem(
                "text",
                format!(
                    "The words for contractors must be one line of at most {MAX_TEXT} characters."
                ),
            );
        }
        match (weekly, zone) {
            (Some(weekly), Some(zone)) if problems.is_empty() => Ok(Override {
                schedule,
                holidays: days
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", "),
                time_zone: zone.name().to_string(),
                text: (!text.is_empty()).then_some(text),
                hours: OfficeHours {
                    zone,
                    weekly,
                    holidays: days,
                },
                by: String::new(),
                at: 0,
            }),
            _ => Err(problems),
        }
    }
}

fn squeeze(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Override {
    /// The rows it is stored as: (name, value).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        vec![
            (HOURS, self.schedule.clone()),
            (HOLIDAYS, self.holidays.clone()),
            (TIME_ZONE, self.time_zone.clone()),
            (TEXT, self.text.clone().unwrap_or_default()),
        ]
    }

    /// Read back from its rows; `None` when there are none or they no longer parse (a
    /// warning is logged and the configuration file's schedule applies).
    fn from_rows(rows: &[city_settings::CitySetting]) -> Option<Override> {
        let get = |name: &str| rows.iter().find(|r| r.name == name);
        let hours = get(HOURS)?;
        let value = |name: &str| get(name).map(|r| r.value.clone()).unwrap_or_default();
        let form = ScheduleForm {
            schedule: hours.value.clone(),
            holidays: value(HOLIDAYS),
            time_zone: value(TIME_ZONE),
            text: value(TEXT),
        };
        match form.check() {
            Ok(mut o) => {
                o.by = hours.updated_by.clone();
                o.at = hours.updated_at;
                Some(o)
            }
            Err(problems) => {
                tracing::warn!(
                    ?problems,
                    "stored office hours no longer parse; the configuration file's apply"
                );
                None
            }
        }
    }
}

/// The schedule in force, shared by every part of one instance.
#[derive(Debug, Clone, Default)]
pub struct StaffHours {
    current: Arc<RwLock<Option<Override>>>,
}

impl StaffHours {
    /// The administrator's schedule, if one is set.
    pub fn current_override(&self) -> Option<Override> {
        self.current.read().map(|c| c.clone()).unwrap_or_default()
    }

    /// The schedule in force: the administrator's, else the configuration file's.
    pub fn hours(&self, settings: &Settings) -> Option<OfficeHours> {
        match self.current_override() {
            Some(o) => Some(o.hours),
            None => settings.staff_hours.clone(),
        }
    }

    /// Whether the phone line should put a caller through at `now`: a staff phone is
    /// configured and `now` is within the schedule in force (always, without one).
    pub fn answering(&self, settings: &Settings, now: Millis) -> bool {
        match self.current_override() {
            Some(o) => settings.staff_phone.is_some() && o.hours.is_open(now),
            None => crate::config::staff_answering(settings, now),
        }
    }

    /// When staff answer, in `lang`, as shown and said: the administrator's words or their
    /// schedule described, else the configuration file's.
    pub fn text(&self, settings: &Settings, lang: Lang) -> Option<String> {
        match self.current_override() {
            Some(o) => Some(o.text.unwrap_or_else(|| o.hours.describe(lang))),
            None => settings.office_hours_text(lang),
        }
    }

    /// The city's calendar (the dashboard's days, the digest's time): the zone of the
    /// administrator's schedule, else the configuration's (`Settings::city_zone`, UTC when
    /// none is set).
    pub fn zone(&self, settings: &Settings) -> CityZone {
        match self.current_override() {
            Some(o) => o.hours.zone,
            None => settings.city_zone(),
        }
    }

    /// Puts `schedule` (or the configuration file's, for `None`) in force on this instance.
    pub fn replace(&self, schedule: Option<Override>) {
        if let Ok(mut c) = self.current.write() {
            *c = schedule;
        }
    }

    /// Reloads the schedule from the store.
    pub async fn reload(&self, store: &Store) -> Result<(), sqlx::Error> {
        let rows = city_settings::with_prefix(store.pool(), PREFIX).await?;
        self.replace(Override::from_rows(&rows));
        Ok(())
    }

    /// Reloads every [`REFRESH`] until the process ends; a failed read keeps the last one.
    pub async fn keep_fresh(self, store: Store) {
        let mut tick = tokio::time::interval(REFRESH);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.reload(&store).await {
                tracing::warn!(error = %e, "office hours not reloaded");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(schedule: &str, holidays: &str, zone: &str) -> ScheduleForm {
        ScheduleForm {
            schedule: schedule.into(),
            holidays: holidays.into(),
            time_zone: zone.into(),
            text: String::new(),
        }
    }

    #[test]
    fn a_good_schedule_is_normalised() {
        let o = form(
            "  Mon-Fri   08:00-17:00 ",
            "2026-12-25, 2026-07-03",
            "America/Denver",
        )
        .check()
        .expect("good");
        assert_eq!(o.schedule, "Mon-Fri 08:00-17:00");
        assert_eq!(o.holidays, "2026-07-03, 2026-12-25");
        assert_eq!(o.time_zone, "America/Denver");
        assert!(o.text.is_none());
    }

    #[test]
    fn every_problem_is_named_with_its_field() {
        let problems = form("Mon-Fri 25:00-17:00", "2026-13-40", "Mars/Olympus")
            .check()
            .expect_err("bad");
        let fields: Vec<_> = problems.iter().map(|p| p.field).collect();
        assert_eq!(
            fields,
            ["schedule", "time_zone", "holidays"],
            "{problems:?}"
        );
        let long = ScheduleForm {
            text: "x".repeat(MAX_TEXT + 1),
            ..form("Mon-Fri 08:00-17:00", "", "")
        };
        assert_eq!(long.check().expect_err("long")[0].field, "text");
    }

    #[test]
    fn the_override_wins_and_clearing_it_restores_the_file() {
        let mut settings = Settings::for_local("sqlite://x.db");
        settings.staff_phone = Some("+13035550199".into());
        let hours = StaffHours::default();
        // No schedule anywhere: staff are taken to answer at any time.
        assert!(hours.answering(&settings, 0));
        // 1970-01-01 00:00 UTC is a Thursday: closed by a Mon-Fri 08:00-17:00 schedule.
        let o = form("Mon-Fri 08:00-17:00", "", "UTC")
            .check()
            .expect("good");
        hours.replace(Some(o));
        assert!(!hours.answering(&settings, 0));
        assert!(hours.answering(&settings, 9 * 3_600_000));
        assert!(hours.text(&settings, Lang::En).is_some());
        hours.replace(None);
        assert!(hours.answering(&settings, 0));
    }
}
