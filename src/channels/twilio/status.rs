//! Twilio's status callbacks (public contract): `POST /twilio/sms/status` for the texts and
//! `POST /twilio/voice/status` for the calls. Signed like every Twilio webhook
//! ([`TwilioForm`]); the recovery service decides what a report means
//! (`crate::recovery::delivery`). The answer is an empty `200` whenever the report was read,
//! known or not — Twilio would only retry anything else — and a `500` when the store could not
//! record it. Only sids, statuses and error codes reach the logs: never a number or a body.

use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;

use super::TwilioForm;
use crate::app::AppState;
use crate::domain::delivery::{CallStatus, MessageStatus, ReportedStatus, error_code};
use crate::recovery::{CallReport, MessageReport, ReportOutcome};

/// The fields of a message status callback this route reads (Twilio sends more).
#[derive(Debug, Deserialize)]
pub struct MessageStatusForm {
    #[serde(rename = "MessageSid")]
    message_sid: String,
    #[serde(rename = "MessageStatus")]
    message_status: String,
    #[serde(rename = "ErrorCode")]
    error_code: Option<String>,
}

/// The fields of a call status callback this route reads (Twilio sends more).
#[derive(Debug, Deserialize)]
pub struct CallStatusForm {
    #[serde(rename = "CallSid")]
    call_sid: String,
    #[serde(rename = "CallStatus")]
    call_status: String,
    #[serde(rename = "CallDuration")]
    call_duration: Option<String>,
}

/// A sid as Twilio writes them: two letters, then letters and digits. Anything else is not
/// one of ours and is not echoed to the logs.
fn is_sid(v: &str) -> bool {
    (2..=64).contains(&v.len())
        && v.bytes().take(2).all(|b| b.is_ascii_alphabetic())
        && v.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// A status word short and plain enough to log.
fn loggable(word: &str) -> &str {
    if word.len() <= 24
        && word
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
    {
        word
    } else {
        "(not a status)"
    }
}

/// `POST /twilio/sms/status`: records a text's delivery; a failure opens a ticket and, for a
/// temporary password, emails the contractor where to turn instead.
pub async fn sms_status(
    State(st): State<AppState>,
    TwilioForm(form): TwilioForm<MessageStatusForm>,
) -> StatusCode {
    if !is_sid(&form.message_sid) {
        tracing::info!("message status for something that is not a message sid; ignored");
        return StatusCode::OK;
    }
    let Some(status) = MessageStatus::parse(&form.message_status) else {
        tracing::info!(
            message_sid = %form.message_sid,
            status = loggable(&form.message_status),
            "message status Helpline does not act on; ignored"
        );
        return StatusCode::OK;
    };
    let code = error_code(form.error_code.as_deref());
    let report = MessageReport {
        message_sid: &form.message_sid,
        status,
        error_code: code.as_deref(),
    };
    match st.recovery.record_message_status(&report).await {
        Ok(ReportOutcome::Unknown) => {
            tracing::info!(
                message_sid = %form.message_sid,
                status = status.as_str(),
                "message status for a sid Helpline did not send; ignored"
            );
            StatusCode::OK
        }
        Ok(outcome) => {
            tracing::debug!(message_sid = %form.message_sid, status = status.as_str(), ?outcome, "message status");
            StatusCode::OK
        }
        Err(e) => {
            tracing::error!(error = %e, message_sid = %form.message_sid, "cannot record a message status");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

/// `POST /twilio/voice/status`: records a callback's end (busy, no answer or failed opens a
/// ticket) and closes the call's conversation.
pub async fn voice_status(
    State(st): State<AppState>,
    TwilioForm(form): TwilioForm<CallStatusForm>,
) -> StatusCode {
    if !is_sid(&form.call_sid) {
        tracing::info!("call status for something that is not a call sid; ignored");
        return StatusCode::OK;
    }
    let Some(status) = CallStatus::parse(&form.call_status) else {
        tracing::info!(
            call_sid = %form.call_sid,
            status = loggable(&form.call_status),
            "call status Helpline does not act on; ignored"
        );
        return StatusCode::OK;
    };
    let report = CallReport {
        call_sid: &form.call_sid,
        status,
        duration_seconds: form
            .call_duration
            .as_deref()
            .and_then(|d| d.trim().parse().ok()),
    };
    match st.recovery.record_call_status(&report).await {
        Ok(_) => StatusCode::OK,
        Err(e) => {
            tracing::error!(error = %e, call_sid = %form.call_sid, "cannot record a call status");
            StatusCode::INTERNAL_SERVER_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sids_and_plain_words_are_logged() {
        assert!(is_sid("SM0123456789abcdef0123456789abcdef"));
        assert!(is_sid("CA1234567890ABCDE"));
        assert!(!is_sid("+13036582075"));
        assert!(!is_sid("S"));
        assert!(!is_sid("SM 1"));
        assert_eq!(loggable("no-answer"), "no-answer");
        assert_eq!(loggable("read"), "read");
        assert_eq!(loggable("3036582075"), "(not a status)");
        assert_eq!(loggable("<script>"), "(not a status)");
    }
}
