//! What the phone line asks of the recovery service beyond the kiosk's identity check: which
//! contractor a keyed-in number names (told to nobody), whether the caller ID may stand in for
//! keying in the phone on record, and the call's ticket for staff.

use super::*;
use crate::domain::ticket::TicketKind;

/// STIR/SHAKEN's full attestation: the carrier vouches the caller may use the number.
pub const FULL_ATTESTATION: &str = "TN-Validation-Passed-A";

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
        let ticket = self
            .escalate(
                &mut tx,
                Escalation {
                    kind: TicketKind::PhoneCall,
                    contractor: call.contractor,
                    channel: Channel::Voice,
                    summary: format!("Help line call for staff: {}", call.reason),
                    detail: call.detail(),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(ticket)
    }

    /// Adds the caller's recorded message to the call's ticket.
    pub async fn add_recording(&self, ticket: TicketId, recording: &str) -> Result<()> {
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        tickets::append_detail(&mut tx, ticket, &format!("Message: {recording}"), now).await?;
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
