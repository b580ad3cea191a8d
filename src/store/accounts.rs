//! Portal accounts: password hash, a pending temporary password, the forced-change flag, the
//! security question.

use sqlx::AnyPool;

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::{AccountId, ContractorId};

#[derive(Debug, Clone)]
pub struct Account {
    pub id: AccountId,
    pub contractor_id: ContractorId,
    pub password_hash: Option<String>,
    pub must_change: i64,
    pub temporary_hash: Option<String>,
    pub temporary_expires_at: Option<Millis>,
    pub security_question: Option<String>,
    pub security_answer_hash: Option<String>,
    pub frozen: i64,
}

crate::store::from_row!(Account {
    id,
    contractor_id,
    password_hash,
    must_change,
    temporary_hash,
    temporary_expires_at,
    security_question,
    security_answer_hash,
    frozen
});

impl Account {
    pub fn must_change(&self) -> bool {
        self.must_change != 0
    }
    pub fn is_frozen(&self) -> bool {
        self.frozen != 0
    }
    /// The temporary password's hash while it may still be used to sign in.
    pub fn live_temporary_hash(&self, now: Millis) -> Option<&str> {
        match (self.temporary_hash.as_deref(), self.temporary_expires_at) {
            (Some(h), Some(exp)) if now < exp => Some(h),
            _ => None,
        }
    }
}

/// The columns a row is read from. A macro, not a `const`: queries built with it stay
/// `&'static str`, which sqlx takes as safe SQL.
macro_rules! columns {
    () => {
        "id, contractor_id, password_hash, must_change, temporary_hash, \
         temporary_expires_at, security_question, security_answer_hash, frozen"
    };
}

/// Creates an account holding a (temporary or chosen) password hash.
pub async fn create(
    tx: &mut Tx,
    contractor_id: ContractorId,
    password_hash: &str,
    must_change: bool,
    now: Millis,
) -> Result<AccountId, sqlx::Error> {
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

/// The contractor's account, created without any password if there is none yet (a first
/// login: a reset link or temporary password then sets it).
pub async fn ensure(
    tx: &mut Tx,
    contractor_id: ContractorId,
    now: Millis,
) -> Result<Account, sqlx::Error> {
    sqlx::query(
        "INSERT INTO accounts (contractor_id, must_change, created_at, updated_at) \
         VALUES ($1, 1, $2, $2) ON CONFLICT (contractor_id) DO NOTHING",
    )
    .bind(contractor_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM accounts WHERE contractor_id = $1"
    ))
    .bind(contractor_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn by_id(pool: &AnyPool, id: AccountId) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM accounts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await
}

pub async fn by_contractor(
    pool: &AnyPool,
    contractor_id: ContractorId,
) -> Result<Option<Account>, sqlx::Error> {
    sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM accounts WHERE contractor_id = $1"
    ))
    .bind(contractor_id)
    .fetch_optional(pool)
    .await
}

/// Stores a new temporary password; the current password keeps working until it is used.
pub async fn set_temporary(
    tx: &mut Tx,
    account_id: AccountId,
    temporary_hash: &str,
    expires_at: Millis,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET temporary_hash = $2, temporary_expires_at = $3, updated_at = $4 \
         WHERE id = $1",
    )
    .bind(account_id)
    .bind(temporary_hash)
    .bind(expires_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A sign-in with the temporary password used it up; the account must now choose a password.
/// Conditional, so two sign-ins racing with one temporary password cannot both win.
pub async fn spend_temporary(
    pool: &AnyPool,
    account_id: AccountId,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE accounts SET temporary_expires_at = $2, must_change = 1, updated_at = $2 \
         WHERE id = $1 AND temporary_expires_at > $2",
    )
    .bind(account_id)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Sets a chosen password (and, when given, the security question), ending any temporary one.
pub async fn set_password(
    tx: &mut Tx,
    account_id: AccountId,
    password_hash: &str,
    question: Option<(&str, &str)>,
    now: Millis,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET password_hash = $2, must_change = 0, temporary_hash = NULL, \
         temporary_expires_at = NULL, \
         security_question = COALESCE($3, security_question), \
         security_answer_hash = COALESCE($4, security_answer_hash), updated_at = $5 \
         WHERE id = $1",
    )
    .bind(account_id)
    .bind(password_hash)
    .bind(question.map(|q| q.0))
    .bind(question.map(|q| q.1))
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// "This wasn't me": no temporary password, no sign-in until staff have looked.
pub async fn freeze(tx: &mut Tx, account_id: AccountId, now: Millis) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE accounts SET frozen = 1, temporary_hash = NULL, temporary_expires_at = NULL, \
         updated_at = $2 WHERE id = $1",
    )
    .bind(account_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Revokes every secret the contractor could still use or receive: links not yet used, the
/// temporary password, and queued messages that carry one. Called when a phone or email on
/// record changes and when the owner says "this wasn't me", so no secret outlives the facts it
/// was sent on. Returns how many links and messages went.
pub async fn revoke_secrets(
    tx: &mut Tx,
    contractor_id: ContractorId,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let links = void_pending_secrets(tx, contractor_id, now).await?;
    sqlx::query(
        "UPDATE accounts SET temporary_hash = NULL, temporary_expires_at = NULL, updated_at = $2 \
         WHERE contractor_id = $1 AND temporary_hash IS NOT NULL",
    )
    .bind(contractor_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let messages = super::outbox::drop_secrets_of(tx, contractor_id).await?;
    Ok(links + messages)
}

/// Voids every reset link not yet used for the contractor's account: called whenever a
/// credential changes or a newer link is sent, so an old link never outlives the facts it was
/// sent on.
pub async fn void_pending_secrets(
    tx: &mut Tx,
    contractor_id: ContractorId,
    now: Millis,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE reset_tokens SET voided_at = $2 \
         WHERE used_at IS NULL AND voided_at IS NULL AND purpose = 'reset' \
         AND account_id IN (SELECT id FROM accounts WHERE contractor_id = $1)",
    )
    .bind(contractor_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Staff lift a "this wasn't me" freeze. True when the account was frozen.
pub async fn unfreeze(
    tx: &mut Tx,
    account_id: AccountId,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE accounts SET frozen = 0, updated_at = $2 WHERE id = $1 AND frozen = 1")
            .bind(account_id)
            .bind(now)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}
