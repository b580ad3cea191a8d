//! Portal accounts: password hash, the forced-change flag, the security question.

use super::Tx;
use crate::clock::Millis;

/// Creates an account holding a (temporary or chosen) password hash.
pub async fn create(
    tx: &mut Tx,
    contractor_id: i64,
    password_hash: &str,
    must_change: bool,
    now: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO accounts (contractor_id, password_hash, must_change, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(contractor_id)
    .bind(password_hash)
    .bind(i64::from(must_change))
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// Voids every reset link not yet used for the contractor's account: called whenever a
/// credential or contact changes, so an old link never outlives the facts it was sent on.
pub async fn void_pending_secrets(
    tx: &mut Tx,
    contractor_id: i64,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reset_tokens SET voided_at = $2 \
         WHERE used_at IS NULL AND voided_at IS NULL \
         AND account_id IN (SELECT id FROM accounts WHERE contractor_id = $1)",
    )
    .bind(contractor_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}
