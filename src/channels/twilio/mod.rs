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
//! - [`voice`] (with `actions`): the phone line; [`sms`]: texts to the help line.
//!
//! A handler for a Twilio route looks like
//! `async fn step(State(st): State<AppState>, TwilioForm(form): TwilioForm<Step>) -> VoiceResponse`.

mod actions;
pub mod extract;
mod recording;
pub mod signature;
pub mod sms;
mod spell;
pub mod status;
pub mod twiml;
pub mod voice;

use axum::Router;
use axum::routing::post;

use crate::app::AppState;

pub use extract::{
    MAX_WEBHOOK_BYTES, TwilioForm, VerifiedWebhook, WebhookRefusal, verify_webhook, webhook_url,
};
pub use signature::SIGNATURE_HEADER;
pub use twiml::{Dial, Gather, GatherInput, MessagingResponse, Record, Say, Twiml, VoiceResponse};

/// Why a call step or a text could not be answered normally (logged; the caller or texter
/// hears or reads an apology).
#[derive(Debug, thiserror::Error)]
pub(crate) enum StepError {
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Conversation(#[from] crate::recovery::ConversationError),
    #[error(transparent)]
    Recovery(#[from] crate::recovery::RecoveryError),
    #[error("flow: {0}")]
    Driver(#[from] crate::flows::DriverError),
    #[error("the conversation's stored state is unreadable: {0}")]
    State(#[from] serde_json::Error),
    /// The flow asked a channel (named) for an action it does not do.
    #[error("the flow asked the {0} for {1}, which it does not do")]
    NotOnThisChannel(&'static str, crate::flows::Action),
}

/// Twilio's routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/twilio/voice", post(voice::incoming))
        .route("/twilio/voice/step", post(voice::step))
        .route("/twilio/voice/dialed", post(voice::dialed))
        .route("/twilio/voice/callback", post(voice::callback))
        .route("/twilio/voice/recording", post(recording::recording))
        .route(
            "/twilio/voice/transcription",
            post(recording::transcription),
        )
        .route("/twilio/voice/status", post(status::voice_status))
        .route("/twilio/sms", post(sms::incoming))
        .route("/twilio/sms/status", post(status::sms_status))
}
