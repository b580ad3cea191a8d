//! Twilio's webhooks coming in (the phone line and text messages): the plumbing every Twilio
//! route shares. Outgoing calls and texts (Twilio's REST API) are `crate::twilio`.
//!
//! - [`signature`]: `X-Twilio-Signature`, computed and checked as Twilio's libraries do,
//!   port quirk included. Pure; also what `simulate call` signs with.
//! - [`extract`]: [`TwilioForm<T>`], the extractor that refuses anything Twilio did not sign
//!   for this server before any other work, then reads the form into `T`.
//! - [`twiml`]: [`VoiceResponse`] and [`MessagingResponse`], typed TwiML with every value
//!   escaped, served as `text/xml`.
//! - [`status`]: the status callbacks of texts and calls (`/twilio/sms/status`,
//!   `/twilio/voice/status`).
//!
//! A handler for a Twilio route looks like
//! `async fn step(State(st): State<AppState>, TwilioForm(form): TwilioForm<Step>) -> VoiceResponse`.

pub mod extract;
pub mod signature;
pub mod status;
pub mod twiml;

use axum::Router;
use axum::routing::post;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::language::Lang;

pub use extract::{
    MAX_WEBHOOK_BYTES, TwilioForm, VerifiedWebhook, WebhookRefusal, verify_webhook, webhook_url,
};
pub use signature::SIGNATURE_HEADER;
pub use twiml::{Dial, Gather, GatherInput, MessagingResponse, Record, Say, VoiceResponse};

/// Twilio's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/voice", post(voice_placeholder))
        .route("/twilio/voice/status", post(status::voice_status))
        .route("/twilio/sms/status", post(status::sms_status))
}

/// The one field the placeholder reads.
#[derive(Debug, Deserialize)]
struct IncomingCall {
    #[serde(rename = "CallSid")]
    call_sid: String,
}

/// PLACEHOLDER for `POST /twilio/voice` until the voice flow replaces it: proves the route is
/// signed and answers TwiML, and says nothing else.
async fn voice_placeholder(TwilioForm(call): TwilioForm<IncomingCall>) -> VoiceResponse {
    tracing::info!(call_sid = %call.call_sid, "incoming call (placeholder answer)");
    VoiceResponse::new()
        .say(Say::new(
            Lang::En,
            "The help line is not taking calls yet. Please try again later.",
        ))
        .hangup()
}
