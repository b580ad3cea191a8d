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

/// Adds a line to a ticket's detail (a caller's recorded message, say).
pub async fn append_detail(
    tx: &mut Tx,
    id: TicketId,
    line: &str,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE tickets SET detail = CASE WHEN detail = '' THEN $2 ELSE detail || $4 || $2 END, \
         updated_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(line)
    .bind(now)
    // The line break is bound: SQLite spells it char(10), PostgreSQL chr(10).
    .bind("\n")
    .execute(&mut **tx)
    .await?;
    Ok(())
}
