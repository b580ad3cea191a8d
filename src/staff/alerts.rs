//! Emails to staff: an urgent ticket alerts every enabled staff member on duty, queued in the
//! outbox in the same transaction as the ticket (so the alert goes if and only if the ticket
//! exists). What the email holds is the ticket's reason, channel and one-line summary, and a
//! link to it: tickets never hold a secret.

use lettre::message::Mailbox;
use url::Url;

use crate::clock::Millis;
use crate::config::Settings;
use crate::domain::email::EmailAddress;
use crate::domain::ids::TicketId;
use crate::domain::ticket::Priority;
use crate::messages::{UrgentTicketFields, urgent_ticket_email};
use crate::outbox::queue_email;
use crate::store::tickets::{self, NewTicket};
use crate::store::{Tx, staff};

/// Where staff emails come from and what their links point at.
#[derive(Debug, Clone)]
pub struct StaffMail {
    pub from: Mailbox,
    pub public_url: Url,
}

impl StaffMail {
    pub fn of(settings: &Settings) -> StaffMail {
        StaffMail {
            from: settings.mail.from.clone(),
            public_url: settings.public_url.clone(),
        }
    }

    /// An absolute link to `path` (which starts with `/`) on the public URL.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }
}

/// Opens a ticket in `tx`; an urgent one also queues an alert to every enabled staff member
/// on duty. How many were alerted comes back with the ticket.
pub async fn open_ticket(
    tx: &mut Tx,
    mail: &StaffMail,
    t: &NewTicket,
    now: Millis,
) -> Result<(TicketId, usize), sqlx::Error> {
    let id = tickets::open(tx, t, now).await?;
    if t.kind.priority() != Priority::Urgent {
        return Ok((id, 0));
    }
    let link = mail.link(&format!("/staff/tickets/{id}"));
    let dashboard = mail.link("/staff/dashboard");
    let fields = UrgentTicketFields {
        ticket: id.0,
        kind: t.kind.staff_words(),
        channel: t.channel.as_str(),
        summary: &t.summary,
        link: &link,
        dashboard: &dashboard,
    };
    let composed = match urgent_ticket_email(&fields) {
        Ok(c) => c,
        Err(e) => {
            // A template that cannot render is our bug: the ticket still opens.
            tracing::error!(error = %e, ticket = id.0, "cannot write the urgent-ticket email");
            return Ok((id, 0));
        }
    };
    let mut sent = 0;
    for (email, _name) in staff::on_duty(tx).await? {
        let Ok(to) = EmailAddress::parse(&email) else {
            tracing::warn!(ticket = id.0, "a staff login's email is not an address");
            continue;
        };
        if queue_email(tx, &mail.from, &to, composed.clone(), None, None, now)
            .await?
            .is_some()
        {
            sent += 1;
        }
    }
    tracing::info!(
        ticket = id.0,
        alerted = sent,
        "urgent ticket: staff on duty alerted"
    );
    Ok((id, sent))
}
