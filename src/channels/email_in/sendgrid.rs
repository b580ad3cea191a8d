//! `POST /email/inbound/sendgrid`: SendGrid's Inbound Parse webhook, always
//! `multipart/form-data`.
//!
//! SendGrid signs nothing for Inbound Parse (its signed webhooks are the event webhooks), so
//! the destination URL carries HTTP basic auth: `https://helpline:<HELPLINE_INBOUND_TOKEN>@…`,
//! the password being the raw route's token (one secret for the inbound routes that have no
//! scheme of their own); missing or wrong → 401. No token configured → 503, off.
//!
//! Two modes, as the Parse setting "POST the raw, full MIME message" says: raw (`email`, the
//! message as received: taken as it is) or parsed (`headers`, the raw header block; `text`,
//! `html`, `from`, `subject`; `charsets`, JSON naming each field's charset; `dkim`, `SPF`).
//! Parsed fields are put back together by [`super::assemble`], the text and HTML labelled with
//! the charsets SendGrid gives (their bytes are in that charset, not always UTF-8).
//!
//! Retries, as researched (SendGrid's "Inbound Email Parse Webhook" page): SendGrid queues and
//! retries a POST answered with a 5xx, for up to 3 days, then drops it silently; a 2xx stops
//! it. Any other status is not retried, so an oversized message gets 413 (says why, and is
//! final), a bad body 400, bad credentials 401; only "could not handle it now" is a 503.

use std::collections::HashMap;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::assemble::{self, Part};
use super::form::Form;
use super::{
    MAX_EMAIL_BYTES, answer, basic_auth_matches, basic_auth_refused, inbound_off, inbound_token,
    provider_answer, refuse_too_large,
};
use crate::app::AppState;

/// SendGrid does not retry a 4xx: 413 is final and says why.
const TOO_LARGE: StatusCode = StatusCode::PAYLOAD_TOO_LARGE;
const PROVIDER: &str = "sendgrid";
/// Fields about the message, not of it (left out of its size).
const NOT_MESSAGE: &[&str] = &[
    "charsets",
    "envelope",
    "dkim",
    "SPF",
    "spam_report",
    "spam_score",
];

/// `POST /email/inbound/sendgrid`.
pub async fn inbound(State(st): State<AppState>, headers: HeaderMap, raw: Body) -> Response {
    let Some(expected) = inbound_token(&st, "/email/inbound/sendgrid") else {
        return inbound_off();
    };
    if !basic_auth_matches(&headers, &expected) {
        return basic_auth_refused(PROVIDER);
    }
    let form = match Form::of_request(PROVIDER, TOO_LARGE, &headers, raw).await {
        Ok(f) => f,
        Err(refused) => return refused,
    };
    match message_of(&form) {
        Ok(message) => provider_answer(
            PROVIDER,
            TOO_LARGE,
            super::take(&st.recovery, &message).await,
        ),
        Err(None) => refuse_too_large(PROVIDER, TOO_LARGE),
        Err(Some(why)) => {
            tracing::warn!(
                provider = PROVIDER,
                error = why,
                "inbound email refused: malformed"
            );
            answer(StatusCode::BAD_REQUEST, why)
        }
    }
}

/// The message's bytes: `email` as sent, or the parsed fields re-assembled. `Err(None)`: too
/// large; `Err(Some(why))`: malformed.
pub fn message_of(form: &Form) -> Result<Vec<u8>, Option<&'static str>> {
    if let Some(raw) = form.bytes("email") {
        if raw.len() > MAX_EMAIL_BYTES {
            return Err(None);
        }
        return Ok(raw.to_vec());
    }
    if form.len_without(NOT_MESSAGE) > MAX_EMAIL_BYTES {
        return Err(None);
    }
    let charsets: HashMap<String, String> = match form.bytes("charsets") {
        Some(json) => serde_json::from_slice(json)
            .map_err(|_| Some("charsets is not a JSON object of field names and charsets"))?,
        None => HashMap::new(),
    };
    let mut headers = form
        .bytes("headers")
        .map(assemble::header_pairs)
        .unwrap_or_default();
    let field = |name: &str| form.text(name).map(|t| t.into_owned());
    assemble::add_missing(
        &mut headers,
        &[
            ("From", field("from")),
            ("To", field("to")),
            ("Subject", field("subject")),
        ],
    );
    if !headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("from")) {
        return Err(Some(
            "neither email (raw mode) nor a sender (headers, from) is in the form",
        ));
    }
    let part = |name: &str| {
        form.bytes(name).map(|bytes| Part {
            bytes,
            charset: charsets.get(name).map_or("utf-8", String::as_str),
        })
    };
    Ok(assemble::message(&headers, part("text"), part("html")))
}
