//! Single-use links (reset, "this wasn't me"), kept only as SHA-256 digests.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::domain::ids::AccountId;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Reset,
    NotMe,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Reset => "reset",
            Purpose::NotMe => "not_me",
        }
    }
}

pub async fn insert(
    tx: &mut Tx,
    digest: &str,
    account_id: AccountId,
    purpose: Purpose,
    channel: Channel,
    expires_at: Millis,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO reset_tokens (token_hash, account_id, purpose, channel, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(digest)
    .bind(account_id)
    .bind(purpose.as_str())
    .bind(channel.as_str())
    .bind(now)
    .bind(expires_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The account a live link belongs to (not used, not voided, not expired).
pub async fn live_account(
    pool: &AnyPool,
    digest: &str,
    purpose: Purpose,
    now: Millis,
) -> Result<Option<AccountId>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT account_id FROM reset_tokens WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND voided_at IS NULL AND expires_at > $3",
    )
    .bind(digest)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Uses a live link up, atomically: of two simultaneous submissions exactly one gets the
/// account back.
pub async fn consume(
    tx: &mut Tx,
    digest: &str,
    purpose: Purpose,
    now: Millis,
) -> Result<Option<AccountId>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE reset_tokens SET used_at = $3 WHERE token_hash = $1 AND purpose = $2 \
         AND used_at IS NULL AND voided_at IS NULL AND expires_at > $3 RETURNING account_id",
    )
    .bind(digest)
    .bind(purpose.as_str())
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

/// When the newest reset link of the account was issued, if any: the per-account throttle.
pub async fn last_reset_issued(
    tx: &mut Tx,
    account_id: AccountId,
) -> Result<Option<Millis>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MAX(created_at) FROM reset_tokens WHERE account_id = $1 AND purpose = 'reset'",
    )
    .bind(account_id)
    .fetch_one(&mut **tx)
    .await
}

/// Reset links issued to the account since `since`: the daily cap.
pub async fn resets_issued_since(
    tx: &mut Tx,
    account_id: AccountId,
    since: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM reset_tokens WHERE account_id = $1 AND purpose = 'reset' \
         AND created_at >= $2",
    )
    .bind(account_id)
    .bind(since)
    .fetch_one(&mut **tx)
    .await
}

/// Deletes links that can no longer be used and ended before `before`.
pub async fn purge(pool: &AnyPool, before: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "DELETE FROM reset_tokens WHERE expires_at <= $1 \
         OR used_at <= $1 OR voided_at <= $1",
    )
    .bind(before)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}
