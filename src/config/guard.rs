//! Limits on guessing: the per-account waits (Keycloak-style, shared by every channel and
//! instance), the per-source flood filter and the per-number limit on texts in. File only;
//! no variables.

use std::time::Duration;

use serde::Deserialize;

use super::sources::Layers;

/// Per-account waits (Keycloak-style) and the per-source flood filter.
#[derive(Debug, Clone)]
pub struct GuardSettings {
    /// Failures allowed before the first wait.
    pub failures_before_wait: u32,
    /// Each further block of failures adds this much wait.
    pub wait_increment: Duration,
    pub max_wait: Duration,
    /// Two failures closer than this force at least `min_quick_wait`.
    pub quick_failure: Duration,
    pub min_quick_wait: Duration,
    /// The counter starts again this long after the last failure.
    pub reset_after: Duration,
    /// Requests per minute allowed from one source (IP, calling number, sender address).
    pub per_source_per_minute: u32,
    pub per_source_burst: u32,
    /// Texts to the help line answered per hour from one number, after a burst of
    /// `texts_per_number_burst`; past that a text is not answered at all.
    pub texts_per_number_per_hour: u32,
    pub texts_per_number_burst: u32,
}

impl Default for GuardSettings {
    fn default() -> Self {
        Self {
            failures_before_wait: 3,
            wait_increment: Duration::from_secs(60),
            max_wait: Duration::from_secs(15 * 60),
            quick_failure: Duration::from_secs(1),
            min_quick_wait: Duration::from_secs(60),
            reset_after: Duration::from_secs(12 * 60 * 60),
            per_source_per_minute: 30,
            per_source_burst: 10,
            texts_per_number_per_hour: 20,
            texts_per_number_burst: 5,
        }
    }
}

/// `[guard]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGuard {
    failures_before_wait: Option<u32>,
    wait_increment_seconds: Option<u64>,
    max_wait_seconds: Option<u64>,
    quick_failure_ms: Option<u64>,
    min_quick_wait_seconds: Option<u64>,
    reset_after_seconds: Option<u64>,
    per_source_per_minute: Option<u32>,
    per_source_burst: Option<u32>,
    texts_per_number_per_hour: Option<u32>,
    texts_per_number_burst: Option<u32>,
}

pub(super) fn read(c: &mut Layers<'_>, g: RawGuard) -> GuardSettings {
    let d = GuardSettings::default();
    let secs = |v: Option<u64>, default| v.map_or(default, Duration::from_secs);
    let guard = GuardSettings {
        failures_before_wait: g.failures_before_wait.unwrap_or(d.failures_before_wait),
        wait_increment: secs(g.wait_increment_seconds, d.wait_increment),
        max_wait: secs(g.max_wait_seconds, d.max_wait),
        quick_failure: g
            .quick_failure_ms
            .map_or(d.quick_failure, Duration::from_millis),
        min_quick_wait: secs(g.min_quick_wait_seconds, d.min_quick_wait),
        reset_after: secs(g.reset_after_seconds, d.reset_after),
        per_source_per_minute: g.per_source_per_minute.unwrap_or(d.per_source_per_minute),
        per_source_burst: g.per_source_burst.unwrap_or(d.per_source_burst),
        texts_per_number_per_hour: g
            .texts_per_number_per_hour
            .unwrap_or(d.texts_per_number_per_hour),
        texts_per_number_burst: g.texts_per_number_burst.unwrap_or(d.texts_per_number_burst),
    };
    if guard.failures_before_wait == 0 {
        c.problem("guard.failures_before_wait", "must be at least 1");
    }
    if guard.per_source_per_minute == 0 || guard.per_source_burst == 0 {
        c.problem(
            "guard.per_source_per_minute",
            "the per-source rate and burst must be at least 1",
        );
    }
    if guard.texts_per_number_per_hour == 0 || guard.texts_per_number_burst == 0 {
        c.problem(
            "guard.texts_per_number_per_hour",
            "the per-number rate and burst of texts must be at least 1",
        );
    }
    guard
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_toml;
    use std::time::Duration;

    #[test]
    fn units_follow_the_key_names_and_zero_is_refused() {
        let s = load_toml(
            "[guard]\nmax_wait_seconds = 5\nquick_failure_ms = 250\nper_source_burst = 2\n\
             texts_per_number_burst = 3\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.guard.max_wait, Duration::from_secs(5));
        assert_eq!(s.guard.quick_failure, Duration::from_millis(250));
        assert_eq!(s.guard.per_source_burst, 2);
        assert_eq!(s.guard.texts_per_number_burst, 3);
        assert_eq!(s.guard.texts_per_number_per_hour, 20);
        assert_eq!(s.guard.failures_before_wait, 3);
        let errs = load_toml(
            "[guard]\nfailures_before_wait = 0\nper_source_burst = 0\ntexts_per_number_per_hour = 0\n",
            &[],
        )
        .unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "guard.failures_before_wait",
                "guard.per_source_per_minute",
                "guard.texts_per_number_per_hour"
            ]
        );
    }
}
