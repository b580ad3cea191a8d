//! Twilio: text messages out through its REST API. Behind a trait, like email, so the outbox
//! worker does not care whether it talks to Twilio or to a stand-in.

pub mod rest;

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::clock::Millis;
use crate::domain::email::mask_address;
use crate::mail::DeliveryError;

pub use rest::TwilioRest;

/// The longest `ValidityPeriod` Twilio accepts, in seconds (10 hours).
pub const MAX_VALIDITY_SECONDS: u64 = 36_000;

/// One text message to send.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingSms {
    /// The recipient in E.164 form (`+13036582075`).
    pub to: String,
    pub body: String,
    /// How long Twilio may keep trying before it drops the message; set when the message
    /// holds a secret, so a text that arrives late does not carry a dead secret.
    pub validity_seconds: Option<u64>,
}

/// The body may hold a secret and the number is personal: neither is printed.
impl fmt::Debug for OutgoingSms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingSms")
            .field("to", &mask_address(&self.to))
            .field(
                "body",
                &format_args!("({} characters)", self.body.chars().count()),
            )
            .field("validity_seconds", &self.validity_seconds)
            .finish()
    }
}

/// What a send resolves to: the provider's message id (Twilio's `SM…` sid), or why not.
pub type SmsFuture<'a> = Pin<Box<dyn Future<Output = Result<String, DeliveryError>> + Send + 'a>>;

/// Something that sends a text message.
pub trait SmsTransport: Send + Sync + std::fmt::Debug {
    fn send(&self, sms: OutgoingSms) -> SmsFuture<'_>;
}

/// The `ValidityPeriod` for a message whose secret expires at `secret_expires_at`: the whole
/// seconds left at `now`, clamped to what Twilio allows (1 to 36 000).
pub fn validity_seconds(secret_expires_at: Millis, now: Millis) -> u64 {
    let left = secret_expires_at.saturating_sub(now).max(0) / 1000;
    u64::try_from(left)
        .unwrap_or(0)
        .clamp(1, MAX_VALIDITY_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_is_whole_seconds_left_within_twilio_bounds() {
        assert_eq!(validity_seconds(600_000, 240_000), 360);
        assert_eq!(validity_seconds(600_999, 240_000), 360, "rounded down");
        assert_eq!(validity_seconds(1_500, 1_000), 1, "never below 1");
        assert_eq!(validity_seconds(1_000, 2_000), 1, "already past: still 1");
        assert_eq!(validity_seconds(24 * 3_600_000, 0), 36_000, "at most 10 h");
        assert_eq!(validity_seconds(i64::MAX, i64::MIN), 36_000, "no overflow");
    }

    #[test]
    fn debug_hides_the_body_and_the_number() {
        let sms = OutgoingSms {
            to: "+13036582075".into(),
            body: "Your temporary password is Kx7#pq".into(),
            validity_seconds: Some(600),
        };
        let shown = format!("{sms:?}");
        assert!(!shown.contains("Kx7#pq"), "{shown}");
        assert!(!shown.contains("3036582075"), "{shown}");
        assert!(shown.contains("***-***-2075"), "{shown}");
    }
}
