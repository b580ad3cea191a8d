//! Building Division staff logins.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;

#[derive(Debug, Clone)]
pub struct StaffMember {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: i64,
}

crate::store::from_row!(StaffMember {
    id,
    email,
    name,
    role,
    password_hash,
    disabled
});

pub async fn insert(
    tx: &mut Tx,
    email: &str,
    name: &str,
    role: &str,
    password_hash: &str,
    now: Millis,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO staff (email, name, role, password_hash, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(role)
    .bind(password_hash)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub async fn by_email(pool: &AnyPool, email: &str) -> Result<Option<StaffMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, name, role, password_hash, disabled FROM staff WHERE lower(email) = lower($1)",
    )
    .bind(email)
    .fetch_optional(pool)
    .await
}
