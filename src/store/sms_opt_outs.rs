//! Numbers that texted STOP: while one is here, Helpline texts it nothing. Keyed by the
//! number as the outbox writes recipients (E.164), so "is this recipient stopped?" is one
//! lookup of the same string.

use sqlx::{Any, AnyPool, Executor};

use crate::clock::Millis;

/// Remembers that `phone` texted STOP (the first STOP's time is kept). On the pool or in a
/// transaction.
pub async fn stop<'e, E>(executor: E, phone: &str, now: Millis) -> Result<(), sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    sqlx::query(
        "INSERT INTO sms_opt_outs (phone, stopped_at) VALUES ($1, $2) \
         ON CONFLICT (phone) DO NOTHING",
    )
    .bind(phone)
    .bind(now)
    .execute(executor)
    .await?;
    Ok(())
}

/// Forgets a STOP (the number texted START); true when there was one.
pub async fn start(pool: &AnyPool, phone: &str) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sms_opt_outs WHERE phone = $1")
        .bind(phone)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// True when `phone` texted STOP and not START since. Works on the pool or inside a
/// transaction (`&mut **tx`), so a message is refused in the same transaction that would
/// queue it.
pub async fn is_stopped<'e, E>(executor: E, phone: &str) -> Result<bool, sqlx::Error>
where
    E: Executor<'e, Database = Any>,
{
    let found: Option<i64> =
        sqlx::query_scalar("SELECT stopped_at FROM sms_opt_outs WHERE phone = $1")
            .bind(phone)
            .fetch_optional(executor)
            .await?;
    Ok(found.is_some())
}
