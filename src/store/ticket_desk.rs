//! The staff desk's writes on one ticket (resolve, reopen, waiting on the contractor) and the
//! reads of the ticket page. Resolving is one conditional UPDATE (not resolved yet, or
//! nothing), so of two staff resolving at once exactly one wins on either database.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::{ContractorId, MessageId, TicketId};

/// A ticket as the ticket page shows it: never a secret (the detail holds masked numbers).
#[derive(Debug, Clone)]
pub struct TicketRow {
    pub id: TicketId,
    pub kind: String,
    pub status: String,
    pub priority: String,
    pub contractor_id: Option<ContractorId>,
    pub channel: String,
    pub summary: String,
    pub detail: String,
    pub assigned_to: Option<i64>,
    pub assignee: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub resolution: Option<String>,
    pub resolved_at: Option<Millis>,
    pub resolver: Option<String>,
    pub waiting_since: Option<Millis>,
    pub waited_ms: Millis,
}

crate::store::from_row!(TicketRow {
    id,
    kind,
    status,
    priority,
    contractor_id,
    channel,
    summary,
    detail,
    assigned_to,
    assignee,
    created_at,
    updated_at,
    resolution,
    resolved_at,
    resolver,
    waiting_since,
    waited_ms
});

pub async fn ticket(pool: &AnyPool, id: TicketId) -> Result<Option<TicketRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.kind, t.status, t.priority, t.contractor_id, t.channel, t.summary, \
         t.detail, t.assigned_to, a.name AS assignee, t.created_at, t.updated_at, t.resolution, \
         t.resolved_at, r.name AS resolver, t.waiting_since, t.waited_ms \
         FROM tickets t LEFT JOIN staff a ON a.id = t.assigned_to \
         LEFT JOIN staff r ON r.id = t.resolved_by WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}

/// A message Helpline queued, as staff may see it: no body, no subject (either may hold a
/// secret), the recipient as stored (masked by the caller).
#[derive(Debug, Clone)]
pub struct MessageRow {
    pub id: MessageId,
    pub channel: String,
    pub template: String,
    pub recipient: String,
    pub status: String,
    pub delivery_status: Option<String>,
    pub delivered_at: Option<Millis>,
    pub error_code: Option<String>,
    pub created_at: Millis,
    pub sent_at: Option<Millis>,
}

crate::store::from_row!(MessageRow {
    id,
    channel,
    template,
    recipient,
    status,
    delivery_status,
    delivered_at,
    error_code,
    created_at,
    sent_at
});

/// Messages of the ticket (`outbox.ticket_id`, or the message that opened it) and the
/// contractor's messages queued from `since` to `until` (the ticket's life), oldest first.
pub async fn messages(
    pool: &AnyPool,
    id: TicketId,
    outbox_id: Option<MessageId>,
    contractor: Option<ContractorId>,
    since: Millis,
    until: Millis,
) -> Result<Vec<MessageRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, channel, template, recipient, status, delivery_status, delivered_at, \
         error_code, created_at, sent_at FROM outbox \
         WHERE ticket_id = $1 OR id = $2 \
         OR (contractor_id = $3 AND created_at >= $4 AND created_at <= $5) \
         ORDER BY created_at, id LIMIT 200",
    )
    .bind(id)
    .bind(outbox_id.map_or(0, |m| m.0))
    .bind(contractor.map_or(0, |c| c.0))
    .bind(since)
    .bind(until)
    .fetch_all(pool)
    .await
}

/// The ticket that opened for an undeliverable message points at it (`tickets.outbox_id`).
pub async fn outbox_of(pool: &AnyPool, id: TicketId) -> Result<Option<MessageId>, sqlx::Error> {
    let row: Option<(Option<MessageId>,)> =
        sqlx::query_as("SELECT outbox_id FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(pool)
            .await?;
    Ok(row.and_then(|(m,)| m))
}

/// A contractor's other tickets, newest first.
#[derive(Debug, Clone)]
pub struct EarlierTicket {
    pub id: TicketId,
    pub kind: String,
    pub status: String,
    pub created_at: Millis,
}

crate::store::from_row!(EarlierTicket {
    id,
    kind,
    status,
    created_at
});

pub async fn other_tickets(
    pool: &AnyPool,
    contractor: ContractorId,
    except: TicketId,
) -> Result<Vec<EarlierTicket>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, kind, status, created_at FROM tickets \
         WHERE contractor_id = $1 AND id <> $2 ORDER BY created_at DESC, id DESC LIMIT 50",
    )
    .bind(contractor)
    .bind(except)
    .fetch_all(pool)
    .await
}

/// True when the ticket exists (in the caller's transaction).
pub async fn exists(tx: &mut Tx, id: TicketId) -> Result<bool, sqlx::Error> {
    let found: Option<i64> = sqlx::query_scalar("SELECT id FROM tickets WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(found.is_some())
}

/// Resolves a ticket that is not resolved yet; false when it was (or is unknown). Any wait on
/// the contractor ends with it.
pub async fn resolve(
    tx: &mut Tx,
    id: TicketId,
    code: &str,
    staff_id: i64,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET status = 'resolved', resolution = $2, resolved_at = $3, \
         resolved_by = $4, waiting_since = NULL, updated_at = $3 \
         WHERE id = $1 AND status <> 'resolved'",
    )
    .bind(id)
    .bind(code)
    .bind(now)
    .bind(staff_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Opens a resolved ticket again; false when it was not resolved (or is unknown).
pub async fn reopen(tx: &mut Tx, id: TicketId, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET status = 'open', resolution = NULL, resolved_at = NULL, \
         resolved_by = NULL, updated_at = $2 WHERE id = $1 AND status = 'resolved'",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Starts a wait on the contractor unless one is running; false when one was (or no ticket).
pub async fn start_waiting(tx: &mut Tx, id: TicketId, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET waiting_since = $2 WHERE id = $1 AND waiting_since IS NULL",
    )
    .bind(id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// When the running wait began, if one is running.
pub async fn waiting_since(tx: &mut Tx, id: TicketId) -> Result<Option<Millis>, sqlx::Error> {
    let row: Option<(Option<Millis>,)> =
        sqlx::query_as("SELECT waiting_since FROM tickets WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(row.and_then(|(w,)| w))
}

/// Ends the wait that began at `since`, adding `business_ms` (its business hours) to
/// `waited_ms`; false when that wait is no longer running (someone ended it first).
pub async fn stop_waiting(
    tx: &mut Tx,
    id: TicketId,
    since: Millis,
    business_ms: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET waiting_since = NULL, waited_ms = waited_ms + $3 \
         WHERE id = $1 AND waiting_since = $2",
    )
    .bind(id)
    .bind(since)
    .bind(business_ms)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends the running wait on the contractor, if any, adding its business hours (`hours`, or
/// every hour without them) to `waited_ms`, with a 'waiting' event by `author`. False when no
/// wait was running.
pub async fn end_wait(
    tx: &mut Tx,
    id: TicketId,
    hours: Option<&crate::domain::office_hours::OfficeHours>,
    author: &str,
    text: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let Some(since) = waiting_since(tx, id).await? else {
        return Ok(false);
    };
    let waited = crate::domain::sla::business_ms(hours, since, now);
    if !stop_waiting(tx, id, since, waited).await? {
        return Ok(false);
    }
    let event = super::threads::NewEvent {
        ticket: id,
        kind: super::threads::EventKind::Waiting,
        author,
        text,
        message_id: None,
        outbox_id: None,
    };
    super::threads::add_event(tx, &event, now).await?;
    Ok(true)
}

/// Starts a wait on the contractor (a staff reply went out), with a 'waiting' event; false
/// when one was running already.
pub async fn begin_wait(
    tx: &mut Tx,
    id: TicketId,
    author: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    if !start_waiting(tx, id, now).await? {
        return Ok(false);
    }
    let event = super::threads::NewEvent {
        ticket: id,
        kind: super::threads::EventKind::Waiting,
        author,
        text: "Waiting on the contractor: the SLA clock is paused.",
        message_id: None,
        outbox_id: None,
    };
    super::threads::add_event(tx, &event, now).await?;
    Ok(true)
}
