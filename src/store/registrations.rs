//! Self-registrations that staff must review (no roster match). Secrets are stored hashed.

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::TicketId;

#[derive(Debug, Clone)]
pub struct NewRegistration<'a> {
    pub license_number: &'a str,
    pub business_name: &'a str,
    pub contact_name: &'a str,
    pub phone: &'a str,
    pub email: &'a str,
    pub workers_comp_policy: Option<&'a str>,
    pub workers_comp_expires: Option<&'a str>,
    pub password_hash: &'a str,
    pub security_question: &'a str,
    pub security_answer_hash: &'a str,
}

pub async fn insert(tx: &mut Tx, r: &NewRegistration<'_>, now: Millis) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO registrations (license_number, business_name, contact_name, phone, email, \
         workers_comp_policy, workers_comp_expires, password_hash, security_question, \
         security_answer_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
    )
    .bind(r.license_number)
    .bind(r.business_name)
    .bind(r.contact_name)
    .bind(r.phone)
    .bind(r.email)
    .bind(r.workers_comp_policy)
    .bind(r.workers_comp_expires)
    .bind(r.password_hash)
    .bind(r.security_question)
    .bind(r.security_answer_hash)
    .bind(now)
    .fetch_one(&mut **tx)
    .await
}

pub async fn link_ticket(tx: &mut Tx, id: i64, ticket: TicketId) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE registrations SET ticket_id = $2 WHERE id = $1")
        .bind(id)
        .bind(ticket)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A registration waiting for (or past) staff review. The password and answer are hashes.
#[derive(Debug, Clone)]
pub struct Registration {
    pub id: i64,
    pub license_number: String,
    pub business_name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub password_hash: String,
    pub security_question: String,
    pub security_answer_hash: String,
    pub status: String,
}

crate::store::from_row!(Registration {
    id,
    license_number,
    business_name,
    contact_name,
    phone,
    email,
    password_hash,
    security_question,
    security_answer_hash,
    status
});

/// The registration a ticket was opened for.
pub async fn by_ticket(
    pool: &sqlx::AnyPool,
    ticket: TicketId,
) -> Result<Option<Registration>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, license_number, business_name, contact_name, phone, email, password_hash, \
         security_question, security_answer_hash, status FROM registrations WHERE ticket_id = $1 \
         ORDER BY id LIMIT 1",
    )
    .bind(ticket)
    .fetch_optional(pool)
    .await
}

/// Decides a pending registration (`approved` or `rejected`): one conditional write, so of
/// two staff deciding at once exactly one wins. True for the winner.
pub async fn decide(tx: &mut Tx, id: i64, status: &str) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE registrations SET status = $2 WHERE id = $1 AND status = 'pending'")
            .bind(id)
            .bind(status)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}
