//! The daily caps on texts and calls out, the guard against SMS pumping and toll fraud: at
//! most `twilio.max_per_destination_per_day` to one number and `twilio.max_per_day` in all,
//! texts and calls counted together. The worker counts a message right before handing it to
//! Twilio, in one transaction that marks the message counted and spends both caps (each one
//! conditional UPDATE of a `send_budgets` row), so parallel workers on any number of instances
//! never pass a cap, and a retried message is counted once.

use crate::clock::Millis;
use crate::config::SendCaps;
use crate::domain::secret::token_digest;
use crate::store::Store;
use crate::store::budgets;
use crate::store::outbox::{self as queue, QueuedMessage};

/// The budget row of the overall cap.
const DAY_KEY: &str = "twilio:day";

/// Which cap refused a message: also its `cap` label on `/metrics`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cap {
    /// `twilio.max_per_destination_per_day`.
    Destination,
    /// `twilio.max_per_day`.
    Day,
}

impl Cap {
    pub fn as_str(self) -> &'static str {
        match self {
            Cap::Destination => "destination",
            Cap::Day => "day",
        }
    }
}

/// What counting a message against the caps found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Counted now, or on an earlier try: it may go.
    Within,
    /// A cap is reached: it must not go. Nothing was spent.
    Refused(Cap),
    /// Another worker holds the message now.
    LeaseLost,
}

/// The budget row of one destination: a digest, so the table holds no phone number.
fn destination_key(recipient: &str) -> String {
    format!("twilio:to:{}", &token_digest(recipient)[..32])
}

/// Counts `msg` against the caps, once, in one transaction.
pub async fn count(
    store: &Store,
    caps: SendCaps,
    msg: &QueuedMessage,
    owner: &str,
    now: Millis,
) -> Result<Counted, sqlx::Error> {
    let mut tx = store.begin_write().await?;
    match queue::count_against_caps(&mut tx, msg.id, owner, now).await? {
        None => {
            tx.rollback().await?;
            return Ok(Counted::LeaseLost);
        }
        Some(false) => {
            tx.rollback().await?;
            return Ok(Counted::Within);
        }
        Some(true) => {}
    }
    let key = destination_key(&msg.recipient);
    let to_one = i64::from(caps.per_destination_per_day);
    if !budgets::spend_daily(&mut tx, &key, to_one, now).await? {
        tx.rollback().await?;
        return Ok(Counted::Refused(Cap::Destination));
    }
    if !budgets::spend_daily(&mut tx, DAY_KEY, i64::from(caps.per_day), now).await? {
        tx.rollback().await?;
        return Ok(Counted::Refused(Cap::Day));
    }
    tx.commit().await?;
    Ok(Counted::Within)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn destination_keys_hold_no_digits_of_the_number() {
        let key = destination_key("+13036582075");
        assert!(key.starts_with("twilio:to:"));
        assert!(!key.contains("3036582075"), "{key}");
        assert_ne!(key, destination_key("+13036582076"));
        assert_eq!(key, destination_key("+13036582075"));
    }
}
