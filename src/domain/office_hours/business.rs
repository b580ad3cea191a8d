//! How much of a stretch of time falls inside office hours: the staff queue's SLA counts
//! business hours, not wall-clock hours.

use jiff::Timestamp;

use super::{Holiday, OfficeHours};
use crate::clock::Millis;

/// The longest stretch counted day by day; older tickets are long overdue anyway, and a
/// bound keeps a bad timestamp from looping for ages.
const MAX_DAYS: usize = 800;

impl OfficeHours {
    /// Milliseconds between `from` and `to` that fall inside the weekly schedule, holidays
    /// excluded, on the city's wall clock (a day the clocks change counts its real length).
    /// Zero when `to` is not after `from`.
    pub fn open_ms_between(&self, from: Millis, to: Millis) -> Millis {
        if to <= from {
            return 0;
        }
        let (Ok(start), Ok(_)) = (
            Timestamp::from_millisecond(from),
            Timestamp::from_millisecond(to),
        ) else {
            return 0;
        };
        let mut date = self.zone.tz.to_datetime(start).date();
        let mut total = 0;
        for _ in 0..MAX_DAYS {
            if !self.holidays.contains(&Holiday(date)) {
                for p in self.weekly.on(date.weekday()) {
                    let Some(opens) = self.first_instant_at(date, p.opens) else {
                        continue;
                    };
                    let closes = if p.closes >= 1440 {
                        date.tomorrow()
                            .ok()
                            .and_then(|next| self.first_instant_at(next, 0))
                    } else {
                        self.first_instant_at(date, p.closes)
                    };
                    let Some(closes) = closes else {
                        continue;
                    };
                    let (a, b) = (opens.max(from), closes.min(to));
                    if b > a {
                        total += b - a;
                    }
                }
            }
            let Ok(next) = date.tomorrow() else {
                break;
            };
            match self.first_instant_at(next, 0) {
                Some(midnight) if midnight < to => date = next,
                _ => break,
            }
        }
        total
    }
}
