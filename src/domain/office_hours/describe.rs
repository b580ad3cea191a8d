//! The weekly schedule in plain words, for a city that gave `staff.hours` but no
//! `staff.office_hours` text: shown on the kiosk pages, said on the phone and texted, so it is
//! plain ASCII (GSM-7 in a text message: no dashes, no accents) in English and Spanish.
//! `Mon-Fri 08:00-17:00; Sat 09:00-12:00` reads "Monday to Friday, 8 am to 5 pm; Saturday,
//! 9 am to noon" and "lunes a viernes, de 8:00 a 17:00; sabado, de 9:00 a 12:00".

use super::weekly::{Period, WeeklyHours};
use crate::domain::language::Lang;

const EN_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
// Without accents, as the Spanish text messages are written (GSM-7).
const ES_DAYS: [&str; 7] = [
    "lunes",
    "martes",
    "miercoles",
    "jueves",
    "viernes",
    "sabado",
    "domingo",
];

/// Days with the same periods are said together, in the order of the week.
pub(super) fn describe(weekly: &WeeklyHours, lang: Lang) -> String {
    let mut groups: Vec<(Vec<usize>, &[Period])> = Vec::new();
    for (day, periods) in weekly.open_days() {
        match groups.iter_mut().find(|(_, p)| *p == periods) {
            Some((days, _)) => days.push(day),
            None => groups.push((vec![day], periods)),
        }
    }
    let and = match lang {
        Lang::En => " and ",
        Lang::Es => " y ",
    };
    groups
        .iter()
        .map(|(days, periods)| {
            let days = join(&day_runs(days, lang), and);
            let periods: Vec<String> = periods.iter().map(|p| period(*p, lang)).collect();
            format!("{days}, {}", join(&periods, and))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Three days or more in a row are a range ("Monday to Friday"); fewer are named one by one.
fn day_runs(days: &[usize], lang: Lang) -> Vec<String> {
    let (names, to) = match lang {
        Lang::En => (EN_DAYS, " to "),
        Lang::Es => (ES_DAYS, " a "),
    };
    let mut runs: Vec<(usize, usize)> = Vec::new();
    for &d in days {
        match runs.last_mut() {
            Some((_, last)) if *last + 1 == d => *last = d,
            _ => runs.push((d, d)),
        }
    }
    let mut said = Vec::new();
    for (first, last) in runs {
        if last >= first + 2 {
            said.push(format!("{}{to}{}", names[first], names[last]));
        } else {
            said.extend((first..=last).map(|d| names[d].to_string()));
        }
    }
    said
}

/// "a", "a and b", "a, b and c".
fn join(items: &[String], and: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{}{and}{last}", init.join(", ")),
    }
}

fn period(p: Period, lang: Lang) -> String {
    match lang {
        Lang::En => format!("{} to {}", en_time(p.opens), en_time(p.closes)),
        Lang::Es => format!("de {} a {}", es_time(p.opens), es_time(p.closes)),
    }
}

/// "8 am", "8:30 am", "noon", "5 pm", "midnight".
fn en_time(minute_of_day: u16) -> String {
    let (h, m) = (minute_of_day / 60 % 24, minute_of_day % 60);
    match (h, m) {
        (0, 0) => "midnight".into(),
        (12, 0) => "noon".into(),
        _ => {
            let suffix = if h < 12 { "am" } else { "pm" };
            let h12 = if h % 12 == 0 { 12 } else { h % 12 };
            if m == 0 {
                format!("{h12} {suffix}")
            } else {
                format!("{h12}:{m:02} {suffix}")
            }
        }
    }
}

/// "8:00", "17:30", "24:00".
fn es_time(minute_of_day: u16) -> String {
    format!("{}:{:02}", minute_of_day / 60, minute_of_day % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn said(text: &str, lang: Lang) -> String {
        describe(&WeeklyHours::parse(text).unwrap(), lang)
    }

    #[test]
    fn a_working_week_reads_plainly_in_both_languages() {
        let text = "Mon-Fri 08:00-17:00; Sat 09:00-12:00";
        assert_eq!(
            said(text, Lang::En),
            "Monday to Friday, 8 am to 5 pm; Saturday, 9 am to noon"
        );
        assert_eq!(
            said(text, Lang::Es),
            "lunes a viernes, de 8:00 a 17:00; sabado, de 9:00 a 12:00"
        );
    }

    #[test]
    fn days_alike_are_grouped_and_odd_times_are_exact() {
        let text = "Mon,Wed,Fri 07:30-11:45, 12:30-16:00; Tue-Thu 00:00-24:00; Sat 08:00-12:00; \
                    Sun 08:00-12:00";
        // Wednesday is given twice: refused. Without it:
        assert!(WeeklyHours::parse(text).is_err());
        let text = "Mon,Fri 07:30-11:45, 12:30-16:00; Tue-Thu 00:00-24:00; Sat-Sun 08:00-12:00";
        assert_eq!(
            said(text, Lang::En),
            "Monday and Friday, 7:30 am to 11:45 am and 12:30 pm to 4 pm; Tuesday to \
             Thursday, midnight to midnight; Saturday and Sunday, 8 am to noon"
        );
        assert_eq!(
            said(text, Lang::Es),
            "lunes y viernes, de 7:30 a 11:45 y de 12:30 a 16:00; martes a jueves, de 0:00 a \
             24:00; sabado y domingo, de 8:00 a 12:00"
        );
        assert_eq!(
            said("Mon-Tue 08:00-17:00; Thu-Fri 08:00-17:00", Lang::En),
            "Monday, Tuesday, Thursday and Friday, 8 am to 5 pm"
        );
    }

    #[test]
    fn descriptions_fit_a_text_message() {
        let text = "Mon-Fri 08:00-12:00, 13:00-17:00; Sat 09:00-12:00";
        for lang in Lang::ALL {
            let s = said(text, lang);
            assert!(s.is_ascii() && s.len() <= 120, "{s}");
        }
    }
}
