//! What the phone line asks of the recovery service beyond the kiosk's identity check: which
//! contractor a keyed-in number names (told to nobody), whether the caller ID may stand in for
//! keying in the phone on record, and the call's ticket for staff.

use super::*;
use crate::domain::conversation::{Conversation, ConversationKey};
use crate::domain::ticket::TicketKind;
use crate::store::conversations;

/// STIR/SHAKEN's full attestation: the carrier vouches the caller may use the number.
pub const FULL_ATTESTATION: &str = "TN-Validation-Passed-A";

/// The longest transcription kept on a ticket, in characters (a two-minute message is far
/// shorter).
const MAX_TRANSCRIPTION: usize = 4000;

/// What staff need from a call they take over; numbers keyed in are masked.
#[derive(Debug, Clone, Default)]
pub struct CallContext {
    pub contractor: Option<ContractorId>,
    /// The caller ID, as Twilio gave it: staff call back on it.
    pub callback_number: String,
    /// The contractor or license number keyed in, masked.
    pub number_entered: Option<String>,
    /// The identity checks passed (`number`, `phone`), or none.
    pub checks: String,
    /// Mismatches in this call.
    pub mismatches: u32,
    /// Why the call came to staff (the caller asked, silence, too many mismatches, …).
    pub reason: String,
    /// The recording of the caller's message, when they left one.
    pub recording: Option<String>,
}

impl CallContext {
    fn escalation(&self) -> Escalation {
        Escalation {
            kind: TicketKind::PhoneCall,
            contractor: self.contractor,
            channel: Channel::Voice,
            summary: format!("Help line call for staff: {}", self.reason),
            detail: self.detail(),
        }
    }

    fn detail(&self) -> String {
        let mut lines = vec![
            format!("Call back: {}", self.callback_number),
            format!(
                "Number keyed in: {}",
                self.number_entered.as_deref().unwrap_or("none")
            ),
            format!(
                "Checks passed: {}",
                if self.checks.is_empty() {
                    "none"
                } else {
                    &self.checks
                }
            ),
            format!("Mismatches: {}", self.mismatches),
            format!("Why: {}", self.reason),
        ];
        if let Some(r) = &self.recording {
            lines.push(format!("Message: {r}"));
        }
        lines.join("\n")
    }
}

/// A keyed-in number with all but its last three characters hidden, for tickets and logs.
pub fn mask_number(typed: &str) -> String {
    let chars: Vec<char> = typed.chars().collect();
    let keep = chars.len().min(3);
    let hidden = chars.len() - keep;
    let tail: String = chars[hidden..].iter().collect();
    format!("{}{tail}", "•".repeat(hidden))
}

impl Recovery<'_> {
    /// The contractor a number keyed in on the phone names (see `contractor_by_any_number`),
    /// or `None`.
    /// The caller is told nothing either way.
    pub async fn contractor_for_number(&self, typed: &str) -> Result<Option<ContractorId>> {
        Ok(self.contractor_by_any_number(typed).await?.map(|c| c.id))
    }

    /// The caller ID stands in for keying in the phone on record only when it IS a phone on
    /// record of the contractor the number named and the carrier fully attests it. A match
    /// counts as a verified identity (the contact's masked forms are returned); anything else
    /// is `None` and the caller is asked for the phone, which says nothing about the number.
    pub async fn verify_caller_id(
        &self,
        contractor: ContractorId,
        caller_id: &str,
        stir_verstat: Option<&str>,
    ) -> Result<Option<Verified>> {
        if stir_verstat != Some(FULL_ATTESTATION) {
            return Ok(None);
        }
        let Ok(phone) = PhoneNumber::parse(caller_id) else {
            return Ok(None);
        };
        let Some(c) = contractors::by_id(self.st.store.pool(), contractor).await? else {
            return Ok(None);
        };
        if !c.fields.on_record(&Contact::Phone(phone)) {
            return Ok(None);
        }
        self.remember_language(&c).await?;
        Ok(Some(self.verified(&c).await?))
    }

    /// Opens a ticket for a call staff must take over (or could not take), with its context.
    pub async fn escalate_call(&self, call: &CallContext) -> Result<TicketId> {
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let ticket = self.escalate(&mut tx, call.escalation(), now).await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// The ticket of a call that may have ended without one (the caller hung up while leaving
    /// a message, and the recording is reported afterwards): the one its conversation names,
    /// or a new one, opened in the same transaction that names it in the conversation, so
    /// reports arriving together open one. `ticket_of` reads the ticket from the channel's
    /// state and `with_ticket` writes it in; `context` says what staff see.
    pub async fn ticket_of_call(
        &self,
        key: &ConversationKey,
        context: impl Fn(&Conversation) -> Option<CallContext>,
        ticket_of: impl Fn(&str) -> Option<TicketId>,
        with_ticket: impl Fn(&str, TicketId) -> Option<String>,
    ) -> Result<Option<TicketId>> {
        for _ in 0..4 {
            let Some(conv) = self.st.conversations().recent(Channel::Voice, key).await? else {
                return Ok(None);
            };
            if let Some(ticket) = ticket_of(&conv.state) {
                return Ok(Some(ticket));
            }
            let Some(call) = context(&conv) else {
                return Ok(None);
            };
            let now = self.now();
            let mut tx = self.st.store.begin_write().await?;
            let ticket = self.escalate(&mut tx, call.escalation(), now).await?;
            let Some(state) = with_ticket(&conv.state, ticket) else {
                tx.rollback().await?;
                return Ok(None);
            };
            if conversations::set_state_after(&mut tx, conv.id, conv.version, &state, now).await? {
                tx.commit().await?;
                return Ok(Some(ticket));
            }
            tx.rollback().await?;
        }
        Err(RecoveryError::Store(sqlx::Error::Protocol(
            "a call's conversation kept changing while its ticket was opened".into(),
        )))
    }

    /// Adds the caller's recorded message to the call's ticket.
    /// Once, however often Twilio reports it (the `<Record>` action and the recording status
    /// callback both do).
    pub async fn add_recording(&self, ticket: TicketId, recording: &str) -> Result<()> {
        self.add_call_note(ticket, &format!("Message: {recording}"))
            .await
    }

    /// Adds the transcription of the caller's message to the call's ticket, once. Spoken
    /// words are the caller's: kept for staff, never logged.
    pub async fn add_transcription(&self, ticket: TicketId, text: &str) -> Result<()> {
        let text: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .take(MAX_TRANSCRIPTION)
            .collect();
        self.add_call_note(ticket, &format!("Transcription: {}", text.trim()))
            .await
    }

    async fn add_call_note(&self, ticket: TicketId, line: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        tickets::append_detail_once(&mut tx, ticket, line, now).await?;
        tx.commit().await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_in_numbers_keep_only_their_last_three() {
        assert_eq!(mask_number("1900862"), "••••862");
        assert_eq!(mask_number("12"), "12");
        assert_eq!(mask_number(""), "");
    }
}
