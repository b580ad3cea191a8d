//! Mailgun's one-time tokens, by SHA-256 (see migration 0007): a token is taken once, with
//! one conditional write, so of several copies of a signed request exactly one acts, on any
//! instance and either database.

use sqlx::AnyPool;

use crate::clock::Millis;

/// Takes the token (its digest) for the first time: true for exactly one caller. Expired rows
/// are deleted first, so the table holds a day of tokens at most.
pub async fn take(
    pool: &AnyPool,
    token_hash: &str,
    now: Millis,
    expires_at: Millis,
) -> Result<bool, sqlx::Error> {
    sqlx::query("DELETE FROM mailgun_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    let done = sqlx::query(
        "INSERT INTO mailgun_tokens (token_hash, seen_at, expires_at, retry) \
         VALUES ($1, $2, $3, 0) ON CONFLICT (token_hash) DO NOTHING",
    )
    .bind(token_hash)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The work of a taken token failed: Mailgun's resend of the same request may act once more.
pub async fn allow_retry(pool: &AnyPool, token_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE mailgun_tokens SET retry = 1 WHERE token_hash = $1")
        .bind(token_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes the token again after a failed try: true for exactly one resend (1 → 0).
pub async fn take_retry(
    pool: &AnyPool,
    token_hash: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE mailgun_tokens SET retry = 0 \
         WHERE token_hash = $1 AND retry = 1 AND expires_at > $2",
    )
    .bind(token_hash)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}
