//! Bearer tokens of the staff JSON API. Only a token's SHA-256 digest is stored; the token
//! itself is shown once, when it is made, and never again.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;

/// A token as the list shows it: never the token, never its digest.
#[derive(Debug, Clone)]
pub struct TokenRow {
    pub id: i64,
    pub staff_id: i64,
    pub email: String,
    pub label: String,
    pub created_at: Millis,
    pub last_used_at: Option<Millis>,
    pub revoked_at: Option<Millis>,
}

crate::store::from_row!(TokenRow {
    id,
    staff_id,
    email,
    label,
    created_at,
    last_used_at,
    revoked_at
});

/// Keeps a new token's digest for `staff_id`; its id.
pub async fn insert(
    tx: &mut Tx,
    staff_id: i64,
    digest: &str,
    label: &str,
    now: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO staff_api_tokens (staff_id, token_hash, label, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(staff_id)
    .bind(digest)
    .bind(label)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

/// The token id and staff id of a live (not revoked) token with this digest.
pub async fn live(pool: &AnyPool, digest: &str) -> Result<Option<(i64, i64)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, staff_id FROM staff_api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(digest)
    .fetch_optional(pool)
    .await
}

/// Notes that a token was used, at most once a minute (each request would otherwise be a
/// write).
pub async fn touch(pool: &AnyPool, id: i64, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE staff_api_tokens SET last_used_at = $2 \
         WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $2 - 60000)",
    )
    .bind(id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// Revokes a token; its owner's email when it existed and was live.
pub async fn revoke(tx: &mut Tx, id: i64, now: Millis) -> Result<Option<String>, sqlx::Error> {
    let revoked: Option<i64> = sqlx::query_scalar(
        "UPDATE staff_api_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL \
         RETURNING staff_id",
    )
    .bind(id)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(staff_id) = revoked else {
        return Ok(None);
    };
    sqlx::query_scalar("SELECT email FROM staff WHERE id = $1")
        .bind(staff_id)
        .fetch_optional(&mut **tx)
        .await
}

/// Every token, oldest first.
pub async fn list(pool: &AnyPool) -> Result<Vec<TokenRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT t.id, t.staff_id, s.email, t.label, t.created_at, t.last_used_at, t.revoked_at \
         FROM staff_api_tokens t JOIN staff s ON s.id = t.staff_id ORDER BY t.id",
    )
    .fetch_all(pool)
    .await
}
