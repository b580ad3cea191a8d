//! Building Division staff logins. The password hash is read only to check a sign-in.

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

pub async fn by_id(pool: &AnyPool, id: i64) -> Result<Option<StaffMember>, sqlx::Error> {
    sqlx::query_as("SELECT id, email, name, role, password_hash, disabled FROM staff WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Staff who may sign in, by name: whom an admin may hand a ticket to.
pub async fn active(pool: &AnyPool) -> Result<Vec<StaffMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, name, role, password_hash, disabled FROM staff WHERE disabled = 0 \
         ORDER BY name, id",
    )
    .fetch_all(pool)
    .await
}

/// Every login, enabled first, by name: the administrator's list.
pub async fn all(pool: &AnyPool) -> Result<Vec<StaffMember>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, email, name, role, password_hash, disabled FROM staff \
         ORDER BY disabled, name, id",
    )
    .fetch_all(pool)
    .await
}

/// Disables a login; the member's id when the login exists and was not disabled already.
pub async fn disable(tx: &mut Tx, email: &str, now: Millis) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "UPDATE staff SET disabled = 1, updated_at = $2 WHERE lower(email) = lower($1) \
         AND disabled = 0 RETURNING id",
    )
    .bind(email)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await
}

/// Marks a member on or off duty; false when nothing changed (already so, or no such login).
pub async fn set_on_duty(tx: &mut Tx, id: i64, on: bool, now: Millis) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE staff SET on_duty = $2, updated_at = $3 WHERE id = $1 AND on_duty <> $2",
    )
    .bind(id)
    .bind(i64::from(on))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Whether a member is on duty (false for an unknown id).
pub async fn is_on_duty(pool: &AnyPool, id: i64) -> Result<bool, sqlx::Error> {
    let on: Option<i64> = sqlx::query_scalar("SELECT on_duty FROM staff WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?;
    Ok(on.unwrap_or(0) != 0)
}

/// Enabled staff on duty, (email, name), read in the transaction that alerts them.
pub async fn on_duty(tx: &mut Tx) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT email, name FROM staff WHERE on_duty = 1 AND disabled = 0 ORDER BY name, id",
    )
    .fetch_all(&mut **tx)
    .await
}

impl StaffMember {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
    pub fn is_disabled(&self) -> bool {
        self.disabled != 0
    }
}
