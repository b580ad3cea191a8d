//! The daily digest of the queue, emailed to every enabled staff member: open tickets, urgent,
//! the oldest, those open more than a day, and yesterday's opened and resolved. The server
//! sends it once a day at `staff.digest_at` on the city's clock; every instance tries, and the
//! first insert of `digest:YYYY-MM-DD` into `notification_runs` wins, in the same transaction
//! as the emails, so the staff get one set whatever the number of instances or restarts.
//! `helpline staff digest` sends one at once, outside that claim.

use std::sync::Arc;
use std::time::Duration;

use jiff::civil::Date;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::alerts::StaffMail;
use super::figures::{OVERDUE_HOURS, Queue, day_range, duration_words};
use super::hours::StaffHours;
use super::{Result, StaffError};
use crate::clock::{Millis, SharedClock};
use crate::config::Settings;
use crate::domain::email::EmailAddress;
use crate::domain::office_hours::{CityZone, TimeOfDay};
use crate::messages::{QueueDigestFields, queue_digest_email};
use crate::outbox::queue_email;
use crate::store::{Store, Tx, staff};

/// What a run of the digest did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestOutcome {
    /// Queued to this many staff.
    Sent { to: usize },
    /// Another run (this instance's or another's) sent today's already.
    AlreadySent,
}

/// What the digest needs: the store, the clock, where its emails come from, the city's
/// calendar (the office hours in force, whose zone an administrator may change).
#[derive(Debug, Clone)]
pub struct Digest {
    pub store: Store,
    pub clock: SharedClock,
    pub mail: StaffMail,
    pub hours: StaffHours,
    pub settings: Arc<Settings>,
}

/// The name under which the digest of `date` is claimed.
pub fn run_name(date: Date) -> String {
    format!("digest:{date}")
}

impl Digest {
    /// Today's digest unless some run sent it already (claimed across instances).
    pub async fn send_once(&self) -> Result<DigestOutcome> {
        let now = self.clock.now_ms();
        let today = self.today(now)?;
        let fields = self.figures(today, now).await?;
        let mut tx = self.store.begin_write().await?;
        if !crate::store::figures::claim_run(&mut tx, &run_name(today), now).await? {
            tx.rollback().await?;
            return Ok(DigestOutcome::AlreadySent);
        }
        let to = self.queue(&mut tx, &fields, now).await?;
        tx.commit().await?;
        tracing::info!(day = %today, to, "daily digest queued");
        Ok(DigestOutcome::Sent { to })
    }

    /// A digest now, whether or not today's went (`helpline staff digest`); how many staff.
    pub async fn send_now(&self) -> Result<usize> {
        let now = self.clock.now_ms();
        let today = self.today(now)?;
        let fields = self.figures(today, now).await?;
        let mut tx = self.store.begin_write().await?;
        let to = self.queue(&mut tx, &fields, now).await?;
        tx.commit().await?;
        tracing::info!(day = %today, to, "digest queued on request");
        Ok(to)
    }

    fn zone(&self) -> CityZone {
        self.hours.zone(&self.settings)
    }

    fn today(&self, now: Millis) -> Result<Date> {
        self.zone().date_of(now).ok_or_else(|| {
            StaffError::Store(sqlx::Error::Protocol("the clock is out of range".into()))
        })
    }

    async fn figures(&self, today: Date, now: Millis) -> Result<Figures> {
        let pool = self.store.pool();
        let queue = Queue::of(&crate::store::figures::open_tickets(pool).await?, now);
        let yesterday = today.yesterday().unwrap_or(today);
        let (opened, resolved) = match day_range(&self.zone(), yesterday) {
            Some((from, to)) => (
                crate::store::figures::tickets_opened(pool, from, to)
                    .await?
                    .iter()
                    .map(|c| c.n)
                    .sum(),
                crate::store::figures::tickets_resolved(pool, from, to).await?,
            ),
            None => (0, 0),
        };
        Ok(Figures {
            date: today.to_string(),
            yesterday: yesterday.to_string(),
            oldest: queue
                .oldest
                .map_or_else(|| "none".to_string(), |at| duration_words(now - at)),
            queue,
            opened,
            resolved,
        })
    }

    /// Queues the digest to every enabled staff member in `tx`; how many.
    async fn queue(&self, tx: &mut Tx, f: &Figures, now: Millis) -> Result<usize> {
        let queue_link = self.mail.link("/staff");
        let dashboard = self.mail.link("/staff/dashboard");
        let composed = queue_digest_email(&QueueDigestFields {
            date: &f.date,
            yesterday: &f.yesterday,
            open: f.queue.open,
            urgent: f.queue.urgent,
            oldest: &f.oldest,
            overdue: f.queue.overdue,
            overdue_hours: OVERDUE_HOURS,
            opened: f.opened,
            resolved: f.resolved,
            queue: &queue_link,
            dashboard: &dashboard,
        })?;
        let mut sent = 0;
        for member in staff::active(self.store.pool()).await? {
            let Ok(to) = EmailAddress::parse(&member.email) else {
                continue;
            };
            if queue_email(tx, &self.mail.from, &to, composed.clone(), None, None, now)
                .await?
                .is_some()
            {
                sent += 1;
            }
        }
        Ok(sent)
    }

    /// Sends today's digest once `at` has passed on the city's clock, checking every
    /// `every` until `stop`; wakes the outbox worker after a send.
    pub fn spawn(
        self,
        at: TimeOfDay,
        every: Duration,
        wake: Arc<Notify>,
        stop: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut done: Option<Date> = None;
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {}
                }
                let now = self.clock.now_ms();
                let zone = self.zone();
                let (Some(today), Some(minute)) = (zone.date_of(now), zone.minute_of_day(now))
                else {
                    continue;
                };
                if done == Some(today) || minute < at.minute_of_day() {
                    continue;
                }
                match self.send_once().await {
                    Ok(DigestOutcome::Sent { .. }) => {
                        wake.notify_one();
                        done = Some(today);
                    }
                    Ok(DigestOutcome::AlreadySent) => done = Some(today),
                    Err(e) => tracing::warn!(error = %e, "cannot send the daily digest"),
                }
            }
        })
    }
}

/// The digest's figures, worded.
struct Figures {
    date: String,
    yesterday: String,
    queue: Queue,
    oldest: String,
    opened: i64,
    resolved: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_day() {
        assert_eq!(
            run_name(Date::new(2026, 12, 3).unwrap()),
            "digest:2026-12-03"
        );
    }
}
