//! The reads behind the staff dashboard and the daily digest, and the once-a-day claim of a
//! notification run. Every count is over a half-open range of instants `[from, to)` computed
//! by the caller on the city's calendar, so both backends count the same rows (no date
//! functions in SQL, whose zones and types differ between SQLite and PostgreSQL).

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;

/// How many rows of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelCount {
    pub channel: String,
    pub n: i64,
}

crate::store::from_row!(ChannelCount { channel, n });

/// Conversations started in `[from, to)`, by channel.
pub async fn conversations_started(
    pool: &AnyPool,
    from: Millis,
    to: Millis,
) -> Result<Vec<ChannelCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT channel, COUNT(*) AS n FROM conversation_starts \
         WHERE started_at >= $1 AND started_at < $2 GROUP BY channel ORDER BY channel",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Tickets opened in `[from, to)`, by the channel they came in on.
pub async fn tickets_opened(
    pool: &AnyPool,
    from: Millis,
    to: Millis,
) -> Result<Vec<ChannelCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT channel, COUNT(*) AS n FROM tickets \
         WHERE created_at >= $1 AND created_at < $2 GROUP BY channel ORDER BY channel",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Tickets resolved in `[from, to)`.
pub async fn tickets_resolved(
    pool: &AnyPool,
    from: Millis,
    to: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM tickets WHERE resolved_at >= $1 AND resolved_at < $2")
        .bind(from)
        .bind(to)
        .fetch_one(pool)
        .await
}

/// An open ticket's age and urgency, for the queue's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenTicket {
    pub created_at: Millis,
    pub urgent: bool,
}

/// Every open ticket: when it was opened, and whether it is urgent.
pub async fn open_tickets(pool: &AnyPool) -> Result<Vec<OpenTicket>, sqlx::Error> {
    let rows: Vec<(Millis, String)> = sqlx::query_as(
        "SELECT created_at, priority FROM tickets WHERE status = 'open' ORDER BY created_at",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(created_at, priority)| OpenTicket {
            created_at,
            urgent: priority == "urgent",
        })
        .collect())
}

/// How long each ticket resolved in `[from, to)` took, open to resolved, in milliseconds.
pub async fn resolve_times(
    pool: &AnyPool,
    from: Millis,
    to: Millis,
) -> Result<Vec<Millis>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT resolved_at - created_at FROM tickets \
         WHERE resolved_at >= $1 AND resolved_at < $2 ORDER BY resolved_at",
    )
    .bind(from)
    .bind(to)
    .fetch_all(pool)
    .await
}

/// Claims a once-a-day job (`digest:2026-12-03`) for this caller: true for the first claim
/// across every instance, false when another got there first. On PostgreSQL a second insert
/// waits for the first transaction and then finds the row; SQLite has one writer at a time.
pub async fn claim_run(tx: &mut Tx, name: &str, now: Millis) -> Result<bool, sqlx::Error> {
    let claimed: Option<String> = sqlx::query_scalar(
        "INSERT INTO notification_runs (name, ran_at) VALUES ($1, $2) \
         ON CONFLICT (name) DO NOTHING RETURNING name",
    )
    .bind(name)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(claimed.is_some())
}
