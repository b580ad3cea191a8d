//! What Twilio reports after a caller left a message: `POST /twilio/voice/recording` (the
//! recording file is ready) and `POST /twilio/voice/transcription` (its text). Both add to
//! the call's ticket, once each however often they come, and work after the call has ended
//! (its conversation is kept until it expires). A call that ended before its ticket was made
//! (the caller hung up while recording) gets its ticket here. The words of a transcription
//! are the caller's: they go to the ticket, never to a log.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;

use super::TwilioForm;
use super::actions;
use super::voice::{CallState, call_key};
use crate::app::AppState;
use crate::domain::channel::Channel;
use crate::domain::conversation::ConversationKey;

/// `recordingStatusCallback`'s fields this route reads.
#[derive(Debug, Deserialize)]
pub struct RecordingForm {
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "RecordingUrl", default)]
    recording_url: String,
    #[serde(rename = "RecordingStatus", default)]
    recording_status: String,
}

/// `transcribeCallback`'s fields this route reads. No `Debug`: it holds the caller's words.
#[derive(Deserialize)]
pub struct TranscriptionForm {
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "TranscriptionText", default)]
    text: String,
    #[serde(rename = "TranscriptionStatus", default)]
    status: String,
}

/// On a call back, its conversation.
#[derive(Debug, Deserialize)]
pub struct Via {
    #[serde(default)]
    c: Option<String>,
}

/// `POST /twilio/voice/recording`.
pub async fn recording(
    State(st): State<AppState>,
    Query(via): Query<Via>,
    TwilioForm(form): TwilioForm<RecordingForm>,
) -> StatusCode {
    let url = form.recording_url.trim();
    if form.recording_status != "completed" || !url.starts_with("https://") {
        tracing::info!(call_sid = %form.call_sid, "recording status without a recording; ignored");
        return StatusCode::OK;
    }
    let note = Note::Recording(url.chars().take(512).collect());
    answer(&st, &form.call_sid, via, note).await
}

/// `POST /twilio/voice/transcription`.
pub async fn transcription(
    State(st): State<AppState>,
    Query(via): Query<Via>,
    TwilioForm(form): TwilioForm<TranscriptionForm>,
) -> StatusCode {
    if form.status != "completed" || form.text.trim().is_empty() {
        tracing::info!(call_sid = %form.call_sid, "transcription without text; ignored");
        return StatusCode::OK;
    }
    answer(&st, &form.call_sid, via, Note::Transcription(form.text)).await
}

enum Note {
    Recording(String),
    Transcription(String),
}

async fn answer(st: &AppState, call_sid: &str, via: Via, note: Note) -> StatusCode {
    let Some(key) = call_key(call_sid, via.c.as_deref()) else {
        return StatusCode::OK;
    };
    match add(st, &key, note).await {
        Ok(true) => StatusCode::OK,
        Ok(false) => {
            tracing::info!(
                call_sid,
                "a recording or transcription for no known call; ignored"
            );
            StatusCode::OK
        }
        Err(e) => {
            tracing::error!(call_sid, error = %e, "cannot add to a call's ticket");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// Adds the note to the call's ticket, making the ticket if the call ended without one.
/// False when no such call is known.
async fn add(
    st: &AppState,
    key: &ConversationKey,
    note: Note,
) -> Result<bool, super::voice::VoiceError> {
    let recording = match &note {
        Note::Recording(url) => Some(url.clone()),
        Note::Transcription(_) => None,
    };
    let Some(conv) = st
        .recovery
        .conversations()
        .recent(Channel::Voice, key)
        .await?
    else {
        return Ok(false);
    };
    let recovery = st.recovery_in(conv.language);
    let read = |state: &str| serde_json::from_str::<CallState>(state).ok();
    let ticket = recovery
        .ticket_of_call(
            key,
            |conv| {
                let state = read(&conv.state)?;
                Some(actions::context(
                    conv.contractor_id,
                    conv.checks,
                    conv.attempts,
                    &state.facts,
                    recording.clone(),
                ))
            },
            |state| read(state)?.facts.ticket,
            |state, ticket| {
                let mut state = read(state)?;
                state.facts.ticket = Some(ticket);
                serde_json::to_string(&state).ok()
            },
        )
        .await?;
    let Some(ticket) = ticket else {
        return Ok(false);
    };
    match note {
        Note::Recording(url) => recovery.add_recording(ticket, &url).await?,
        Note::Transcription(text) => recovery.add_transcription(ticket, &text).await?,
    }
    Ok(true)
}
