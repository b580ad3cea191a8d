//! Twilio: text messages and callback calls out through its REST API. Each behind a trait,
//! like email, so the outbox worker does not care whether it talks to Twilio or to a stand-in.

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

/// What a send resolves to: the provider's id for it (Twilio's `SM…` or `CA…` sid), or why
/// not.
pub type SidFuture<'a> = Pin<Box<dyn Future<Output = Result<String, DeliveryError>> + Send + 'a>>;
/// A text's send.
pub type SmsFuture<'a> = SidFuture<'a>;

/// Something that sends a text message.
pub trait SmsTransport: Send + Sync + std::fmt::Debug {
    fn send(&self, sms: OutgoingSms) -> SmsFuture<'_>;
}

/// How long Twilio lets a callback ring before it gives up (`Timeout`, seconds).
pub const CALL_RING_SECONDS: u32 = 30;
/// The longest a callback may last (`TimeLimit`, seconds): reading a temporary password with
/// repeats takes a minute or two; a call kept open longer is someone running up the bill.
pub const CALL_TIME_LIMIT_SECONDS: u32 = 600;

/// One call to place: Twilio rings `to` and, once answered, fetches the TwiML at `path`.
#[derive(Clone, PartialEq, Eq)]
pub struct OutgoingCall {
    /// The number to ring, in E.164 form.
    pub to: String,
    /// Where the call's TwiML is, under the public URL (`/twilio/voice/callback?c=…`): the
    /// transport joins it to the public URL, so a call can only fetch this server's pages.
    pub path: String,
}

/// The number is personal: it is printed masked.
impl fmt::Debug for OutgoingCall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OutgoingCall")
            .field("to", &mask_address(&self.to))
            .field("path", &self.path)
            .finish()
    }
}

/// Something that places a phone call.
pub trait CallTransport: Send + Sync + std::fmt::Debug {
    fn place(&self, call: OutgoingCall) -> SidFuture<'_>;
}

/// True when `path` may be a callback's TwiML path: absolute under this server (`/…`, not
/// `//host/…`), without a fragment, spaces or control characters.
pub fn is_callback_path(path: &str) -> bool {
    path.starts_with('/')
        && !path.starts_with("//")
        && path.len() <= 512
        && !path
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#' || c == '\\')
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
    fn callback_paths_stay_on_this_server() {
        assert!(is_callback_path("/twilio/voice/callback?c=CA0123"));
        for bad in [
            "",
            "twilio/voice",
            "//evil.example/x",
            "https://evil.example/x",
            "/a b",
            "/a#frag",
            "/a\\b",
            "/a\nb",
        ] {
            assert!(!is_callback_path(bad), "{bad:?}");
        }
        let call = OutgoingCall {
            to: "+13036582075".into(),
            path: "/twilio/voice/callback?c=CA1".into(),
        };
        let shown = format!("{call:?}");
        assert!(
            !shown.contains("3036582075") && shown.contains("2075"),
            "{shown}"
        );
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
