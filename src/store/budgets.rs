//! Send budgets: how often a secret (reset link, temporary password, call) may go to one
//! account or one destination. The check and the spend are one conditional UPDATE of one row,
//! so two requests racing for the last allowance cannot both win, on SQLite (one writer) and on
//! PostgreSQL (the second UPDATE waits for the first and re-checks the row it committed).

use super::Tx;
use crate::clock::Millis;

const DAY: Millis = 24 * 3600 * 1000;

/// At most one send per `every`, and at most `per_day` in a 24-hour window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub every: Millis,
    pub per_day: i64,
}

/// Spends one send of the budget named `key`, or returns false when it is used up. Runs in the
/// caller's transaction: a rollback gives the allowance back.
pub async fn spend(
    tx: &mut Tx,
    key: &str,
    budget: Budget,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO send_budgets (key) VALUES ($1) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    let spent = sqlx::query(
        "UPDATE send_budgets SET \
           sent = CASE WHEN window_start <= $2 - $5 THEN 1 ELSE sent + 1 END, \
           window_start = CASE WHEN window_start <= $2 - $5 THEN $2 ELSE window_start END, \
           last_at = $2 \
         WHERE key = $1 AND (last_at = 0 OR last_at <= $2 - $3) \
           AND (window_start <= $2 - $5 OR sent < $4)",
    )
    .bind(key)
    .bind(now)
    .bind(budget.every)
    .bind(budget.per_day)
    .bind(DAY)
    .execute(&mut **tx)
    .await?;
    Ok(spent.rows_affected() == 1)
}

/// Spends one of the `per_day` sends of the daily cap named `key` (no spacing between sends),
/// or returns false when the cap is reached. One conditional UPDATE, like [`spend`]; a clock
/// a little behind another instance's never refuses a send by itself.
pub async fn spend_daily(
    tx: &mut Tx,
    key: &str,
    per_day: i64,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    sqlx::query("INSERT INTO send_budgets (key) VALUES ($1) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .execute(&mut **tx)
        .await?;
    let spent = sqlx::query(
        "UPDATE send_budgets SET \
           sent = CASE WHEN window_start <= $2 - $4 THEN 1 ELSE sent + 1 END, \
           window_start = CASE WHEN window_start <= $2 - $4 THEN $2 ELSE window_start END, \
           last_at = CASE WHEN last_at > $2 THEN last_at ELSE $2 END \
         WHERE key = $1 AND (window_start <= $2 - $4 OR sent < $3)",
    )
    .bind(key)
    .bind(now)
    .bind(per_day)
    .bind(DAY)
    .execute(&mut **tx)
    .await?;
    Ok(spent.rows_affected() == 1)
}

/// Forgets budgets with nothing sent in the last day: they are the same as new ones.
pub async fn purge(pool: &sqlx::AnyPool, now: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM send_budgets WHERE last_at <= $1")
        .bind(now - DAY)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
