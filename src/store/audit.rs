//! Rows of the audit log and its head. Appends serialise on the one `audit_head` row.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub channel: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

crate::store::from_row!(AuditRow {
    seq,
    at,
    actor,
    action,
    subject,
    channel,
    detail,
    prev_hash,
    hash
});

/// Advances the head and returns the new sequence number and the previous hash. The update
/// takes the head's row lock, so concurrent appends queue here.
pub async fn advance_head(tx: &mut Tx) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
        .fetch_one(&mut **tx)
        .await
}

pub async fn insert(tx: &mut Tx, row: &AuditRow) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_events (seq, at, actor, action, subject, channel, detail, prev_hash, hash) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(row.seq)
    .bind(row.at)
    .bind(&row.actor)
    .bind(&row.action)
    .bind(&row.subject)
    .bind(&row.channel)
    .bind(&row.detail)
    .bind(&row.prev_hash)
    .bind(&row.hash)
    .execute(&mut **tx)
    .await?;
    sqlx::query("UPDATE audit_head SET hash = $1 WHERE id = 1")
        .bind(&row.hash)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

pub async fn head(pool: &AnyPool) -> Result<(i64, String), sqlx::Error> {
    sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_one(pool)
        .await
}

/// Events in order, a page at a time.
pub async fn page(
    pool: &AnyPool,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT seq, at, actor, action, subject, channel, detail, prev_hash, hash \
         FROM audit_events WHERE seq > $1 ORDER BY seq LIMIT $2",
    )
    .bind(after_seq)
    .bind(limit)
    .fetch_all(pool)
    .await
}
