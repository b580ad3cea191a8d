//! A ticket's age as the staff queue's service level counts it: business hours (time inside
//! the staff office hours, or every hour when none are configured) since the ticket was
//! created, less the time it waited on the contractor. A staff reply starts a wait
//! (`tickets.waiting_since`); the contractor's answer ends it, adding the wait's business
//! hours to `tickets.waited_ms`. So a wait that spans a night or a weekend takes off only the
//! office hours inside it, exactly what it added. Pure: the instant is passed in.

use serde::Serialize;

use crate::clock::Millis;
use crate::domain::office_hours::OfficeHours;

const HOUR: Millis = 3_600_000;

/// Business time between two instants: inside office hours, or all of it without them.
pub fn business_ms(hours: Option<&OfficeHours>, from: Millis, to: Millis) -> Millis {
    match hours {
        Some(h) => h.open_ms_between(from, to),
        None => (to - from).max(0),
    }
}

/// What the SLA clock says about one ticket now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SlaState {
    /// Business milliseconds counted against the ticket (waits taken off).
    pub age_ms: Millis,
    /// The age is past the limit and the ticket is open and not waiting on the contractor.
    pub overdue: bool,
    /// A staff reply went out and the contractor has not answered yet: the clock is paused.
    pub waiting: bool,
}

/// A ticket's timing as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketClock {
    pub created_at: Millis,
    /// When the current wait on the contractor began.
    pub waiting_since: Option<Millis>,
    /// Business milliseconds of the waits that have ended.
    pub waited_ms: Millis,
    /// Only an open ticket can be overdue.
    pub open: bool,
}

/// The SLA state of `t` at `now`, with `limit_hours` business hours before it is overdue.
pub fn sla(hours: Option<&OfficeHours>, t: TicketClock, now: Millis, limit_hours: u32) -> SlaState {
    let mut age = business_ms(hours, t.created_at, now) - t.waited_ms.max(0);
    if let Some(since) = t.waiting_since {
        age -= business_ms(hours, since.max(t.created_at), now);
    }
    let age = age.max(0);
    let waiting = t.waiting_since.is_some();
    SlaState {
        age_ms: age,
        overdue: t.open && !waiting && age >= Millis::from(limit_hours) * HOUR,
        waiting,
    }
}

/// A business age in words: `3 h 5 min`, `45 min`.
pub fn words(age_ms: Millis) -> String {
    let minutes = age_ms.max(0) / 60_000;
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::office_hours::{CityZone, Holiday, WeeklyHours};
    use jiff::Timestamp;

    fn utc(text: &str) -> Millis {
        text.parse::<Timestamp>().unwrap().as_millisecond()
    }

    /// Mon-Fri 08:00-17:00 in Denver (MST = UTC-7 in January), New Year's Day off.
    fn office() -> OfficeHours {
        OfficeHours {
            zone: CityZone::parse("America/Denver").unwrap(),
            weekly: WeeklyHours::parse("Mon-Fri 08:00-17:00").unwrap(),
            holidays: [Holiday::parse("2027-01-01").unwrap()]
                .into_iter()
                .collect(),
        }
    }

    fn open_at(created: &str) -> TicketClock {
        TicketClock {
            created_at: utc(created),
            waiting_since: None,
            waited_ms: 0,
            open: true,
        }
    }

    #[test]
    fn without_office_hours_every_hour_counts() {
        let t = open_at("2026-01-14T10:00:00Z");
        let s = sla(None, t, utc("2026-01-14T18:00:00Z"), 8);
        assert_eq!(s.age_ms, 8 * HOUR);
        assert!(s.overdue);
        assert!(!sla(None, t, utc("2026-01-14T17:59:00Z"), 8).overdue);
    }

    #[test]
    fn nights_and_weekends_do_not_count() {
        let h = office();
        // Friday 16 January 2026, 16:00 MST; Monday 19 January, 09:00 MST.
        let t = open_at("2026-01-16T23:00:00Z");
        let s = sla(Some(&h), t, utc("2026-01-19T16:00:00Z"), 8);
        assert_eq!(s.age_ms, 2 * HOUR, "an hour on Friday, an hour on Monday");
        assert!(!s.overdue);
        // Tuesday 17:00 MST: 1 + 9 + 9 hours.
        let s = sla(Some(&h), t, utc("2026-01-21T00:00:00Z"), 8);
        assert_eq!(s.age_ms, 19 * HOUR);
        assert!(s.overdue);
        assert_eq!(words(s.age_ms), "19 h 0 min");
    }

    #[test]
    fn a_holiday_does_not_count() {
        let h = office();
        // Thursday 31 December 2026 16:00 MST to Monday 4 January 2027 09:00 MST: Friday 1
        // January is a holiday.
        let t = open_at("2026-12-31T23:00:00Z");
        let s = sla(Some(&h), t, utc("2027-01-04T16:00:00Z"), 8);
        assert_eq!(s.age_ms, 2 * HOUR);
    }

    #[test]
    fn a_wait_pauses_the_clock_and_is_never_overdue() {
        let h = office();
        // Created Wednesday 08:00 MST, staff replied 10:00, still waiting on Thursday 16:00.
        let mut t = open_at("2026-01-14T15:00:00Z");
        t.waiting_since = Some(utc("2026-01-14T17:00:00Z"));
        let s = sla(Some(&h), t, utc("2026-01-15T23:00:00Z"), 8);
        assert_eq!(s.age_ms, 2 * HOUR);
        assert!(s.waiting && !s.overdue);
    }

    #[test]
    fn a_wait_spanning_a_night_takes_off_only_its_office_hours() {
        let h = office();
        // Created Wednesday 08:00 MST; staff replied 15:00; the contractor answered
        // Thursday 10:00: the wait holds 2 h on Wednesday and 2 h on Thursday.
        let created = utc("2026-01-14T15:00:00Z");
        let wait = business_ms(
            Some(&h),
            utc("2026-01-14T22:00:00Z"),
            utc("2026-01-15T17:00:00Z"),
        );
        assert_eq!(wait, 4 * HOUR);
        let t = TicketClock {
            created_at: created,
            waiting_since: None,
            waited_ms: wait,
            open: true,
        };
        // Thursday 12:00 MST: 9 h Wednesday + 4 h Thursday - 4 h waiting.
        let s = sla(Some(&h), t, utc("2026-01-15T19:00:00Z"), 8);
        assert_eq!(s.age_ms, 9 * HOUR);
        assert!(s.overdue);
        // Resolved tickets are never overdue.
        let s = sla(
            Some(&h),
            TicketClock { open: false, ..t },
            utc("2026-01-15T19:00:00Z"),
            8,
        );
        assert!(!s.overdue);
    }

    #[test]
    fn a_day_of_24_hours_closes_at_midnight() {
        let h = OfficeHours {
            zone: CityZone::parse("America/Denver").unwrap(),
            weekly: WeeklyHours::parse("Sat 00:00-24:00").unwrap(),
            holidays: Default::default(),
        };
        // Friday 12:00 MST to Monday 12:00 MST: all of Saturday.
        let got = business_ms(
            Some(&h),
            utc("2026-01-16T19:00:00Z"),
            utc("2026-01-19T19:00:00Z"),
        );
        assert_eq!(got, 24 * HOUR);
        assert_eq!(business_ms(Some(&h), 10, 5), 0);
    }
}
