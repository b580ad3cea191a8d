//! A staff member's answer on a ticket by text: to the mobile on record of the ticket's
//! contractor (never another number: `From` and caller IDs are claims), through the outbox,
//! on the ticket's timeline ('sms_out') and in the audit log with the staff member's name.
//! A number that texted STOP gets nothing. The SLA clock waits on the contractor after it.

use super::email_threads::signature;
use super::*;
use crate::domain::ids::MessageId as OutboxId;
use crate::store::threads::{self, EventKind, NewEvent};
use crate::store::ticket_desk;

/// Most characters of a staff text: two GSM-7 segments less the sign-off.
pub const MAX_STAFF_SMS: usize = 280;

/// What a staff text did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffSmsOutcome {
    /// Queued to this (masked) number.
    Queued {
        to: String,
        outbox: OutboxId,
    },
    NoTicket,
    /// The ticket names no contractor, or the contractor has no phone on record.
    NoPhone,
    /// The phone on record (masked) texted STOP: nothing was sent.
    OptedOut {
        to: String,
    },
    /// Texts are turned off (`twilio.sms_enabled`).
    TextsOff,
    Empty,
    TooLong,
}

impl Recovery<'_> {
    /// Texts `text` to the phone on record of the ticket's contractor, signed with the staff
    /// member's name.
    pub async fn staff_sms_reply(
        &self,
        ticket: TicketId,
        staff_name: &str,
        text: &str,
    ) -> Result<StaffSmsOutcome> {
        let text: String = text
            .trim()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if text.is_empty() {
            return Ok(StaffSmsOutcome::Empty);
        }
        if text.chars().count() > MAX_STAFF_SMS {
            return Ok(StaffSmsOutcome::TooLong);
        }
        let staff_name = signature(staff_name);
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let Some(contractor) = self.ticket_contractor(&mut tx, ticket).await? else {
            tx.rollback().await?;
            return Ok(StaffSmsOutcome::NoTicket);
        };
        let Some((contractor, phone)) =
            contractor.and_then(|c| c.fields.phone_on_record().map(|p| (c, p)))
        else {
            tx.rollback().await?;
            return Ok(StaffSmsOutcome::NoPhone);
        };
        if !self.st.settings.twilio.sms_enabled {
            tx.rollback().await?;
            return Ok(StaffSmsOutcome::TextsOff);
        }
        // Plain words the staff member typed, signed; no template holds them.
        let body = format!(
            "{} Building Division: {text} ({staff_name})",
            self.st.settings.city.name
        );
        let Some(out) = queue_sms(
            &mut tx,
            &phone,
            "staff_reply",
            body,
            Some(contractor.id),
            None,
            now,
        )
        .await?
        else {
            tx.rollback().await?;
            return Ok(StaffSmsOutcome::OptedOut { to: phone.masked() });
        };
        threads::set_outbox_ticket(&mut tx, out, ticket).await?;
        let event = NewEvent {
            ticket,
            kind: EventKind::SmsOut,
            author: &staff_name,
            text: &text,
            message_id: None,
            outbox_id: Some(out),
        };
        threads::add_event(&mut tx, &event, now).await?;
        ticket_desk::begin_wait(&mut tx, ticket, &staff_name, now).await?;
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &format!("staff:{staff_name}"),
                action: "staff_sms_reply",
                subject: &format!("contractor:{}", contractor.fields.contractor_number),
                channel: Channel::Sms,
                detail: format!("ticket {} answered by text to {}", ticket.0, phone.masked()),
            },
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(StaffSmsOutcome::Queued {
            to: phone.masked(),
            outbox: out,
        })
    }
}
