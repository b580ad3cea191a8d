//! `POST /email/inbound/postmark`: Postmark's inbound webhook, one JSON document.
//!
//! Postmark signs nothing either: the webhook URL carries HTTP basic auth,
//! `https://helpline:<HELPLINE_INBOUND_TOKEN>@…` (as for SendGrid); missing or wrong → 401.
//! No token configured → 503, off.
//!
//! The message is `RawEmail` when the server's "Include raw email content" is on (taken as
//! it is), else re-assembled by [`super::assemble`] from `Headers` (`[{Name, Value}]`, which
//! holds the Message-ID, In-Reply-To, Auto-Submitted… of the original), `FromFull`, `To`,
//! `Subject`, `Date`, `TextBody` and `HtmlBody` (attachments are left out). Postmark's own
//! `MessageID` is the message's key when it has no Message-ID header, and is remembered with
//! it either way.
//!
//! Retries, as researched (Postmark's "Understanding inbound webhook retries"): anything but
//! 200 is retried 10 times over about 10.5 hours, except 403, which stops retries at once.
//! So an oversized message gets 403; bad credentials get 401 (retried: a fixed password still
//! receives the mail); a malformed document 400; "could not handle it now" 503.

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;

use super::assemble::{self, Part};
use super::{
    MAX_EMAIL_BYTES, answer, basic_auth_matches, basic_auth_refused, inbound_off, inbound_token,
    provider_answer, read_body, refuse_too_large,
};
use crate::app::AppState;
use crate::domain::email_in::MessageId;

/// Postmark's "stop retrying".
const TOO_LARGE: StatusCode = StatusCode::FORBIDDEN;
const PROVIDER: &str = "postmark";

/// The fields of Postmark's inbound JSON that are read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Inbound {
    #[serde(rename = "MessageID")]
    pub message_id: Option<String>,
    pub from: Option<String>,
    pub from_full: Option<Address>,
    pub to: Option<String>,
    pub subject: Option<String>,
    pub date: Option<String>,
    pub text_body: Option<String>,
    pub html_body: Option<String>,
    pub headers: Vec<Header>,
    pub raw_email: Option<String>,
    pub attachments: Vec<Attachment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Address {
    pub email: String,
    pub name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Header {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Attachment {
    pub content_length: u64,
}

/// `POST /email/inbound/postmark`.
pub async fn inbound(State(st): State<AppState>, headers: HeaderMap, raw: Body) -> Response {
    let Some(expected) = inbound_token(&st, "/email/inbound/postmark") else {
        return inbound_off();
    };
    if !basic_auth_matches(&headers, &expected) {
        return basic_auth_refused(PROVIDER);
    }
    let Some(bytes) = read_body(&headers, raw).await else {
        return refuse_too_large(PROVIDER, TOO_LARGE);
    };
    let doc: Inbound = match serde_json::from_slice(&bytes) {
        Ok(d) => d,
        Err(e) => {
            let why = format!("the body is not Postmark's inbound JSON: {e}");
            tracing::warn!(provider = PROVIDER, error = %why, "inbound email refused: malformed");
            return answer(StatusCode::BAD_REQUEST, &why);
        }
    };
    let Some(message) = message_of(&doc) else {
        return refuse_too_large(PROVIDER, TOO_LARGE);
    };
    let provider_id = doc
        .message_id
        .as_deref()
        .and_then(MessageId::parse)
        .map(|id| format!("postmark:{}", id.as_str()));
    let result = super::take_with(&st.recovery, &message, provider_id.as_deref()).await;
    provider_answer(PROVIDER, TOO_LARGE, result)
}

/// The message's bytes (`RawEmail`, or the fields re-assembled); `None` when it is too large.
pub fn message_of(doc: &Inbound) -> Option<Vec<u8>> {
    if let Some(raw) = &doc.raw_email {
        return (raw.len() <= MAX_EMAIL_BYTES).then(|| raw.as_bytes().to_vec());
    }
    let len = |s: &Option<String>| s.as_ref().map_or(0, String::len);
    let size = len(&doc.text_body)
        + len(&doc.html_body)
        + doc
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len())
            .sum::<usize>()
        + doc
            .attachments
            .iter()
            .map(|a| usize::try_from(a.content_length).unwrap_or(usize::MAX))
            .fold(0usize, usize::saturating_add);
    if size > MAX_EMAIL_BYTES {
        return None;
    }
    let mut headers: Vec<(String, String)> = doc
        .headers
        .iter()
        .map(|h| (h.name.clone(), h.value.clone()))
        .collect();
    let from = doc
        .from_full
        .as_ref()
        .filter(|a| !a.email.is_empty())
        .map(|a| {
            let name: String = a
                .name
                .chars()
                .filter(|c| !matches!(c, '"' | '\\'))
                .collect();
            format!("\"{name}\" <{}>", a.email)
        })
        .or_else(|| doc.from.clone());
    assemble::add_missing(
        &mut headers,
        &[
            ("From", from),
            ("To", doc.to.clone()),
            ("Subject", doc.subject.clone()),
            ("Date", doc.date.clone()),
        ],
    );
    fn utf8(s: &Option<String>) -> Option<Part<'_>> {
        s.as_ref().map(|t| Part {
            bytes: t.as_bytes(),
            charset: "utf-8",
        })
    }
    Some(assemble::message(
        &headers,
        utf8(&doc.text_body),
        utf8(&doc.html_body),
    ))
}
