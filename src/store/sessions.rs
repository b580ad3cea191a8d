//! Signed-in sessions (contractors and staff, each with their own cookie) and the registration form's short-lived
//! drafts. Only the SHA-256 of a session id is stored. (Kiosk verifications are kiosk
//! conversations: `store::conversations`.)

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::AccountId;

#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub account_id: Option<AccountId>,
    pub staff_id: Option<i64>,
    pub remember: i64,
    pub data: String,
    pub created_at: Millis,
    pub last_seen_at: Millis,
    pub expires_at: Millis,
    /// Signed in with a temporary password (or while a change was required): the only kind of
    /// session that may make the forced change.
    pub may_change_password: i64,
}

crate::store::from_row!(Session {
    id_hash,
    account_id,
    staff_id,
    remember,
    data,
    created_at,
    last_seen_at,
    expires_at,
    may_change_password
});

impl Session {
    pub fn may_change_password(&self) -> bool {
        self.may_change_password != 0
    }
}

/// The columns a row is read from. A macro, not a `const`: queries built with it stay
/// `&'static str`, which sqlx takes as safe SQL.
macro_rules! columns {
    () => {
        "id_hash, account_id, staff_id, remember, data, created_at, last_seen_at, \
         expires_at, may_change_password"
    };
}

/// A session to create.
#[derive(Debug, Clone, Default)]
pub struct NewSession<'a> {
    pub id_hash: &'a str,
    /// The signed-in account; `None` for a registration draft or a staff session.
    pub account_id: Option<AccountId>,
    /// The signed-in staff member; `None` for a contractor's session.
    pub staff_id: Option<i64>,
    pub remember: bool,
    pub may_change_password: bool,
    pub data: &'a str,
    pub expires_at: Millis,
}

pub async fn create(pool: &AnyPool, s: &NewSession<'_>, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO sessions (id_hash, account_id, csrf_token, remember, data, created_at, \
         last_seen_at, expires_at, may_change_password, staff_id) \
         VALUES ($1, $2, '', $3, $4, $5, $5, $6, $7, $8)",
    )
    .bind(s.id_hash)
    .bind(s.account_id)
    .bind(i64::from(s.remember))
    .bind(s.data)
    .bind(now)
    .bind(s.expires_at)
    .bind(i64::from(s.may_change_password))
    .bind(s.staff_id)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn get(pool: &AnyPool, id_hash: &str) -> Result<Option<Session>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM sessions WHERE id_hash = $1"
    ))
    .bind(id_hash)
    .fetch_optional(pool)
    .await
}

pub async fn touch(pool: &AnyPool, id_hash: &str, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id_hash = $1")
        .bind(id_hash)
        .bind(now)
        .execute(pool)
        .await?;
    Ok(())
}

pub async fn delete(pool: &AnyPool, id_hash: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
        .bind(id_hash)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends every session of an account (after a reset, a password change or a "this wasn't me").
pub async fn delete_for_account(tx: &mut Tx, account_id: AccountId) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a staff member (when their login is disabled).
pub async fn delete_for_staff(tx: &mut Tx, staff_id: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE staff_id = $1")
        .bind(staff_id)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// Removes expired sessions.
pub async fn purge_expired(pool: &AnyPool, now: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
