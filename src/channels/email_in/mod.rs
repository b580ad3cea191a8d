//! Email to the help line: `POST /email/inbound`, one raw RFC 5322 message as the body, for a
//! mail server's pipe (through `curl`) or any provider that can post the raw message; and the
//! providers' own formats, one module each: [`mailgun`], [`sendgrid`], [`postmark`]. Every
//! route ends in [`take`] with the message's bytes (as received, or re-assembled from a
//! provider's parsed fields by [`assemble`]), so a message means the same whichever way it
//! arrived, and `helpline ingest-email` shares it too.
//!
//! In order, for every request of the raw route:
//! 1. the bearer token (`Authorization: Bearer <mail.inbound_token>`), compared in constant
//!    time, before anything else: missing or wrong → 401; no token configured → 503 and a
//!    log line naming `HELPLINE_INBOUND_TOKEN` (inbound email is off until one is set: fail
//!    closed, and the sending side keeps the mail and retries);
//! 2. the size: over [`MAX_EMAIL_BYTES`] → 413, which mail providers and MTAs treat as a
//!    permanent refusal (not retried);
//! 3. the message is read (`domain::email_in`); bytes that are no email → 400;
//! 4. the message's conversation, keyed by its Message-ID (or, without one, the SHA-256 of
//!    the bytes) and opened with one conditional insert: the first request for it acts, a
//!    retry (at once or later, on any instance) does nothing and gets 200. A request whose
//!    work failed marks it so; the next retry takes it up again;
//! 5. the recovery service decides (`Recovery::answer_email`).
//!
//! The provider routes differ in steps 1 and 2 only: their own authentication, and their own
//! "do not retry" status for an oversized message (see each module).
//!
//! The sender's address is kept in the conversation (for a staff answer later); logs get the
//! Message-ID, what the email meant and what was done, never its text or the address.

use std::time::Duration;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Router, body};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::domain::channel::Channel;
use crate::domain::conversation::{Checks, ConversationKey};
use crate::domain::email_in::{self, InboundEmail, Meaning};
use crate::recovery::{EmailOutcome, RecoveryService};
use crate::store::conversations::{NewConversation, Opened};

pub mod assemble;
pub mod form;
pub mod mailgun;
pub mod postmark;
pub mod sendgrid;

/// The largest request a provider route reads: a 10 MB message once more as base64 or JSON
/// text, with its parsed fields beside it. Past that the request is refused unread.
pub const MAX_PROVIDER_BYTES: usize = 32 * 1024 * 1024;

/// The largest message taken: 10 MB, more than most providers pass on.
pub const MAX_EMAIL_BYTES: usize = 10 * 1024 * 1024;

/// How long a Message-ID is remembered: providers and MTAs retry for up to about 5 days.
const EMAIL_MEMORY: Duration = Duration::from_secs(7 * 24 * 3600);

/// The email routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/email/inbound", post(inbound))
        .route("/email/inbound/mailgun", post(mailgun::inbound))
        .route("/email/inbound/sendgrid", post(sendgrid::inbound))
        .route("/email/inbound/postmark", post(postmark::inbound))
}

/// What an email's conversation keeps.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct EmailState {
    /// What was done; `None` while the first request is at work.
    outcome: Option<String>,
    /// The work failed: the next retry takes it up again.
    #[serde(default)]
    failed: bool,
    /// The sender, as read (for a staff answer later).
    #[serde(default)]
    sender: Option<String>,
    /// The provider's own id of the message (Postmark's `MessageID`), when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    provider_id: Option<String>,
}

/// A plain-text answer.
pub(crate) fn answer(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{text}\n"),
    )
        .into_response()
}

/// True when the request carries the configured token; compared as SHA-256 digests in
/// constant time, so neither the token's bytes nor its length show in the timing.
fn token_matches(headers: &HeaderMap, expected: &str) -> bool {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .unwrap_or_default();
    same_secret(given, expected)
}

/// True when `given` is `expected`, compared as SHA-256 digests in constant time; never for
/// an empty `given`.
pub(crate) fn same_secret(given: &str, expected: &str) -> bool {
    let a = Sha256::digest(given.as_bytes());
    let b = Sha256::digest(expected.as_bytes());
    let same = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0;
    same && !given.is_empty()
}

/// True when the request's HTTP basic auth carries `expected` as its password (the user name
/// is not checked: it is whatever the provider's URL says, e.g. `helpline`). SendGrid and
/// Postmark sign nothing for inbound mail; the credentials in the destination URL are what
/// they offer.
pub(crate) fn basic_auth_matches(headers: &HeaderMap, expected: &str) -> bool {
    use base64::Engine as _;
    let password = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Basic ")
                .or_else(|| v.strip_prefix("basic "))
        })
        .and_then(|b64| {
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .ok()
        })
        .and_then(|raw| String::from_utf8(raw).ok())
        .and_then(|pair| pair.split_once(':').map(|(_, p)| p.to_string()))
        .unwrap_or_default();
    same_secret(&password, expected)
}

/// The 401 of a basic-auth provider route.
pub(crate) fn basic_auth_refused(provider: &'static str) -> Response {
    tracing::warn!(
        provider,
        "inbound email refused: missing or wrong basic auth"
    );
    let mut r = answer(
        StatusCode::UNAUTHORIZED,
        "missing or wrong credentials: put https://helpline:<HELPLINE_INBOUND_TOKEN>@… in the \
         provider's URL",
    );
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        axum::http::HeaderValue::from_static("Basic realm=\"helpline\""),
    );
    r
}

/// The configured inbound token; `None` (logged, naming the variable to set) when inbound
/// email is off, which the caller answers with [`inbound_off`].
pub(crate) fn inbound_token(st: &AppState, route: &str) -> Option<String> {
    let token = st.settings.mail.inbound_token.as_ref();
    if token.is_none() {
        tracing::error!(
            route,
            "inbound email refused: no token is configured; set HELPLINE_INBOUND_TOKEN \
             (mail.inbound_token)"
        );
    }
    token.map(|t| t.expose_secret().to_string())
}

/// The 503 of a route whose token is not configured.
pub(crate) fn inbound_off() -> Response {
    answer(
        StatusCode::SERVICE_UNAVAILABLE,
        "inbound email is off: no token is configured",
    )
}

/// Reads a provider's request body, up to [`MAX_PROVIDER_BYTES`] (a declared length over it
/// is refused before reading); `None` when it is larger.
pub(crate) async fn read_body(headers: &HeaderMap, raw: Body) -> Option<body::Bytes> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_PROVIDER_BYTES) {
        return None;
    }
    body::to_bytes(raw, MAX_PROVIDER_BYTES).await.ok()
}

/// A provider's answer to [`take`]'s result; `too_large` is its "do not retry" status.
pub(crate) fn provider_answer(
    provider: &'static str,
    too_large: StatusCode,
    result: Result<String, Refusal>,
) -> Response {
    match result {
        Ok(done) => answer(StatusCode::OK, &done),
        Err(Refusal::TooLarge) => refuse_too_large(provider, too_large),
        Err(Refusal::Unreadable(why)) => {
            tracing::warn!(provider, error = %why, "inbound email refused: unreadable");
            answer(StatusCode::BAD_REQUEST, &why)
        }
        Err(Refusal::Failed) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "the message could not be handled now: try again later",
        ),
    }
}

/// The "too large, do not retry" answer of a provider route.
pub(crate) fn refuse_too_large(provider: &'static str, status: StatusCode) -> Response {
    tracing::warn!(
        provider,
        limit = MAX_EMAIL_BYTES,
        "inbound email refused: too large"
    );
    answer(
        status,
        "the message is larger than 10 MB: refused, do not retry",
    )
}

/// `POST /email/inbound`.
pub async fn inbound(State(st): State<AppState>, headers: HeaderMap, raw: Body) -> Response {
    let Some(expected) = inbound_token(&st, "/email/inbound") else {
        return inbound_off();
    };
    if !token_matches(&headers, &expected) {
        tracing::warn!("inbound email refused: missing or wrong bearer token");
        let mut r = answer(
            StatusCode::UNAUTHORIZED,
            "missing or wrong token: send Authorization: Bearer <mail.inbound_token>",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        return r;
    }
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    let too_large = || {
        tracing::warn!(limit = MAX_EMAIL_BYTES, "inbound email refused: too large");
        answer(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the message is larger than 10 MB: refused, do not retry",
        )
    };
    if declared.is_some_and(|n| n > MAX_EMAIL_BYTES) {
        return too_large();
    }
    let bytes = match body::to_bytes(raw, MAX_EMAIL_BYTES).await {
        Ok(b) => b,
        Err(_) => return too_large(),
    };
    match take(&st.recovery, &bytes).await {
        Ok(done) => answer(StatusCode::OK, &done),
        Err(Refusal::TooLarge) => too_large(),
        Err(Refusal::Unreadable(why)) => {
            tracing::warn!(error = %why, "inbound email refused: unreadable");
            answer(StatusCode::BAD_REQUEST, &why)
        }
        Err(Refusal::Failed) => answer(
            StatusCode::SERVICE_UNAVAILABLE,
            "the message could not be handled now: try again later",
        ),
    }
}

/// Why a message was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Larger than [`MAX_EMAIL_BYTES`]: refused for good.
    TooLarge,
    /// Not an email (or no usable key): refused for good.
    Unreadable(String),
    /// It could not be handled now (logged); the sender should try again later.
    Failed,
}

/// Takes one raw message, once per Message-ID (see the module docs): what the HTTP routes and
/// `helpline ingest-email` share. The answer names what was done.
pub async fn take(recovery: &RecoveryService, bytes: &[u8]) -> Result<String, Refusal> {
    take_with(recovery, bytes, None).await
}

/// [`take`], with the provider's own id of the message (`postmark:…`): the key when the
/// message has no Message-ID (before the digest of its bytes), and remembered with it.
pub async fn take_with(
    recovery: &RecoveryService,
    bytes: &[u8],
    provider_id: Option<&str>,
) -> Result<String, Refusal> {
    if bytes.len() > MAX_EMAIL_BYTES {
        return Err(Refusal::TooLarge);
    }
    let mail = email_in::read(bytes).map_err(|e| Refusal::Unreadable(e.to_string()))?;
    let key_text = match (&mail.message_id, provider_id) {
        (Some(id), _) => id.as_str().to_string(),
        (None, Some(pid)) => pid.to_string(),
        (None, None) => format!("sha256:{}", hex_digest(bytes)),
    };
    let Some(key) = ConversationKey::plain(&key_text) else {
        return Err(Refusal::Unreadable("the Message-ID is not usable".into()));
    };
    match once(recovery, &key, &mail, provider_id).await {
        Ok(done) => Ok(done),
        Err(e) => {
            tracing::error!(message_id = %key_text, error = %e, "an email to the help line could not be handled");
            let _ = recovery
                .conversations()
                .update(Channel::Email, &key, |c| {
                    let mut s: EmailState = serde_json::from_str(&c.state).unwrap_or_default();
                    s.failed = true;
                    c.state = serde_json::to_string(&s).unwrap_or_default();
                })
                .await;
            Err(Refusal::Failed)
        }
    }
}

fn hex_digest(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Why an email could not be handled; the sender's server is asked to retry.
#[derive(Debug, thiserror::Error)]
enum EmailError {
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Conversation(#[from] crate::recovery::ConversationError),
    #[error(transparent)]
    Recovery(#[from] crate::recovery::RecoveryError),
    #[error("the email's stored state is unreadable: {0}")]
    State(#[from] serde_json::Error),
}

/// Handles the email once per key; the answer names what was done.
async fn once(
    recovery: &RecoveryService,
    key: &ConversationKey,
    mail: &InboundEmail,
    provider_id: Option<&str>,
) -> Result<String, EmailError> {
    let at_work = EmailState {
        outcome: None,
        failed: false,
        sender: mail.from.as_ref().map(|f| f.to_string()),
        provider_id: provider_id.map(str::to_string),
    };
    let at_work_text = serde_json::to_string(&at_work)?;
    let opened = recovery
        .conversations()
        .open(
            &NewConversation {
                channel: Channel::Email,
                key,
                contractor_id: None,
                checks: Checks::NONE,
                language: mail.lang,
                state: &at_work_text,
            },
            EMAIL_MEMORY,
        )
        .await?;
    if let Opened::Resumed(seen) = opened {
        // Seen before: take it up again only when the earlier try failed (one retry wins).
        let earlier: EmailState = serde_json::from_str(&seen.state).unwrap_or_default();
        let claimed = earlier.failed
            && recovery
                .conversations()
                .update(Channel::Email, key, |c| {
                    let s: EmailState = serde_json::from_str(&c.state).unwrap_or_default();
                    if s.failed {
                        c.state.clone_from(&at_work_text);
                    }
                    s.failed
                })
                .await?
                .1;
        if !claimed {
            tracing::info!(
                message_id = key.as_str(),
                "an email seen before: nothing done again"
            );
            return Ok("already received".into());
        }
    }
    let outcome = recovery.in_lang(mail.lang).answer_email(mail).await?;
    let what = describe(&mail.meaning, &outcome);
    tracing::info!(
        message_id = key.as_str(),
        sender = %mail.from.as_ref().map_or_else(|| "-".into(), |f| f.masked()),
        meaning = what,
        outcome = outcome.as_str(),
        "email to the help line handled"
    );
    let done = EmailState {
        outcome: Some(what.to_string()),
        ..at_work
    };
    let done_text = serde_json::to_string(&done)?;
    recovery
        .conversations()
        .update(Channel::Email, key, |c| {
            c.state.clone_from(&done_text);
            c.language = mail.lang;
        })
        .await?;
    Ok(format!("received: {what}"))
}

/// What the email meant and got, in a few words (the answer's body and the log line).
fn describe(meaning: &Meaning, outcome: &EmailOutcome) -> &'static str {
    match (meaning, outcome) {
        (Meaning::Bounce { .. }, _) => "bounce, not answered",
        (Meaning::Automatic(_), _) => "automatic message, not answered",
        (_, EmailOutcome::Ignored(_)) => "not answered",
        // The same words whether a link went or not: the answer tells nothing either way.
        (_, EmailOutcome::ResetLinkSent | EmailOutcome::ResetNeutral { .. }) => {
            "reset request, answered"
        }
        (_, EmailOutcome::Ticket { .. } | EmailOutcome::Thread { opened: true, .. }) => {
            "message for staff"
        }
        (_, EmailOutcome::Thread { opened: false, .. }) => "message for staff, joined its ticket",
        (_, EmailOutcome::NotMe { .. }) => "this wasn't me: account frozen",
        (_, EmailOutcome::Bounce { .. }) => "bounce, not answered",
    }
}
