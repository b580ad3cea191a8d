//! Delivery of queued messages: tries, leases, backoff and polling of the outbox worker. File
//! only; no variables.

use std::time::Duration;

use serde::Deserialize;

use super::sources::Layers;

/// Delivery of queued messages.
#[derive(Debug, Clone)]
pub struct OutboxSettings {
    /// Tries before a message is dead-lettered.
    pub max_attempts: u32,
    /// How long a worker owns a message it is delivering; after that another may take it.
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// How often an idle worker looks for due messages.
    pub poll: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            lease: Duration::from_secs(120),
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(15 * 60),
            poll: Duration::from_millis(1000),
        }
    }
}

/// `[outbox]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOutbox {
    max_attempts: Option<u32>,
    lease_seconds: Option<u64>,
    backoff_base_seconds: Option<u64>,
    backoff_max_seconds: Option<u64>,
    poll_ms: Option<u64>,
}

pub(super) fn read(c: &mut Layers<'_>, o: RawOutbox) -> OutboxSettings {
    let d = OutboxSettings::default();
    let secs = |v: Option<u64>, default| v.map_or(default, Duration::from_secs);
    let outbox = OutboxSettings {
        max_attempts: o.max_attempts.unwrap_or(d.max_attempts),
        lease: secs(o.lease_seconds, d.lease),
        backoff_base: secs(o.backoff_base_seconds, d.backoff_base),
        backoff_max: secs(o.backoff_max_seconds, d.backoff_max),
        poll: o.poll_ms.map_or(d.poll, Duration::from_millis),
    };
    if outbox.max_attempts == 0 {
        c.problem("outbox.max_attempts", "must be at least 1");
    }
    outbox
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_toml;
    use std::time::Duration;

    #[test]
    fn units_follow_the_key_names_and_at_least_one_try() {
        let s = load_toml("[outbox]\nlease_seconds = 7\npoll_ms = 20\n", &[]).unwrap();
        assert_eq!(s.outbox.lease, Duration::from_secs(7));
        assert_eq!(s.outbox.poll, Duration::from_millis(20));
        assert_eq!(s.outbox.max_attempts, 8);
        let errs = load_toml("[outbox]\nmax_attempts = 0\n", &[]).unwrap_err();
        assert_eq!(errs.0.len(), 1, "{errs}");
        assert_eq!(errs.0[0].key, "outbox.max_attempts");
    }
}
