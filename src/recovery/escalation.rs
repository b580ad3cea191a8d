//! Escalation: every case Helpline cannot settle itself becomes a ticket in the staff queue,
//! in the same transaction as what caused it. Tickets never hold a secret: phones and emails
//! in them are masked.

use super::*;
use crate::domain::ticket::TicketKind;

/// A case for staff, as the decision that raises it words it.
pub(super) struct Escalation {
    pub kind: TicketKind,
    pub contractor: Option<ContractorId>,
    pub channel: Channel,
    /// One line for the queue's list.
    pub summary: String,
    /// What staff need to act, and what Helpline already did.
    pub detail: String,
}

impl Recovery<'_> {
    /// Opens the ticket in `tx`; its priority follows from its kind. An urgent one alerts
    /// the staff on duty by email in the same transaction (`staff::alerts`).
    pub(super) async fn escalate(
        &self,
        tx: &mut Tx,
        case: Escalation,
        now: Millis,
    ) -> Result<TicketId> {
        let (ticket, _) = crate::staff::alerts::open_ticket(
            tx,
            &crate::staff::alerts::StaffMail::of(&self.st.settings),
            &NewTicket {
                kind: case.kind,
                contractor_id: case.contractor,
                channel: case.channel,
                summary: case.summary,
                detail: case.detail,
                outbox_id: None,
            },
            now,
        )
        .await?;
        tracing::info!(ticket = ticket.0, kind = %case.kind, "escalated to staff");
        Ok(ticket)
    }
}
