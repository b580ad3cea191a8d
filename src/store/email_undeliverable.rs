//! Email addresses a delivery report said cannot receive mail: while one is here, Helpline
//! sends it nothing (the outbox refuses to queue, the worker drops what was queued, the
//! portal and kiosk offer another way). Keyed by the address lower-cased, so "is this
//! recipient undeliverable?" is one lookup whatever case the roster or the report wrote.
//! Modelled on [`super::sms_opt_outs`]; cleared by a roster import that changes the email on
//! record and by [`clear`], which staff call once the contractor confirms the address.

use sqlx::{Any, Executor};

use crate::clock::Millis;

/// How an address is keyed.
fn key(address: &str) -> String {
    address.trim().to_lowercase()
}

/// Remembers that mail to `address` bounced (the first report's time and Message-ID are
/// kept). True when it was not marked before. On the pool or in a transaction.
pub async fn mark<'e, E>(
    executor: E,
    address: &str,
    report_id: Option<&str>,
    now: Millis,
) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query(
        "INSERT INTO email_undeliverable (address, since, report_id) VALUES ($1, $2, $3) \
         ON CONFLICT (address) DO NOTHING",
    )
    .bind(key(address))
    .bind(now)
    .bind(report_id)
    .execute(executor)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Forgets a bounce: the address may receive mail again. True when it was marked.
pub async fn clear<'e, E>(executor: E, address: &str) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    let done = sqlx::query("DELETE FROM email_undeliverable WHERE address = $1")
        .bind(key(address))
        .execute(executor)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// True when mail to `address` bounced and it was not cleared since. On the pool or inside a
/// transaction (`&mut **tx`), so a message is refused in the transaction that would queue it.
pub async fn is_undeliverable<'e, E>(executor: E, address: &str) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    let found: Option<i64> =
        sqlx::query_scalar("SELECT since FROM email_undeliverable WHERE address = $1")
            .bind(key(address))
            .fetch_optional(executor)
            .await?;
    Ok(found.is_some())
}
