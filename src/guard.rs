//! The guard: checked before any expensive work (argon2, writes, sends).
//!
//! Two layers. In front, in-process governor limiters keyed by source (IP, calling number,
//! sender address; and, for texts in, the sending number): flood filters, pruned on a timer so
//! memory stays bounded however many sources appear. Behind it, per-account failure counters in the store, shared by every
//! channel and every instance, with Keycloak-style growing waits: after
//! `failures_before_wait` failures the account waits `wait_increment` times the number of
//! completed blocks of failures, capped at `max_wait`; two failures closer than
//! `quick_failure` force at least `min_quick_wait`; failures during a wait are not counted; the
//! counter starts again `reset_after` the last failure. A locked account is answered with the
//! same words as a wrong answer: the caller's channel decides nothing here.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::clock::{Clock as GovernorClock, DefaultClock};
use governor::middleware::NoOpMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};
use sqlx::AssertSqlSafe;

use crate::clock::{Millis, SharedClock, duration_ms};
use crate::config::GuardSettings;
use crate::domain::keyed::Keys;
use crate::metrics::SharedMetrics;
use crate::store::Store;

/// Where a request comes from, for the flood filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Source {
    Ip(std::net::IpAddr),
    CallingNumber(String),
    SenderAddress(String),
}

impl Source {
    fn key(&self) -> String {
        match self {
            Source::Ip(std::net::IpAddr::V6(ip)) => {
                // One IPv6 client usually holds a whole /64: limit the prefix, not the address.
                let s = ip.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Source::Ip(ip) => format!("ip:{ip}"),
            Source::CallingNumber(n) => format!("tel:{n}"),
            Source::SenderAddress(a) => format!("mail:{}", a.to_ascii_lowercase()),
        }
    }
}

/// The per-source limiter, generic over governor's clock so tests can move time.
pub struct SourceLimiter<C: GovernorClock = DefaultClock> {
    limiter: RateLimiter<String, DefaultKeyedStateStore<String>, C, NoOpMiddleware<C::Instant>>,
}

impl<C: GovernorClock> std::fmt::Debug for SourceLimiter<C> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SourceLimiter")
            .field("keys", &self.limiter.len())
            .finish()
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(per_minute).allow_burst(burst)
}

impl SourceLimiter<DefaultClock> {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        Self {
            limiter: RateLimiter::keyed(quota(per_minute, burst)),
        }
    }

    /// `per_hour` an hour after a burst of `burst` (texts come far slower than requests).
    pub fn per_hour(per_hour: u32, burst: u32) -> Self {
        let per_hour = NonZeroU32::new(per_hour).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_hour(per_hour).allow_burst(burst)),
        }
    }
}

impl<C: GovernorClock> SourceLimiter<C> {
    pub fn with_clock(per_minute: u32, burst: u32, clock: C) -> Self {
        Self {
            limiter: RateLimiter::new(
                quota(per_minute, burst),
                DefaultKeyedStateStore::default(),
                clock,
            ),
        }
    }

    /// True when the source may go on.
    pub fn allow(&self, source: &Source) -> bool {
        self.limiter.check_key(&source.key()).is_ok()
    }

    /// Forgets sources whose allowance has fully refilled: they are indistinguishable from new
    /// ones, so nothing is lost.
    pub fn prune(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }

    /// Sources currently remembered.
    pub fn len(&self) -> usize {
        self.limiter.len()
    }

    pub fn is_empty(&self) -> bool {
        self.limiter.is_empty()
    }
}

/// Which factor a failure counts against. Each factor has its own counter, and a success on
/// one never clears another: knowing a number and the phone on record must not buy more
/// password guesses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Factor {
    /// The password (or a temporary password) at sign-in.
    Password,
    /// A number plus a contact on record (kiosk, registration, phone line).
    Identity,
}

impl Factor {
    fn as_str(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::Identity => "identity",
        }
    }
}

/// The counter of `factor` for a contractor on the roster.
pub fn contractor_subject(factor: Factor, contractor_number: &str) -> String {
    format!("{}:contractor:{contractor_number}", factor.as_str())
}

/// The counter of staff checking a caller's security answer for a contractor: its own, so a
/// wrong answer never costs the password or identity counters and a match never clears them.
pub fn security_check_subject(contractor_number: &str) -> String {
    format!("security_check:contractor:{contractor_number}")
}

/// Clears a counter (and any wait it imposes) in the caller's transaction: staff unlocking an
/// account, audited with it. True when there was one.
pub async fn clear_in(tx: &mut crate::store::Tx, subject: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM attempts WHERE subject = $1")
        .bind(subject)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// The counter of a browser that signed in before (OWASP's device cookie): its own small
/// budget, so strangers' guesses never lock the owner out of their usual browser.
pub fn device_subject(device: &str) -> String {
    format!("device:{device}")
}

/// What the store-backed counter says about an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountState {
    /// Attempts may go on.
    Open,
    /// Waiting until this instant; do no expensive work and answer as for a wrong answer.
    Waiting { until: Millis },
}

/// What recording a failure did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRecord {
    /// False when the failure came during a wait and was not counted.
    pub counted: bool,
    pub failures: i64,
    /// When the account may try again (0 when it need not wait).
    pub locked_until: Millis,
}

#[derive(Debug)]
struct AttemptRow {
    failures: i64,
    last_failure_at: Millis,
    locked_until: Millis,
}

crate::store::from_row!(AttemptRow {
    failures,
    last_failure_at,
    locked_until
});

/// Rate limits and lockouts, shared by every channel.
#[derive(Debug, Clone)]
pub struct Guard {
    store: Store,
    clock: SharedClock,
    settings: GuardSettings,
    limiter: Arc<SourceLimiter>,
    /// Texts to the help line, per sending number (see [`Guard::allow_text`]).
    texts: Arc<SourceLimiter>,
    metrics: SharedMetrics,
    keys: Keys,
}

impl Guard {
    pub fn new(
        store: Store,
        clock: SharedClock,
        settings: GuardSettings,
        metrics: SharedMetrics,
        keys: Keys,
    ) -> Self {
        let limiter = Arc::new(SourceLimiter::new(
            settings.per_source_per_minute,
            settings.per_source_burst,
        ));
        let texts = Arc::new(SourceLimiter::per_hour(
            settings.texts_per_number_per_hour,
            settings.texts_per_number_burst,
        ));
        Self {
            store,
            clock,
            settings,
            limiter,
            texts,
            metrics,
            keys,
        }
    }

    /// The flood filter: false when this source has sent too much too fast.
    pub fn allow_source(&self, source: &Source) -> bool {
        let ok = self.limiter.allow(source);
        if !ok {
            self.metrics.throttled.inc();
        }
        ok
    }

    /// The limit on texts to the help line from one number (`From`, as Twilio gives it):
    /// false when it sent more than `guard.texts_per_number_burst` at once or
    /// `guard.texts_per_number_per_hour` an hour. Each answer is a text Helpline pays for, so
    /// a number over the limit gets none (SMS pumping, or someone flooding a contractor's
    /// phone with replies).
    pub fn allow_text(&self, from: &str) -> bool {
        let ok = self
            .texts
            .allow(&Source::CallingNumber(from.trim().to_string()));
        if !ok {
            self.metrics.texts_throttled.inc();
        }
        ok
    }

    /// Every `every` until the token is cancelled: prunes the flood filter and deletes what
    /// the store no longer needs (expired sessions and conversations, spent or dead links, quiet counters and
    /// budgets), so neither memory nor tables grow with traffic.
    pub fn spawn_pruner(
        &self,
        every: Duration,
        stop: tokio_util::sync::CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let guard = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = tick.tick() => {
                        guard.limiter.prune();
                        guard.texts.prune();
                        if let Err(e) = guard.purge_store().await {
                            tracing::warn!(error = %e, "cannot purge expired rows");
                        }
                    }
                }
            }
        })
    }

    /// Deletes expired sessions and conversations, links dead for a day, counters quiet past `reset_after` and
    /// budgets unused for a day. Returns how many rows went.
    pub async fn purge_store(&self) -> Result<u64, sqlx::Error> {
        let now = self.clock.now_ms();
        let pool = self.store.pool();
        let mut gone = crate::store::sessions::purge_expired(pool, now).await?;
        gone += crate::store::conversations::purge_expired(pool, now).await?;
        gone += crate::store::tokens::purge(pool, now - 24 * 3600 * 1000).await?;
        gone += crate::store::budgets::purge(pool, now).await?;
        let quiet = now - duration_ms(self.settings.reset_after);
        gone +=
            sqlx::query("DELETE FROM attempts WHERE last_failure_at <= $1 AND locked_until <= $2")
                .bind(quiet)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected();
        Ok(gone)
    }

    /// Whether the account (`contractor:…`, `staff:…`) may attempt now.
    pub async fn account_state(&self, subject: &str) -> Result<AccountState, sqlx::Error> {
        let now = self.clock.now_ms();
        let locked: Option<Millis> =
            sqlx::query_scalar("SELECT locked_until FROM attempts WHERE subject = $1")
                .bind(subject)
                .fetch_optional(self.store.pool())
                .await?;
        Ok(match locked {
            Some(until) if until > now => AccountState::Waiting { until },
            _ => AccountState::Open,
        })
    }

    /// The counter of `factor` for something typed that matches no contractor. The typed text
    /// is kept only as a keyed hash: it may be a password typed in the wrong box.
    pub fn unknown_subject(&self, factor: Factor, typed: &str) -> String {
        let normal: String = typed.trim().to_uppercase().chars().take(64).collect();
        let tag = self.keys.identifiers.tag(&[normal.as_bytes()]);
        format!("{}:unknown:{}", factor.as_str(), &tag[..32])
    }

    /// The password counter of a staff login: `staff:ID` for a login in the store, else a
    /// keyed hash of what was typed (it may be a password typed in the wrong box). Its own
    /// counter, apart from every contractor's.
    pub fn staff_subject(&self, login: Option<i64>, typed: &str) -> String {
        match login {
            Some(id) => format!("staff:{id}"),
            None => {
                let normal: String = typed.trim().to_lowercase().chars().take(254).collect();
                let tag = self.keys.identifiers.tag(&[b"staff", normal.as_bytes()]);
                format!("staff:unknown:{}", &tag[..32])
            }
        }
    }

    /// Counts a failed attempt, atomically across instances.
    pub async fn record_failure(&self, subject: &str) -> Result<FailureRecord, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        sqlx::query("INSERT INTO attempts (subject) VALUES ($1) ON CONFLICT (subject) DO NOTHING")
            .bind(subject)
            .execute(&mut *tx)
            .await?;
        // Safe to splice: `for_update` is one of two fixed strings (PostgreSQL's row lock, or
        // nothing on SQLite, whose write transaction already holds the lock).
        let row: AttemptRow = sqlx::query_as(AssertSqlSafe(format!(
            "SELECT failures, last_failure_at, locked_until FROM attempts WHERE subject = $1{}",
            self.store.for_update()
        )))
        .bind(subject)
        .fetch_one(&mut *tx)
        .await?;
        if now < row.locked_until {
            tx.commit().await?;
            return Ok(FailureRecord {
                counted: false,
                failures: row.failures,
                locked_until: row.locked_until,
            });
        }
        let (failures, wait) = next_wait(&self.settings, &row, now);
        let locked_until = if wait > 0 { now + wait } else { 0 };
        sqlx::query(
            "UPDATE attempts SET failures = $2, last_failure_at = $3, locked_until = $4, \
             lockouts = lockouts + $5 WHERE subject = $1",
        )
        .bind(subject)
        .bind(failures)
        .bind(now)
        .bind(locked_until)
        .bind(i64::from(wait > 0))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        if wait > 0 {
            self.metrics.lockouts.inc();
            tracing::info!(
                subject,
                failures,
                wait_ms = wait,
                "account waits after failures"
            );
        }
        Ok(FailureRecord {
            counted: true,
            failures,
            locked_until,
        })
    }

    /// A success clears the account's counter.
    pub async fn record_success(&self, subject: &str) -> Result<(), sqlx::Error> {
        sqlx::query("DELETE FROM attempts WHERE subject = $1")
            .bind(subject)
            .execute(self.store.pool())
            .await?;
        Ok(())
    }
}

/// The Keycloak-style rule: the new failure count and how long to wait (ms, 0 for none).
fn next_wait(s: &GuardSettings, row: &AttemptRow, now: Millis) -> (i64, Millis) {
    let since_last = now - row.last_failure_at;
    let seen_before = row.last_failure_at > 0;
    let failures = if seen_before && since_last > duration_ms(s.reset_after) {
        1
    } else {
        row.failures + 1
    };
    let blocks = failures / i64::from(s.failures_before_wait.max(1));
    let mut wait = duration_ms(s.wait_increment).saturating_mul(blocks);
    if seen_before && since_last < duration_ms(s.quick_failure) {
        wait = wait.max(duration_ms(s.min_quick_wait));
    }
    (failures, wait.min(duration_ms(s.max_wait)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use governor::clock::FakeRelativeClock;

    fn row(failures: i64, last: Millis) -> AttemptRow {
        AttemptRow {
            failures,
            last_failure_at: last,
            locked_until: 0,
        }
    }

    const MIN: i64 = 60_000;

    #[test]
    fn waits_grow_then_cap() {
        let s = GuardSettings::default();
        let t = 100 * MIN;
        assert_eq!(next_wait(&s, &row(0, 0), t), (1, 0));
        assert_eq!(next_wait(&s, &row(1, t - 5_000), t), (2, 0));
        assert_eq!(next_wait(&s, &row(2, t - 5_000), t), (3, MIN));
        assert_eq!(next_wait(&s, &row(5, t - 5_000), t), (6, 2 * MIN));
        assert_eq!(next_wait(&s, &row(44, t - 5_000), t), (45, 15 * MIN));
        assert_eq!(next_wait(&s, &row(300, t - 5_000), t), (301, 15 * MIN));
    }

    #[test]
    fn quick_failures_force_the_minimum_wait() {
        let s = GuardSettings::default();
        let t = 100 * MIN;
        assert_eq!(next_wait(&s, &row(1, t - 999), t), (2, MIN));
        assert_eq!(next_wait(&s, &row(1, t - 1_000), t), (2, 0));
    }

    #[test]
    fn counter_resets_after_twelve_hours() {
        let s = GuardSettings::default();
        let t = 2_000 * MIN;
        assert_eq!(next_wait(&s, &row(8, t - 12 * 60 * MIN - 1), t), (1, 0));
        assert_eq!(next_wait(&s, &row(8, t - 12 * 60 * MIN), t), (9, 3 * MIN));
    }

    #[test]
    fn limiter_refuses_past_the_burst() {
        let clock = FakeRelativeClock::default();
        let l = SourceLimiter::with_clock(60, 3, clock.clone());
        let src = Source::CallingNumber("+13035550100".into());
        assert!(l.allow(&src) && l.allow(&src) && l.allow(&src));
        assert!(!l.allow(&src));
        assert!(l.allow(&Source::CallingNumber("+13035550101".into())));
        clock.advance(Duration::from_secs(1));
        assert!(l.allow(&src));
    }

    #[test]
    fn ipv6_clients_are_limited_per_64_prefix() {
        let clock = FakeRelativeClock::default();
        let l = SourceLimiter::with_clock(60, 2, clock);
        let ip = |s: &str| Source::Ip(s.parse().expect("ip"));
        assert!(l.allow(&ip("2001:db8:1:2::1")));
        assert!(l.allow(&ip("2001:db8:1:2:ffff::9")));
        assert!(
            !l.allow(&ip("2001:db8:1:2:abcd::42")),
            "a new address in the same /64 shares the budget"
        );
        assert!(l.allow(&ip("2001:db8:1:3::1")), "another /64 has its own");
        assert!(l.allow(&ip("192.0.2.1")) && l.allow(&ip("192.0.2.2")));
    }

    #[test]
    fn limiter_memory_stays_bounded_with_many_keys() {
        let clock = FakeRelativeClock::default();
        let l = SourceLimiter::with_clock(30, 10, clock.clone());
        for i in 0..50_000u32 {
            l.allow(&Source::Ip(std::net::IpAddr::from(i.to_be_bytes())));
        }
        assert_eq!(l.len(), 50_000);
        // Still within their refill window: pruning keeps them.
        l.prune();
        assert_eq!(l.len(), 50_000);
        clock.advance(Duration::from_secs(60));
        l.prune();
        assert_eq!(l.len(), 0, "every fully refilled source is forgotten");
    }
}
