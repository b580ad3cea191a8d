//! `POST /email/inbound/mailgun`: a Mailgun route's `forward()` to this URL.
//!
//! The form (`application/x-www-form-urlencoded`, or `multipart/form-data` when there are
//! attachments or raw MIME) carries `timestamp`, `token` and `signature`:
//! `signature = hex(HMAC-SHA256(signing key, timestamp ‖ token))`, checked with `hmac`'s
//! constant-time `verify_slice` against `mail.mailgun_signing_key`
//! (`HELPLINE_MAILGUN_SIGNING_KEY`; without one the route answers 503, off, as the raw route
//! does without a token). The message is either raw (`body-mime`, when the route's URL ends in
//! `mime`, e.g. `…/email/inbound/mailgun?format=mime`) or parsed (`message-headers` as JSON
//! `[[name, value], …]`, `body-plain`, `body-html`, `from`, `subject`, `Message-Id`), put back
//! together by [`super::assemble`]; both end in [`super::take`].
//!
//! Replays. The signature covers the timestamp and token only, not the body, so a captured
//! request is worth refusing twice over: a timestamp more than [`FRESH`] from the app's clock
//! (either way) is stale, and a token is taken once (its SHA-256 in `mailgun_tokens`, one
//! conditional insert: of concurrent copies exactly one acts).
//!
//! Retries, as researched (Mailgun's "Receiving messages via HTTP" and "Automatic retries"
//! pages): a route POST answered 200 is done; 406 ("Not Acceptable") is rejected for good and
//! never retried; any other status is retried for about 8 hours (10 min, 15 min, 30 min, 1 h,
//! 2 h, 4 h). Mailgun's docs do not say whether a retry is signed anew; integrators' notes
//! (e.g. Hookdeck's Mailgun verification reference, quoted in PostHog's #103057) report that a
//! retry resends the original signature block, and Symfony's and PostHog's parsers answer
//! 406 to a bad or stale signature for that reason. So a retry arrives with the first try's
//! timestamp (stale by then) and token (taken by then). To lose nothing when the first try
//! failed on our side (store down: 503), the token's row is marked `retry`; the resend then
//! passes (same signature, verified again) and takes the row back from `retry` with one
//! conditional update, so one resend acts. Everything refused on the signature (missing,
//! wrong, stale, reused) is 406, because a resend could never pass; an oversized message is
//! 406 too (Mailgun's "do not retry"); a malformed body is 400.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use hmac::{Hmac, KeyInit, Mac};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};

use super::assemble::{self, Part};
use super::form::Form;
use super::{MAX_EMAIL_BYTES, answer, provider_answer, refuse_too_large};
use crate::app::AppState;
use crate::clock::{Millis, duration_ms};
use crate::store::mailgun_tokens;

/// How far a signed timestamp may be from the app's clock, either way.
pub const FRESH: Duration = Duration::from_secs(5 * 60);
/// How long a token is remembered: longer than Mailgun's 8 hours of retries.
const TOKEN_MEMORY: Duration = Duration::from_secs(24 * 3600);
/// Mailgun's "rejected, do not retry".
const REJECT: StatusCode = StatusCode::NOT_ACCEPTABLE;
const PROVIDER: &str = "mailgun";
/// Fields that carry no part of the message (the signature, and Mailgun's quote-stripped
/// copies of the text), left out of its size.
const NOT_MESSAGE: &[&str] = &[
    "timestamp",
    "token",
    "signature",
    "stripped-text",
    "stripped-html",
    "stripped-signature",
];

/// Why a request's signature is refused (the answer's text says which; never a secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("missing signature: send the timestamp, token and signature fields")]
    Missing,
    #[error("the timestamp is not a number of seconds")]
    Timestamp,
    #[error("wrong signature: check HELPLINE_MAILGUN_SIGNING_KEY")]
    Wrong,
}

/// A verified signature: whether its timestamp is fresh, and the token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub fresh: bool,
    pub token_hash: String,
}

/// Checks the form's signature with `key` at `now` (the app's clock).
pub fn verify(form: &Form, key: &[u8], now: Millis) -> Result<Signed, SignatureError> {
    let (Some(ts), Some(token), Some(sig)) = (
        form.text("timestamp"),
        form.text("token"),
        form.text("signature"),
    ) else {
        return Err(SignatureError::Missing);
    };
    let (ts, token, sig) = (ts.trim(), token.trim(), sig.trim());
    if token.is_empty() || token.len() > 512 {
        return Err(SignatureError::Missing);
    }
    let seconds: i64 = ts.parse().map_err(|_| SignatureError::Timestamp)?;
    let claimed = hex::decode(sig).map_err(|_| SignatureError::Wrong)?;
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).map_err(|_| SignatureError::Wrong)?;
    mac.update(ts.as_bytes());
    mac.update(token.as_bytes());
    mac.verify_slice(&claimed)
        .map_err(|_| SignatureError::Wrong)?;
    let at = seconds.saturating_mul(1000);
    Ok(Signed {
        fresh: at.abs_diff(now) <= u64::try_from(duration_ms(FRESH)).unwrap_or(0),
        token_hash: hex::encode(Sha256::digest(token.as_bytes())),
    })
}

fn reject(why: &str) -> Response {
    tracing::warn!(provider = PROVIDER, reason = why, "inbound email refused");
    answer(REJECT, why)
}

/// `POST /email/inbound/mailgun`.
pub async fn inbound(State(st): State<AppState>, headers: HeaderMap, raw: Body) -> Response {
    let Some(key) = st.settings.mail.mailgun_signing_key.as_ref() else {
        tracing::error!(
            "Mailgun email refused: no signing key is configured; set \
             HELPLINE_MAILGUN_SIGNING_KEY (mail.mailgun_signing_key)"
        );
        return answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "Mailgun inbound email is off: no signing key is configured",
        );
    };
    let form = match Form::of_request(PROVIDER, REJECT, &headers, raw).await {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    let now = st.clock.now_ms();
    let signed = match verify(&form, key.expose_secret().as_bytes(), now) {
        Ok(s) => s,
        Err(e) => return reject(&e.to_string()),
    };
    let pool = st.store.pool();
    let taken = if signed.fresh {
        match mailgun_tokens::take(
            pool,
            &signed.token_hash,
            now,
            now + duration_ms(TOKEN_MEMORY),
        )
        .await
        {
            Ok(true) => Ok(true),
            Ok(false) => mailgun_tokens::take_retry(pool, &signed.token_hash, now).await,
            Err(e) => Err(e),
        }
    } else {
        mailgun_tokens::take_retry(pool, &signed.token_hash, now).await
    };
    match taken {
        Ok(true) => {}
        Ok(false) if signed.fresh => return reject("this token was used before: a replay"),
        Ok(false) => return reject("stale timestamp: more than 5 minutes from our clock"),
        Err(e) => {
            tracing::error!(provider = PROVIDER, error = %e, "the Mailgun token could not be checked");
            return answer(
                StatusCode::SERVICE_UNAVAILABLE,
                "the message could not be handled now: try again later",
            );
        }
    }
    let message = match message_of(&form) {
        Ok(m) => m,
        Err(Unfit::TooLarge) => return refuse_too_large(PROVIDER, REJECT),
        Err(Unfit::Malformed(why)) => {
            tracing::warn!(
                provider = PROVIDER,
                error = why,
                "inbound email refused: malformed"
            );
            return answer(StatusCode::BAD_REQUEST, why);
        }
    };
    let result = super::take(&st.recovery, &message).await;
    if matches!(result, Err(super::Refusal::Failed))
        && let Err(e) = mailgun_tokens::allow_retry(pool, &signed.token_hash).await
    {
        tracing::error!(provider = PROVIDER, error = %e, "a failed Mailgun message's retry could not be allowed");
    }
    provider_answer(PROVIDER, REJECT, result)
}

/// Why the form holds no message to take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unfit {
    TooLarge,
    Malformed(&'static str),
}

/// The message's bytes: `body-mime` as sent, or the parsed fields re-assembled.
pub fn message_of(form: &Form) -> Result<Vec<u8>, Unfit> {
    if let Some(mime) = form.bytes("body-mime") {
        if mime.len() > MAX_EMAIL_BYTES {
            return Err(Unfit::TooLarge);
        }
        return Ok(mime.to_vec());
    }
    if form.len_without(NOT_MESSAGE) > MAX_EMAIL_BYTES {
        return Err(Unfit::TooLarge);
    }
    let mut headers: Vec<(String, String)> = match form.bytes("message-headers") {
        Some(json) => serde_json::from_slice(json).map_err(|_| {
            Unfit::Malformed("message-headers is not a JSON list of [name, value] pairs")
        })?,
        None => Vec::new(),
    };
    let field = |name: &str| form.text(name).map(|t| t.into_owned());
    assemble::add_missing(
        &mut headers,
        &[
            ("From", field("from").or_else(|| field("sender"))),
            ("To", field("recipient")),
            ("Subject", field("subject")),
            ("Message-Id", field("Message-Id")),
            ("In-Reply-To", field("In-Reply-To")),
            ("References", field("References")),
        ],
    );
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("from")) {
        return Err(Unfit::Malformed(
            "neither body-mime nor a sender (from, message-headers) is in the form",
        ));
    }
    let utf8 = |name: &str| {
        form.bytes(name).map(|bytes| Part {
            bytes,
            charset: "utf-8",
        })
    };
    Ok(assemble::message(
        &headers,
        utf8("body-plain"),
        utf8("body-html"),
    ))
}
