//! The staff queue's reads and its assignment writes. Claiming is one conditional UPDATE
//! (unassigned and open, or nothing), so of two staff claiming at once exactly one wins on
//! either database: PostgreSQL re-checks the condition after the first writer's row lock,
//! SQLite has one writer at a time.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::TicketId;

/// A ticket as the queue lists it: never a secret, never the detail.
#[derive(Debug, Clone)]
pub struct QueueRow {
    pub id: TicketId,
    pub kind: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub summary: String,
    pub created_at: Millis,
    pub assigned_to: Option<i64>,
    pub assignee: Option<String>,
    pub contractor_number: Option<String>,
    /// The running wait on the contractor (SLA paused), and the business ms of ended waits.
    pub waiting_since: Option<Millis>,
    pub waited_ms: Millis,
}

crate::store::from_row!(QueueRow {
    id,
    kind,
    status,
    priority,
    channel,
    summary,
    created_at,
    assigned_to,
    assignee,
    contractor_number,
    waiting_since,
    waited_ms
});

/// Who a queue shows: empty strings and `None` mean "any".
#[derive(Debug, Clone, Default)]
pub struct QueueFilter {
    /// A stored status (`open`, …); empty for every status.
    pub status: String,
    /// A stored kind; empty for every kind.
    pub kind: String,
    pub assignee: Assignee,
    /// A contractor number, license number or email on record, matched whole and without
    /// regard to case; empty for no search.
    pub search: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Assignee {
    #[default]
    Anyone,
    /// Assigned to this staff member.
    Member(i64),
    Nobody,
}

/// The longest queue a page shows.
pub const PAGE: i64 = 500;

/// The columns of a [`QueueRow`] and the joins they need (a macro: `concat!` takes literals).
macro_rules! row_select {
    () => {
        "SELECT t.id, t.kind, t.status, t.priority, t.channel, t.summary, t.created_at, \
         t.assigned_to, s.name AS assignee, c.contractor_number, t.waiting_since, t.waited_ms \
         FROM tickets t LEFT JOIN staff s ON s.id = t.assigned_to \
         LEFT JOIN contractors c ON c.id = t.contractor_id"
    };
}

/// Tickets matching `f`: urgent first, then oldest first.
pub async fn list(pool: &AnyPool, f: &QueueFilter) -> Result<Vec<QueueRow>, sqlx::Error> {
    list_at_most(pool, f, PAGE).await
}

/// The first `limit` tickets matching `f`, in the queue's order.
pub async fn list_at_most(
    pool: &AnyPool,
    f: &QueueFilter,
    limit: i64,
) -> Result<Vec<QueueRow>, sqlx::Error> {
    let (mode, member) = match f.assignee {
        Assignee::Anyone => (0i64, 0i64),
        Assignee::Member(id) => (1, id),
        Assignee::Nobody => (2, 0),
    };
    sqlx::query_as(concat!(
        row_select!(),
        " WHERE ($1 = '' OR t.status = $1) AND ($2 = '' OR t.kind = $2) \
         AND ($3 = 0 OR ($3 = 1 AND t.assigned_to = $4) OR ($3 = 2 AND t.assigned_to IS NULL)) \
         AND ($5 = '' OR upper(c.contractor_number) = upper($5) \
              OR upper(c.license_number) = upper($5) OR lower(c.email) = lower($5)) \
         ORDER BY CASE t.priority WHEN 'urgent' THEN 0 ELSE 1 END, t.created_at, t.id \
         LIMIT $6"
    ))
    .bind(&f.status)
    .bind(&f.kind)
    .bind(mode)
    .bind(member)
    .bind(f.search.trim())
    .bind(limit.clamp(0, PAGE))
    .fetch_all(pool)
    .await
}

#[derive(Debug, Clone)]
pub struct StatusCount {
    pub status: String,
    pub n: i64,
}

crate::store::from_row!(StatusCount { status, n });

/// How many tickets there are in each status.
pub async fn counts(pool: &AnyPool) -> Result<Vec<StatusCount>, sqlx::Error> {
    sqlx::query_as("SELECT status, COUNT(*) AS n FROM tickets GROUP BY status ORDER BY status")
        .fetch_all(pool)
        .await
}

/// Open tickets nobody holds, and open tickets somebody holds.
pub async fn open_split(pool: &AnyPool) -> Result<(i64, i64), sqlx::Error> {
    let unassigned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets WHERE status = 'open' AND assigned_to IS NULL",
    )
    .fetch_one(pool)
    .await?;
    let assigned: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM tickets WHERE status = 'open' AND assigned_to IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    Ok((unassigned, assigned))
}

/// Assigns an open, unassigned ticket to `staff_id`; false when it was not both.
pub async fn claim(
    tx: &mut Tx,
    id: TicketId,
    staff_id: i64,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET assigned_to = $2, updated_at = $3 \
         WHERE id = $1 AND assigned_to IS NULL AND status = 'open'",
    )
    .bind(id)
    .bind(staff_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Unassigns a ticket held by `holder`; false when someone else (or nobody) holds it.
pub async fn release(
    tx: &mut Tx,
    id: TicketId,
    holder: i64,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET assigned_to = NULL, updated_at = $3 \
         WHERE id = $1 AND assigned_to = $2",
    )
    .bind(id)
    .bind(holder)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Hands an open ticket from `from` (`None`: unassigned) to `to`; false when it is no
/// longer open or held by `from` (someone acted first).
pub async fn reassign(
    tx: &mut Tx,
    id: TicketId,
    from: Option<i64>,
    to: i64,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE tickets SET assigned_to = $3, updated_at = $4 \
         WHERE id = $1 AND status = 'open' \
         AND (($2 = 0 AND assigned_to IS NULL) OR assigned_to = $2)",
    )
    .bind(id)
    .bind(from.unwrap_or(0))
    .bind(to)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A ticket's status and holder (id and name), when the ticket exists.
#[derive(Debug, Clone)]
pub struct Holding {
    pub status: String,
    pub assigned_to: Option<i64>,
    pub assignee: Option<String>,
}

crate::store::from_row!(Holding {
    status,
    assigned_to,
    assignee
});

pub async fn holding(pool: &AnyPool, id: TicketId) -> Result<Option<Holding>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.status, t.assigned_to, s.name AS assignee FROM tickets t \
         LEFT JOIN staff s ON s.id = t.assigned_to WHERE t.id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await
}
