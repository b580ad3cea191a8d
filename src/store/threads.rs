//! Email threads and ticket timelines (migration 0008): which ticket an outgoing email belongs
//! to (`outbox.ticket_id`), a ticket's events in order (`ticket_events`, what the staff page
//! reads), and the tickets of threads that had none (`ticket_threads`, a unique key per
//! thread, so two replies at once open one ticket).

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::{ContractorId, MessageId, TicketId};

/// An email Helpline sent, found by the Message-ID a reply names.
#[derive(Debug, Clone)]
pub struct SentEmail {
    pub id: MessageId,
    pub contractor_id: Option<ContractorId>,
    /// The address it went to.
    pub recipient: String,
    pub ticket_id: Option<TicketId>,
    pub template: String,
}

crate::store::from_row!(SentEmail {
    id,
    contractor_id,
    recipient,
    ticket_id,
    template
});

/// The email Helpline sent with this Message-ID (`<…>`), if any.
pub async fn sent_email(tx: &mut Tx, message_id: &str) -> Result<Option<SentEmail>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, contractor_id, recipient, ticket_id, template FROM outbox \
         WHERE message_id = $1 AND channel = 'email' ORDER BY id LIMIT 1",
    )
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Marks an outgoing email as belonging to a ticket (its acknowledgment, a staff reply).
pub async fn set_outbox_ticket(
    tx: &mut Tx,
    outbox_id: MessageId,
    ticket: TicketId,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE outbox SET ticket_id = $2 WHERE id = $1")
        .bind(outbox_id)
        .bind(ticket)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The ticket an email that came in belongs to, by its Message-ID (`<…>`).
pub async fn ticket_of_received(
    tx: &mut Tx,
    message_id: &str,
) -> Result<Option<TicketId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT ticket_id FROM ticket_events WHERE message_id = $1 AND kind = 'email_in' \
         ORDER BY id LIMIT 1",
    )
    .bind(message_id)
    .fetch_optional(&mut **tx)
    .await
}

/// What a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    EmailIn,
    EmailOut,
    Note,
    Reopened,
    Frozen,
    SmsIn,
    SmsOut,
    Resolved,
    /// An action on the contractor's account (never the secret).
    Account,
    /// A wait on the contractor began or ended.
    Waiting,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::EmailIn => "email_in",
            EventKind::EmailOut => "email_out",
            EventKind::Note => "note",
            EventKind::Reopened => "reopened",
            EventKind::Frozen => "frozen",
            EventKind::SmsIn => "sms_in",
            EventKind::SmsOut => "sms_out",
            EventKind::Resolved => "resolved",
            EventKind::Account => "account",
            EventKind::Waiting => "waiting",
        }
    }
}

/// A timeline entry to write. Never a secret.
#[derive(Debug, Clone)]
pub struct NewEvent<'a> {
    pub ticket: TicketId,
    pub kind: EventKind,
    /// The sender's address (lowercase) for an email in; the staff member's name otherwise.
    pub author: &'a str,
    pub text: &'a str,
    /// The email's Message-ID, `<…>`.
    pub message_id: Option<&'a str>,
    pub outbox_id: Option<MessageId>,
}

/// One entry of a ticket's timeline.
#[derive(Debug, Clone)]
pub struct TicketEvent {
    pub id: i64,
    pub ticket_id: TicketId,
    pub at: Millis,
    pub kind: String,
    pub author: String,
    pub text: String,
    pub message_id: Option<String>,
    pub outbox_id: Option<MessageId>,
}

crate::store::from_row!(TicketEvent {
    id,
    ticket_id,
    at,
    kind,
    author,
    text,
    message_id,
    outbox_id
});

pub async fn add_event(tx: &mut Tx, e: &NewEvent<'_>, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO ticket_events (ticket_id, at, kind, author, text, message_id, outbox_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(e.ticket)
    .bind(now)
    .bind(e.kind.as_str())
    .bind(e.author)
    .bind(e.text)
    .bind(e.message_id)
    .bind(e.outbox_id)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE tickets SET updated_at = $2 WHERE id = $1")
        .bind(e.ticket)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A ticket's timeline, oldest first.
pub async fn timeline(pool: &AnyPool, ticket: TicketId) -> Result<Vec<TicketEvent>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, ticket_id, at, kind, author, text, message_id, outbox_id FROM ticket_events \
         WHERE ticket_id = $1 ORDER BY at, id",
    )
    .bind(ticket)
    .fetch_all(pool)
    .await
}

/// The last email that came in on a ticket: who sent it and its Message-ID.
pub async fn last_received(
    tx: &mut Tx,
    ticket: TicketId,
) -> Result<Option<(String, Option<String>)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT author, message_id FROM ticket_events WHERE ticket_id = $1 AND kind = 'email_in' \
         ORDER BY at DESC, id DESC LIMIT 1",
    )
    .bind(ticket)
    .fetch_optional(&mut **tx)
    .await
}

/// Opens a ticket that is not open (resolved, closed) again; true when it was.
pub async fn reopen(tx: &mut Tx, ticket: TicketId, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET status = 'open', resolution = NULL, resolved_at = NULL, \
         resolved_by = NULL, updated_at = $2 WHERE id = $1 AND status <> 'open'",
    )
    .bind(ticket)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The ticket of a thread key, with whether it is still open and when it was created.
pub async fn thread_ticket(
    tx: &mut Tx,
    key: &str,
) -> Result<Option<(TicketId, String, Millis)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.status, t.created_at FROM ticket_threads h \
         JOIN tickets t ON t.id = h.ticket_id WHERE h.thread_key = $1",
    )
    .bind(key)
    .fetch_optional(&mut **tx)
    .await
}

/// Gives `key` to `ticket`: a new key, or one whose ticket was `previous`. False when another
/// request claimed it first (its transaction should roll back and join that ticket).
pub async fn claim_thread(
    tx: &mut Tx,
    key: &str,
    previous: Option<TicketId>,
    ticket: TicketId,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = match previous {
        None => {
            sqlx::query(
                "INSERT INTO ticket_threads (thread_key, ticket_id, created_at) \
                 VALUES ($1, $2, $3) ON CONFLICT (thread_key) DO NOTHING",
            )
            .bind(key)
            .bind(ticket)
            .bind(now)
            .execute(&mut **tx)
            .await?
        }
        Some(previous) => {
            sqlx::query(
                "UPDATE ticket_threads SET ticket_id = $2, created_at = $3 \
                 WHERE thread_key = $1 AND ticket_id = $4",
            )
            .bind(key)
            .bind(ticket)
            .bind(now)
            .bind(previous)
            .execute(&mut **tx)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// A ticket's contractor: `None` when there is no such ticket, `Some(None)` when it names none.
pub async fn ticket_contractor(
    tx: &mut Tx,
    ticket: TicketId,
) -> Result<Option<Option<ContractorId>>, sqlx::Error> {
    let row: Option<(Option<ContractorId>,)> =
        sqlx::query_as("SELECT contractor_id FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.map(|(c,)| c))
}
