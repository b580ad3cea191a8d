//! The figures the city watches, for the staff dashboard and the daily digest: help
//! conversations per day by channel, the share settled without staff, the queue now by age,
//! and the median time to resolve. Days are the city's calendar days (`staff.time_zone`, else
//! UTC), cut into instants here, in Rust, so SQLite and PostgreSQL count the same rows.

use jiff::civil::Date;

use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::domain::office_hours::CityZone;
use crate::store::figures::{self, ChannelCount, OpenTicket};

/// How many days the dashboard shows.
pub const DAYS: usize = 14;
/// The window of the median time to resolve.
pub const RESOLVE_WINDOW_MS: Millis = 30 * DAY_MS;
/// A ticket open longer than this is overdue (the digest's count).
pub const OVERDUE_HOURS: i64 = 24;

const HOUR_MS: Millis = 3600 * 1000;
const DAY_MS: Millis = 24 * HOUR_MS;

/// The channels a contractor reaches the help line on, in the dashboard's order, with the
/// words of the chart's legend: every channel that starts conversations.
pub const HELP_CHANNELS: [(Channel, &str); 4] = [
    (Channel::Voice, "Calls"),
    (Channel::Sms, "Texts"),
    (Channel::Email, "Emails"),
    (Channel::Kiosk, "Kiosk visits"),
];

/// The definition printed with the share settled without staff.
pub const HANDLED_DEFINITION: &str = "Settled without staff, per day: of the help \
    conversations started that day (calls, texts, emails and kiosk visits), the share not \
    matched by a ticket opened that day (tickets of every reason, from the phone, texts, email, \
    the kiosk or the portal). That is (conversations − tickets) ÷ conversations, never below \
    0 %, rounded to the nearest whole percent. A day without conversations has no share.";

/// One calendar day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Day {
    pub date: Date,
    /// Conversations started, in the order of [`HELP_CHANNELS`].
    pub started: [i64; 4],
    /// Tickets opened from a contractor's channel.
    pub tickets: i64,
}

impl Day {
    pub fn conversations(&self) -> i64 {
        self.started.iter().sum()
    }

    /// The share settled without staff, in whole percent ([`HANDLED_DEFINITION`]); `None`
    /// on a day without conversations.
    pub fn handled_percent(&self) -> Option<u64> {
        handled_percent(self.conversations(), self.tickets)
    }
}

/// `(conversations − tickets) ÷ conversations` in whole percent, rounded half up, never below
/// 0; `None` without conversations.
pub fn handled_percent(conversations: i64, tickets: i64) -> Option<u64> {
    if conversations <= 0 {
        return None;
    }
    let handled = (conversations - tickets.max(0)).max(0);
    u64::try_from((handled * 100 * 2 + conversations) / (conversations * 2)).ok()
}

/// Age buckets of open tickets: (label, upper bound in hours, exclusive; `None`: no bound).
pub const AGE_BUCKETS: [(&str, Option<i64>); 5] = [
    ("Under 1 hour", Some(1)),
    ("1 to 4 hours", Some(4)),
    ("4 to 24 hours", Some(24)),
    ("1 to 3 days", Some(72)),
    ("Over 3 days", None),
];

/// The queue now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Queue {
    pub open: i64,
    pub urgent: i64,
    /// Open tickets per [`AGE_BUCKETS`] entry.
    pub by_age: [i64; 5],
    /// When the oldest open ticket was opened.
    pub oldest: Option<Millis>,
    /// Open longer than [`OVERDUE_HOURS`].
    pub overdue: i64,
}

impl Queue {
    pub fn of(open: &[OpenTicket], now: Millis) -> Queue {
        let mut by_age = [0i64; 5];
        for t in open {
            let age = (now - t.created_at).max(0);
            let slot = AGE_BUCKETS
                .iter()
                .position(|(_, limit)| limit.is_none_or(|h| age < h * HOUR_MS))
                .unwrap_or(AGE_BUCKETS.len() - 1);
            by_age[slot] += 1;
        }
        Queue {
            open: i64::try_from(open.len()).unwrap_or(i64::MAX),
            urgent: i64::try_from(open.iter().filter(|t| t.urgent).count()).unwrap_or(0),
            by_age,
            oldest: open.iter().map(|t| t.created_at).min(),
            overdue: i64::try_from(
                open.iter()
                    .filter(|t| now - t.created_at > OVERDUE_HOURS * HOUR_MS)
                    .count(),
            )
            .unwrap_or(0),
        }
    }
}

/// The median of `values` (the mean of the two middle ones, rounded down, for an even
/// count); `None` for none.
pub fn median(values: &[Millis]) -> Option<Millis> {
    let mut v = values.to_vec();
    v.sort_unstable();
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some(v[n / 2 - 1] + (v[n / 2] - v[n / 2 - 1]) / 2),
    }
}

/// Everything the dashboard shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dashboard {
    /// The zone the days are read in (`UTC`, `America/Denver`).
    pub zone: String,
    /// The last [`DAYS`] days, today last.
    pub days: Vec<Day>,
    pub queue: Queue,
    /// Tickets resolved in the last 30 days, and the median time they took.
    pub resolved: usize,
    pub median_resolve: Option<Millis>,
}

impl Dashboard {
    /// True when nothing has happened yet: no conversation in the window, no ticket open and
    /// none resolved.
    pub fn is_empty(&self) -> bool {
        self.days
            .iter()
            .all(|d| d.conversations() == 0 && d.tickets == 0)
            && self.queue.open == 0
            && self.resolved == 0
    }
}

/// The instants `[from, to)` of `date` on the city's calendar.
pub fn day_range(zone: &CityZone, date: Date) -> Option<(Millis, Millis)> {
    Some((zone.start_of(date)?, zone.start_of(date.tomorrow().ok()?)?))
}

fn count_of(counts: &[ChannelCount], channel: Channel) -> i64 {
    counts
        .iter()
        .filter(|c| c.channel == channel.as_str())
        .map(|c| c.n)
        .sum()
}

/// Tickets from a contractor's channel (not staff's own, nor the command line's).
fn contractor_tickets(counts: &[ChannelCount]) -> i64 {
    counts
        .iter()
        .filter(|c| c.channel != Channel::Staff.as_str() && c.channel != Channel::Cli.as_str())
        .map(|c| c.n)
        .sum()
}

/// One day's conversations and tickets.
pub async fn day(pool: &sqlx::AnyPool, zone: &CityZone, date: Date) -> Result<Day, sqlx::Error> {
    let Some((from, to)) = day_range(zone, date) else {
        return Ok(Day {
            date,
            started: [0; 4],
            tickets: 0,
        });
    };
    let started = figures::conversations_started(pool, from, to).await?;
    let tickets = figures::tickets_opened(pool, from, to).await?;
    Ok(Day {
        date,
        started: HELP_CHANNELS.map(|(c, _)| count_of(&started, c)),
        tickets: contractor_tickets(&tickets),
    })
}

/// The dashboard's figures at `now`.
pub async fn dashboard(
    pool: &sqlx::AnyPool,
    zone: &CityZone,
    now: Millis,
) -> Result<Dashboard, sqlx::Error> {
    let mut days = Vec::with_capacity(DAYS);
    if let Some(today) = zone.date_of(now) {
        let mut date = today;
        let mut dates = vec![today];
        for _ in 1..DAYS {
            match date.yesterday() {
                Ok(d) => {
                    date = d;
                    dates.push(d);
                }
                Err(_) => break,
            }
        }
        for d in dates.into_iter().rev() {
            days.push(day(pool, zone, d).await?);
        }
    }
    let queue = Queue::of(&figures::open_tickets(pool).await?, now);
    let times = figures::resolve_times(pool, now - RESOLVE_WINDOW_MS, now + 1).await?;
    Ok(Dashboard {
        zone: zone.name().to_string(),
        days,
        queue,
        resolved: times.len(),
        median_resolve: median(&times),
    })
}

/// A duration in words for staff: `3 d 4 h`, `2 h 5 min`, `7 min`.
pub fn duration_words(ms: Millis) -> String {
    let minutes = ms.max(0) / 60_000;
    let (days, hours, mins) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{mins} min"),
        (0, h) => format!("{h} h {mins} min"),
        (d, h) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_settled_without_staff_never_divides_by_zero_or_goes_below_zero() {
        assert_eq!(handled_percent(0, 0), None);
        assert_eq!(handled_percent(0, 3), None);
        assert_eq!(handled_percent(4, 1), Some(75));
        assert_eq!(handled_percent(3, 1), Some(67), "66.7 rounds to 67");
        assert_eq!(handled_percent(8, 1), Some(88), "87.5 rounds half up");
        assert_eq!(handled_percent(2, 5), Some(0));
        assert_eq!(handled_percent(5, 0), Some(100));
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[5]), Some(5));
        assert_eq!(median(&[9, 1, 5]), Some(5));
        assert_eq!(median(&[4, 1, 10, 2]), Some(3));
    }

    #[test]
    fn open_tickets_fall_in_age_buckets_at_their_bounds() {
        let now = 1_000 * DAY_MS;
        let t = |age: Millis, urgent| OpenTicket {
            created_at: now - age,
            urgent,
        };
        let open = [
            t(0, true),
            t(HOUR_MS - 1, false),
            t(HOUR_MS, false),
            t(24 * HOUR_MS, true),
            t(24 * HOUR_MS + 1, false),
            t(72 * HOUR_MS, false),
        ];
        let q = Queue::of(&open, now);
        assert_eq!(q.by_age, [2, 1, 0, 2, 1]);
        assert_eq!((q.open, q.urgent, q.overdue), (6, 2, 2));
        assert_eq!(q.oldest, Some(now - 72 * HOUR_MS));
        let none = Queue::of(&[], now);
        assert_eq!((none.open, none.oldest, none.by_age), (0, None, [0; 5]));
    }

    #[test]
    fn durations_in_words() {
        assert_eq!(duration_words(7 * 60_000), "7 min");
        assert_eq!(duration_words(2 * HOUR_MS + 5 * 60_000), "2 h 5 min");
        assert_eq!(duration_words(3 * DAY_MS + 4 * HOUR_MS), "3 d 4 h");
        assert_eq!(duration_words(-5), "0 min");
    }
}
