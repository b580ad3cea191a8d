//! How long things last: the lifetimes of a reset link and of a temporary password (top-level
//! keys, at most 24 hours), and the fixed response times that keep refusals alike.

use std::time::Duration;

use super::sources::Layers;

/// The checked durations; `Settings` keeps each as its own field.
pub(super) struct Timing {
    pub reset_link_lifetime: Duration,
    pub temporary_password_lifetime: Duration,
    pub response_floor: Duration,
    pub forgot_deadline: Duration,
}

pub(super) fn read(
    c: &mut Layers<'_>,
    reset_link_minutes: Option<u64>,
    temporary_password_minutes: Option<u64>,
) -> Timing {
    let reset_minutes = reset_link_minutes.unwrap_or(60);
    let temp_minutes = temporary_password_minutes.unwrap_or(10);
    // Checked in this order since the first release; the problems are listed the same way.
    for (key, minutes) in [
        ("temporary_password_minutes", temp_minutes),
        ("reset_link_minutes", reset_minutes),
    ] {
        if !(1..=24 * 60).contains(&minutes) {
            c.problem(
                key,
                format!("{minutes} must be between 1 and 1440 (24 hours)"),
            );
        }
    }
    Timing {
        reset_link_lifetime: Duration::from_secs(reset_minutes.saturating_mul(60)),
        temporary_password_lifetime: Duration::from_secs(temp_minutes.saturating_mul(60)),
        response_floor: Duration::from_millis(400),
        forgot_deadline: Duration::from_millis(800),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::load_toml;
    use std::time::Duration;

    #[test]
    fn lifetimes_are_minutes_up_to_a_day() {
        let s = load_toml(
            "reset_link_minutes = 1440\ntemporary_password_minutes = 1\n",
            &[],
        )
        .unwrap();
        assert_eq!(s.reset_link_lifetime, Duration::from_secs(24 * 60 * 60));
        assert_eq!(s.temporary_password_lifetime, Duration::from_secs(60));
        let errs = load_toml(
            "reset_link_minutes = 0\ntemporary_password_minutes = 1441\n",
            &[],
        )
        .unwrap_err();
        assert_eq!(
            errs.to_string(),
            "configuration problem: temporary_password_minutes: 1441 must be between 1 and 1440 \
             (24 hours)\nconfiguration problem: reset_link_minutes: 0 must be between 1 and 1440 \
             (24 hours)"
        );
    }
}
