//! The staff escalation queue: every case Helpline cannot settle itself.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::domain::ids::{ContractorId, MessageId, TicketId};
use crate::domain::ticket::TicketKind;

/// What a new ticket is about. Never holds a secret.
#[derive(Debug, Clone)]
pub struct NewTicket {
    /// Its priority follows from it ([`TicketKind::priority`]).
    pub kind: TicketKind,
    pub contractor_id: Option<ContractorId>,
    pub channel: Channel,
    pub summary: String,
    pub detail: String,
    pub outbox_id: Option<MessageId>,
}

#[derive(Debug, Clone)]
pub struct Ticket {
    pub id: TicketId,
    pub kind: String,
    pub status: String,
    pub priority: String,
    pub contractor_id: Option<ContractorId>,
    pub channel: String,
    pub summary: String,
    pub detail: String,
    pub outbox_id: Option<MessageId>,
    pub created_at: Millis,
}

crate::store::from_row!(Ticket {
    id,
    kind,
    status,
    priority,
    contractor_id,
    channel,
    summary,
    detail,
    outbox_id,
    created_at
});

pub async fn open(tx: &mut Tx, t: &NewTicket, now: Millis) -> Result<TicketId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO tickets (kind, priority, contractor_id, channel, summary, detail, outbox_id, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
    )
    .bind(t.kind.as_str())
    .bind(t.kind.priority().as_str())
    .bind(t.contractor_id)
    .bind(t.channel.as_str())
    .bind(&t.summary)
    .bind(&t.detail)
    .bind(t.outbox_id)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// Open tickets, urgent first, then oldest first.
pub async fn open_tickets(pool: &AnyPool) -> Result<Vec<Ticket>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, status, priority, contractor_id, channel, summary, detail, outbox_id, \
         created_at FROM tickets WHERE status = 'open' \
         ORDER BY CASE priority WHEN 'urgent' THEN 0 ELSE 1 END, created_at, id",
    )
    .fetch_all(pool)
    .await
}

/// Adds `line` to a ticket's detail unless the detail already holds it: a webhook Twilio
/// sends twice adds one line. The write is conditional on the detail read, so two at once
/// cannot both add it; false when it was there already (or the ticket is unknown).
pub async fn append_detail_once(
    tx: &mut Tx,
    id: TicketId,
    line: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    for _ in 0..4 {
        let detail: Option<String> = sqlx::query_scalar("SELECT detail FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
        let Some(detail) = detail else {
            return Ok(false);
        };
        if detail.lines().any(|l| l == line) {
            return Ok(false);
        }
        let next = if detail.is_empty() {
            line.to_string()
        } else {
            format!("{detail}\n{line}")
        };
        let done = sqlx::query(
            "UPDATE tickets SET detail = $2, updated_at = $3 WHERE id = $1 AND detail = $4",
        )
        .bind(id)
        .bind(&next)
        .bind(now)
        .bind(&detail)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(true);
        }
    }
    Err(sqlx::Error::Protocol(
        "a ticket's detail kept changing while a line was added".into(),
    ))
}

/// Links a ticket to a contractor (a registration staff approved), in the caller's
/// transaction.
pub async fn set_contractor(
    tx: &mut Tx,
    ticket: TicketId,
    contractor_id: ContractorId,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE tickets SET contractor_id = $2, updated_at = $3 WHERE id = $1")
        .bind(ticket)
        .bind(contractor_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A ticket's contractor: `None` when there is no such ticket, `Some(None)` when it names none.
pub async fn contractor_of(
    pool: &AnyPool,
    ticket: TicketId,
) -> Result<Option<Option<ContractorId>>, sqlx::Error> {
    let row: Option<(Option<ContractorId>,)> =
        sqlx::query_as("SELECT contractor_id FROM tickets WHERE id = $1")
            .bind(ticket)
            .fetch_optional(pool)
            .await?;
    Ok(row.map(|(c,)| c))
}
