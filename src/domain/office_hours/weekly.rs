//! The weekly schedule as a city writes it, in one line that fits a TOML string and an
//! environment variable alike: `Mon-Fri 08:00-17:00; Sat 09:00-12:00`. Groups are separated by
//! `;`; each names its days (`Mon`, `Mon-Fri`, `Mon, Wed, Fri`; full names too, any case) and
//! then its periods on a 24-hour clock (`08:00-12:00, 13:00-17:00`) or `closed`. A day not named
//! is closed. A mistake is reported with the piece of text that is wrong and how to write it.

use std::fmt;

use jiff::civil::Weekday;

/// Every day, Monday first: the order of [`WeeklyHours`]' days and of descriptions.
const WEEK: [Weekday; 7] = [
    Weekday::Monday,
    Weekday::Tuesday,
    Weekday::Wednesday,
    Weekday::Thursday,
    Weekday::Friday,
    Weekday::Saturday,
    Weekday::Sunday,
];

const DAY_NAMES: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// What is wrong with a schedule, said to the person who wrote it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HoursError(pub(super) String);

/// One stretch of a day when staff answer, in minutes after local midnight: `opens` is
/// answered, `closes` is not (`17:00` closes at 17:00 sharp). `closes` may be 1440 (24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Period {
    pub opens: u16,
    pub closes: u16,
}

impl Period {
    pub fn contains(self, minute_of_day: u16) -> bool {
        self.opens <= minute_of_day && minute_of_day < self.closes
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |m: u16| format!("{:02}:{:02}", m / 60, m % 60);
        write!(f, "{}-{}", hm(self.opens), hm(self.closes))
    }
}

/// The periods of each day of the week, sorted and not overlapping; at least one day is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeeklyHours {
    days: [Vec<Period>; 7],
}

impl WeeklyHours {
    /// Reads `Mon-Fri 08:00-17:00; Sat 09:00-12:00` (see the module docs).
    pub fn parse(text: &str) -> Result<WeeklyHours, HoursError> {
        let mut days: [Option<Vec<Period>>; 7] = Default::default();
        let groups = text
            .split([';', '\n'])
            .map(str::trim)
            .filter(|g| !g.is_empty());
        for group in groups {
            let (named, periods) = parse_group(group)?;
            for day in named {
                let slot = &mut days[index(day)];
                if slot.is_some() {
                    return Err(HoursError(format!(
                        "{} is given twice: name each day once",
                        short_name(day)
                    )));
                }
                *slot = Some(periods.clone());
            }
        }
        let days = days.map(Option::unwrap_or_default);
        if days.iter().all(Vec::is_empty) {
            return Err(HoursError(format!(
                "'{}' opens on no day: write days and hours, e.g. Mon-Fri 08:00-17:00",
                text.trim()
            )));
        }
        Ok(WeeklyHours { days })
    }

    /// The periods of `day`, earliest first; empty when closed all day.
    pub fn on(&self, day: Weekday) -> &[Period] {
        &self.days[index(day)]
    }

    /// The open days with their periods, Monday first.
    pub(super) fn open_days(&self) -> impl Iterator<Item = (usize, &[Period])> {
        self.days
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.is_empty())
            .map(|(i, p)| (i, p.as_slice()))
    }
}

impl fmt::Display for WeeklyHours {
    /// The compact form it was read from, normalised: `Mon 08:00-17:00; Tue 08:00-17:00; …`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, (i, periods)) in self.open_days().enumerate() {
            if n > 0 {
                f.write_str("; ")?;
            }
            f.write_str(short_name(WEEK[i]))?;
            for (k, p) in periods.iter().enumerate() {
                f.write_str(if k == 0 { " " } else { ", " })?;
                write!(f, "{p}")?;
            }
        }
        Ok(())
    }
}

fn index(day: Weekday) -> usize {
    usize::try_from(day.to_monday_zero_offset()).unwrap_or(0)
}

fn short_name(day: Weekday) -> &'static str {
    ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][index(day)]
}

/// `Mon-Fri 08:00-12:00, 13:00-17:00` or `Sat closed`: the days named and their periods.
fn parse_group(group: &str) -> Result<(Vec<Weekday>, Vec<Period>), HoursError> {
    let lower = group.to_ascii_lowercase();
    let split = match lower.find(|c: char| c.is_ascii_digit()) {
        Some(at) => at,
        None if lower.ends_with("closed") => lower.len() - "closed".len(),
        None => {
            return Err(HoursError(format!(
                "'{group}' gives no hours: write the days then the hours, e.g. Mon-Fri 08:00-17:00 \
                 (or Sat closed)"
            )));
        }
    };
    let (days_text, times_text) = group.split_at(split);
    let days_text = days_text.trim().trim_end_matches(':').trim();
    if days_text.is_empty() {
        return Err(HoursError(format!(
            "'{group}' names no day: start with the days, e.g. Mon-Fri 08:00-17:00"
        )));
    }
    let mut days = Vec::new();
    for part in days_text.split(',').map(str::trim) {
        match split_range(part) {
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let mut d = first;
                days.push(d);
                while d != last {
                    d = d.next();
                    days.push(d);
                }
            }
            None => days.push(day(part)?),
        }
    }
    let periods = if times_text.trim().eq_ignore_ascii_case("closed") {
        Vec::new()
    } else {
        parse_periods(times_text)?
    };
    Ok((days, periods))
}

/// `08:00-12:00, 13:00-17:00`, sorted, each closing after it opens, none overlapping.
fn parse_periods(text: &str) -> Result<Vec<Period>, HoursError> {
    let mut periods = Vec::new();
    for part in text.split(',').map(str::trim) {
        let Some((opens, closes)) = split_range(part) else {
            return Err(HoursError(format!(
                "'{part}' is not a period: write opening-closing, e.g. 08:00-17:00"
            )));
        };
        let (opens, closes) = (minute_of_day(opens)?, minute_of_day(closes)?);
        let period = Period { opens, closes };
        if opens >= 24 * 60 || closes <= opens {
            return Err(HoursError(format!(
                "'{part}' closes before it opens: a period ends on the day it starts (24:00 at \
                 the latest)"
            )));
        }
        periods.push(period);
    }
    periods.sort_unstable();
    if let Some(w) = periods.windows(2).find(|w| w[1].opens < w[0].closes) {
        return Err(HoursError(format!("{} and {} overlap", w[0], w[1])));
    }
    Ok(periods)
}

/// `a-b`, with a hyphen or a dash as people paste them, spaces allowed around it.
fn split_range(text: &str) -> Option<(&str, &str)> {
    let (a, b) = text.split_once(['-', '–', '—'])?;
    Some((a.trim(), b.trim()))
}

/// `Mon`, `monday`, `Tues`, `THU`: three letters or more of an English day name.
fn day(text: &str) -> Result<Weekday, HoursError> {
    let lower = text.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|name| lower.len() >= 3 && name.starts_with(&lower))
        .map(|i| WEEK[i])
        .ok_or_else(|| {
            HoursError(format!(
                "'{text}' is not a day: write Mon, Tue, Wed, Thu, Fri, Sat or Sun"
            ))
        })
}

/// `08:00`, `8:30`, `24:00`: minutes after midnight on a 24-hour clock.
pub(super) fn minute_of_day(text: &str) -> Result<u16, HoursError> {
    let bad = || {
        HoursError(format!(
            "'{text}' is not a time: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30"
        ))
    };
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    let digits = |s: &str, lengths: std::ops::RangeInclusive<usize>| {
        (lengths.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u16>().ok())
            .flatten()
            .ok_or_else(bad)
    };
    let (h, m) = (digits(h, 1..=2)?, digits(m, 2..=2)?);
    if m > 59 || h > 24 || (h == 24 && m > 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(opens: &str, closes: &str) -> Period {
        Period {
            opens: minute_of_day(opens).unwrap(),
            closes: minute_of_day(closes).unwrap(),
        }
    }

    #[test]
    fn weekdays_with_a_range_and_days_not_named_are_closed() {
        let w = WeeklyHours::parse("Mon-Fri 08:00-17:00").unwrap();
        for d in &WEEK[..5] {
            assert_eq!(w.on(*d), [p("08:00", "17:00")]);
        }
        assert!(w.on(Weekday::Saturday).is_empty());
        assert!(w.on(Weekday::Sunday).is_empty());
        assert_eq!(
            w.to_string(),
            "Mon 08:00-17:00; Tue 08:00-17:00; Wed 08:00-17:00; Thu 08:00-17:00; Fri 08:00-17:00"
        );
    }

    #[test]
    fn groups_lists_lunch_breaks_and_forgiving_spelling() {
        let w = WeeklyHours::parse(
            " monday, WED,Friday: 8:00 - 12:00, 13:00-17:00 ;Sat–Sun 9:30-24:00; tues closed; ",
        )
        .unwrap();
        assert_eq!(
            w.on(Weekday::Wednesday),
            [p("08:00", "12:00"), p("13:00", "17:00")]
        );
        assert_eq!(w.on(Weekday::Sunday), [p("09:30", "24:00")]);
        assert!(w.on(Weekday::Tuesday).is_empty());
        assert!(w.on(Weekday::Thursday).is_empty());
        // A range may run over the weekend.
        let w = WeeklyHours::parse("Fri-Mon 10:00-14:00").unwrap();
        assert_eq!(
            w.open_days().map(|(i, _)| i).collect::<Vec<_>>(),
            [0, 4, 5, 6]
        );
    }

    #[test]
    fn each_mistake_names_the_text_and_how_to_write_it() {
        for (text, message) in [
            (
                "Mon-Fri 8am-5pm",
                "'8am' is not a time: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30",
            ),
            (
                "Mon-Fri 8-17",
                "'8' is not a time: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30",
            ),
            (
                "Mon-Fri 08:00-17:60",
                "'17:60' is not a time: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30",
            ),
            (
                "Mon-Fri 08:00-24:30",
                "'24:30' is not a time: write HH:MM on a 24-hour clock, e.g. 08:00 or 17:30",
            ),
            (
                "Mon-Fri 17:00-08:00",
                "'17:00-08:00' closes before it opens: a period ends on the day it starts (24:00 \
                 at the latest)",
            ),
            (
                "Mon-Fri 08:00",
                "'08:00' is not a period: write opening-closing, e.g. 08:00-17:00",
            ),
            (
                "Mnday 08:00-17:00",
                "'Mnday' is not a day: write Mon, Tue, Wed, Thu, Fri, Sat or Sun",
            ),
            (
                "Mo 08:00-17:00",
                "'Mo' is not a day: write Mon, Tue, Wed, Thu, Fri, Sat or Sun",
            ),
            (
                "Mon-Fri 08:00-17:00; Fri 09:00-12:00",
                "Fri is given twice: name each day once",
            ),
            (
                "Mon 08:00-12:00, 11:00-17:00",
                "08:00-12:00 and 11:00-17:00 overlap",
            ),
            (
                "weekdays",
                "'weekdays' gives no hours: write the days then the hours, e.g. Mon-Fri \
                 08:00-17:00 (or Sat closed)",
            ),
            (
                "08:00-17:00",
                "'08:00-17:00' names no day: start with the days, e.g. Mon-Fri 08:00-17:00",
            ),
            (
                "Sat-Sun closed",
                "'Sat-Sun closed' opens on no day: write days and hours, e.g. Mon-Fri 08:00-17:00",
            ),
            (
                "",
                "'' opens on no day: write days and hours, e.g. Mon-Fri 08:00-17:00",
            ),
        ] {
            assert_eq!(
                WeeklyHours::parse(text).unwrap_err().to_string(),
                message,
                "{text}"
            );
        }
    }
}
