//! Instants are written in UTC, so the city's offset (MST is UTC-7, MDT UTC-6) is what is under
//! test, not assumed.

use super::*;

fn utc(text: &str) -> Millis {
    text.parse::<Timestamp>().unwrap().as_millisecond()
}

fn hours(weekly: &str, holidays: &[&str]) -> OfficeHours {
    OfficeHours {
        zone: CityZone::parse("America/Denver").unwrap(),
        weekly: WeeklyHours::parse(weekly).unwrap(),
        holidays: holidays
            .iter()
            .map(|d| Holiday::parse(d).unwrap())
            .collect(),
    }
}

fn weekdays() -> OfficeHours {
    hours("Mon-Fri 08:00-17:00", &[])
}

#[test]
fn open_from_eight_and_closed_at_five_local_in_winter_and_summer() {
    let h = weekdays();
    // Wednesday 14 January 2026, MST.
    assert!(!h.is_open(utc("2026-01-14T14:59:59.999Z")));
    assert!(h.is_open(utc("2026-01-14T15:00:00Z")), "08:00 MST");
    assert!(h.is_open(utc("2026-01-14T23:59:59.999Z")), "16:59:59 MST");
    assert!(!h.is_open(utc("2026-01-15T00:00:00Z")), "17:00 MST");
    // Wednesday 15 July 2026, MDT: the same wall clock, an hour earlier in UTC.
    assert!(!h.is_open(utc("2026-07-15T13:59:59.999Z")));
    assert!(h.is_open(utc("2026-07-15T14:00:00Z")), "08:00 MDT");
    assert!(h.is_open(utc("2026-07-15T22:59:59.999Z")));
    assert!(!h.is_open(utc("2026-07-15T23:00:00Z")), "17:00 MDT");
}

#[test]
fn the_weekend_is_closed() {
    let h = weekdays();
    for at in [
        "2026-01-17T18:00:00Z", // Saturday 11:00
        "2026-01-18T18:00:00Z", // Sunday 11:00
        "2026-01-17T00:30:00Z", // Friday 17:30: after hours
    ] {
        assert!(!h.is_open(utc(at)), "{at}");
    }
    assert!(h.is_open(utc("2026-01-16T23:30:00Z")), "Friday 16:30");
}

#[test]
fn a_holiday_is_closed_all_day_on_the_city_calendar() {
    let h = hours("Mon-Fri 08:00-17:00", &["2026-01-19"]);
    assert!(
        !h.is_open(utc("2026-01-19T18:00:00Z")),
        "Monday 11:00, MLK day"
    );
    assert!(h.is_open(utc("2026-01-20T18:00:00Z")), "Tuesday 11:00");
    // Around the clock but Christmas: the holiday is the local date, not the UTC one.
    let h = hours("Mon-Sun 00:00-24:00", &["2026-12-25"]);
    assert!(
        h.is_open(utc("2026-12-25T06:59:59.999Z")),
        "24 Dec 23:59 MST"
    );
    assert!(!h.is_open(utc("2026-12-25T07:00:00Z")), "25 Dec 00:00 MST");
    assert!(
        !h.is_open(utc("2026-12-26T06:59:59.999Z")),
        "25 Dec 23:59 MST"
    );
    assert!(h.is_open(utc("2026-12-26T07:00:00Z")), "26 Dec 00:00 MST");
}

#[test]
fn spring_forward_the_hour_after_the_gap_is_daylight_time() {
    // Sunday 8 March 2026: at 02:00 MST (09:00Z) the clocks jump to 03:00 MDT.
    let h = hours("Sun 03:00-05:00; Mon-Fri 08:00-17:00", &[]);
    assert!(!h.is_open(utc("2026-03-08T08:59:59.999Z")), "01:59:59 MST");
    assert!(h.is_open(utc("2026-03-08T09:00:00Z")), "03:00 MDT");
    assert!(h.is_open(utc("2026-03-08T10:59:59.999Z")), "04:59:59 MDT");
    assert!(!h.is_open(utc("2026-03-08T11:00:00Z")), "05:00 MDT");
    // The Friday before opens at 15:00Z, the Monday after at 14:00Z.
    assert!(!h.is_open(utc("2026-03-06T14:30:00Z")), "Friday 07:30 MST");
    assert!(h.is_open(utc("2026-03-06T15:00:00Z")));
    assert!(
        !h.is_open(utc("2026-03-09T13:59:59.999Z")),
        "Monday 07:59 MDT"
    );
    assert!(h.is_open(utc("2026-03-09T14:00:00Z")), "Monday 08:00 MDT");
    assert_eq!(
        h.next_opening(utc("2026-03-07T12:00:00Z")),
        Some(utc("2026-03-08T09:00:00Z"))
    );
    // A period that opens inside the gap opens when the clocks jump.
    let h = hours("Sun 02:30-05:00", &[]);
    assert!(h.is_open(utc("2026-03-08T09:00:00Z")), "03:00 MDT");
    assert_eq!(
        h.next_opening(utc("2026-03-07T12:00:00Z")),
        Some(utc("2026-03-08T09:00:00Z"))
    );
}

#[test]
fn fall_back_the_repeated_hour_is_open_both_times_round() {
    // Sunday 1 November 2026: at 02:00 MDT (08:00Z) the clocks fall back to 01:00 MST.
    let h = hours("Sun 01:00-02:00", &[]);
    assert!(!h.is_open(utc("2026-11-01T06:59:59.999Z")), "00:59:59 MDT");
    assert!(h.is_open(utc("2026-11-01T07:00:00Z")), "01:00 MDT");
    assert!(h.is_open(utc("2026-11-01T07:30:00Z")), "01:30 MDT");
    assert!(
        h.is_open(utc("2026-11-01T08:30:00Z")),
        "01:30 MST, the second time"
    );
    assert!(h.is_open(utc("2026-11-01T08:59:59.999Z")), "01:59:59 MST");
    assert!(!h.is_open(utc("2026-11-01T09:00:00Z")), "02:00 MST");
    // It opens once, the first time round, and not again within the repeated hour.
    assert_eq!(
        h.next_opening(utc("2026-10-31T12:00:00Z")),
        Some(utc("2026-11-01T07:00:00Z"))
    );
    assert_eq!(
        h.next_opening(utc("2026-11-01T07:00:00Z")),
        Some(utc("2026-11-08T08:00:00Z")),
        "the next Sunday, 01:00 MST"
    );
}

#[test]
fn the_next_opening_skips_nights_weekends_holidays_and_lunch() {
    let h = hours("Mon-Fri 08:00-12:00, 13:00-17:00", &["2026-01-19"]);
    // Friday 16 January 17:00 MST: next is Tuesday (Monday is a holiday) at 08:00.
    assert_eq!(
        h.next_opening(utc("2026-01-17T00:00:00Z")),
        Some(utc("2026-01-20T15:00:00Z"))
    );
    // Tuesday at 08:00 sharp, already open: next is after lunch.
    assert_eq!(
        h.next_opening(utc("2026-01-20T15:00:00Z")),
        Some(utc("2026-01-20T20:00:00Z"))
    );
    // Just before opening.
    assert_eq!(
        h.next_opening(utc("2026-01-20T14:59:59.999Z")),
        Some(utc("2026-01-20T15:00:00Z"))
    );
    // Every weekday opening is a holiday for weeks: still found.
    let mondays = ["2026-02-02", "2026-02-09", "2026-02-16", "2026-02-23"];
    let h = hours("Mon 08:00-17:00", &mondays);
    assert_eq!(
        h.next_opening(utc("2026-02-01T12:00:00Z")),
        Some(utc("2026-03-02T15:00:00Z"))
    );
    // Open around the clock: it never opens.
    let h = hours("Mon-Sun 00:00-24:00", &[]);
    assert_eq!(h.next_opening(utc("2026-02-01T12:00:00Z")), None);
}

#[test]
fn zones_are_tz_database_places() {
    assert_eq!(
        CityZone::parse(" america/denver ").unwrap().name(),
        "America/Denver"
    );
    assert_eq!(CityZone::parse("UTC").unwrap().name(), "UTC");
    let hint = "write the tz database name of the city's zone, e.g. America/Denver, \
                America/Chicago, America/New_York or America/Los_Angeles";
    assert_eq!(
        CityZone::parse("America/Denvr").unwrap_err().to_string(),
        format!("'America/Denvr' is not a time zone: {hint}")
    );
    for abbreviation in ["MST", "mst7mdt", "Etc/Unknown"] {
        assert_eq!(
            CityZone::parse(abbreviation).unwrap_err().to_string(),
            format!(
                "'{abbreviation}' is an abbreviation or an offset, not a city's time zone: {hint}"
            )
        );
    }
    assert_eq!(
        CityZone::parse("").unwrap_err().to_string(),
        format!("'' is not a time zone: {hint}")
    );
}

#[test]
fn holidays_are_written_yyyy_mm_dd() {
    assert_eq!(
        Holiday::parse(" 2026-12-25 ").unwrap().to_string(),
        "2026-12-25"
    );
    for bad in [
        "2026-02-30",
        "12/25/2026",
        "2026-1-1",
        "2026-13-01",
        "2026-12-25T00:00",
    ] {
        assert_eq!(
            Holiday::parse(bad).unwrap_err().to_string(),
            format!("'{bad}' is not a date: write YYYY-MM-DD, e.g. 2026-12-25")
        );
    }
}

#[test]
fn an_instant_beyond_the_calendar_is_closed() {
    let h = hours("Mon-Sun 00:00-24:00", &[]);
    assert!(!h.is_open(i64::MAX));
    assert_eq!(h.next_opening(i64::MAX), None);
    assert!(h.is_open(0));
}

#[test]
fn local_days_start_at_local_midnight_and_last_23_or_25_hours_when_clocks_change() {
    let denver = CityZone::parse("America/Denver").unwrap();
    // 2026-03-08: clocks spring forward in Denver; midnight is 07:00Z (MST) that day and
    // 06:00Z (MDT) the next.
    let day = Date::new(2026, 3, 8).unwrap();
    let start = denver.start_of(day).unwrap();
    assert_eq!(start, utc("2026-03-08T07:00:00Z"));
    let next = denver.start_of(day.tomorrow().unwrap()).unwrap();
    assert_eq!(next - start, 23 * 3600 * 1000);
    assert_eq!(denver.date_of(start), Some(day));
    assert_eq!(denver.date_of(start - 1), Some(day.yesterday().unwrap()));
    // After the change, MDT is UTC-6.
    assert_eq!(
        denver.minute_of_day(utc("2026-03-08T15:30:00Z")),
        Some(9 * 60 + 30)
    );
    let z = CityZone::utc();
    assert_eq!(z.name(), "UTC");
    assert_eq!(z.start_of(day), Some(utc("2026-03-08T00:00:00Z")));
}

#[test]
fn a_time_of_day_is_hh_mm_before_midnight() {
    assert_eq!(TimeOfDay::parse(" 07:30 ").unwrap().minute_of_day(), 450);
    assert_eq!(TimeOfDay::parse("7:05").unwrap().to_string(), "07:05");
    assert!(
        TimeOfDay::parse("24:00")
            .unwrap_err()
            .to_string()
            .contains("00:00 to 23:59")
    );
    assert!(TimeOfDay::parse("7am").is_err());
}
