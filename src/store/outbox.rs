//! Queued messages (emails, texts, callback calls). A message is written in the same
//! transaction as the change that causes it; a worker claims one at a time under a lease, so a
//! worker that dies mid-delivery leaves the message to be taken again once the lease runs out.
//! Twilio's status callbacks are recorded on the row of the sid it handed out, and only ever
//! move it forward (see `crate::domain::delivery`).

use sqlx::{AnyPool, AssertSqlSafe};

use super::Tx;
use crate::clock::Millis;
use crate::domain::ids::{ContractorId, MessageId};

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub channel: Channel,
    /// Which template made it (`reset_link`, …): for logs and metrics, never the body.
    pub template: &'static str,
    /// Whose message it is, so an undeliverable one lands on the right ticket.
    pub contractor_id: Option<ContractorId>,
    pub recipient: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: Option<String>,
    pub message_id: String,
    /// When the secret inside stops working; an expired secret is never sent.
    pub secret_expires_at: Option<Millis>,
    /// The Message-ID (`<…>`) of the email this one answers, for In-Reply-To/References.
    pub in_reply_to: Option<String>,
}

/// How a message goes out: `Channel::Email`, `Channel::Sms`, or `Channel::Voice` for a call
/// (the table refuses others).
pub use crate::domain::channel::Channel;

/// A claimed or stored message.
#[derive(Debug, Clone)]
pub struct QueuedMessage {
    pub id: MessageId,
    pub channel: String,
    pub template: String,
    pub contractor_id: Option<ContractorId>,
    pub recipient: String,
    pub subject: String,
    pub body_text: Option<String>,
    pub body_html: Option<String>,
    pub message_id: String,
    pub secret_expires_at: Option<Millis>,
    pub status: String,
    pub attempts: i64,
    pub next_attempt_at: Millis,
    pub last_error: Option<String>,
    pub provider_id: Option<String>,
    pub sent_at: Option<Millis>,
    /// Twilio's last reported status (`delivered`, `no-answer`, …).
    pub delivery_status: Option<String>,
    /// When the text was delivered or the call answered.
    pub delivered_at: Option<Millis>,
    /// Twilio's error code for a failed text or call.
    pub error_code: Option<String>,
    /// When it was counted against the daily caps on texts and calls.
    pub cap_counted_at: Option<Millis>,
    /// The Message-ID (`<…>`) of the email this one answers.
    pub in_reply_to: Option<String>,
}

crate::store::from_row!(QueuedMessage {
    id,
    channel,
    template,
    contractor_id,
    recipient,
    subject,
    body_text,
    body_html,
    message_id,
    secret_expires_at,
    status,
    attempts,
    next_attempt_at,
    last_error,
    provider_id,
    sent_at,
    delivery_status,
    delivered_at,
    error_code,
    cap_counted_at,
    in_reply_to
});

/// The columns a row is read from. A macro, not a `const`: queries built with it stay
/// `&'static str`, which sqlx takes as safe SQL.
macro_rules! columns {
    () => {
        "id, channel, template, contractor_id, recipient, subject, body_text, body_html, \
         message_id, secret_expires_at, status, attempts, next_attempt_at, last_error, \
         provider_id, sent_at, delivery_status, delivered_at, error_code, cap_counted_at, \
         in_reply_to"
    };
}

pub async fn enqueue(tx: &mut Tx, m: &NewMessage, now: Millis) -> Result<MessageId, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO outbox (channel, template, recipient, subject, body_text, body_html, \
         message_id, secret_expires_at, next_attempt_at, created_at, contractor_id, in_reply_to) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $11) RETURNING id",
    )
    .bind(m.channel.as_str())
    .bind(m.template)
    .bind(&m.recipient)
    .bind(&m.subject)
    .bind(&m.body_text)
    .bind(&m.body_html)
    .bind(&m.message_id)
    .bind(m.secret_expires_at)
    .bind(now)
    .bind(m.contractor_id)
    .bind(&m.in_reply_to)
    .fetch_one(&mut **tx)
    .await
}

/// Takes the next due message for `owner` until `lease_until`. The outer condition is checked
/// again on the row being updated, so two workers racing for one message cannot both win.
pub async fn claim_due(
    pool: &AnyPool,
    owner: &str,
    now: Millis,
    lease_until: Millis,
) -> Result<Option<QueuedMessage>, sqlx::Error> {
    sqlx::query_as(concat!(
        "UPDATE outbox SET lease_owner = $1, lease_until = $2 \
         WHERE id = (SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= $3 \
                     AND (lease_until IS NULL OR lease_until <= $3) \
                     ORDER BY next_attempt_at, id LIMIT 1) \
         AND status = 'pending' AND (lease_until IS NULL OR lease_until <= $3) \
         RETURNING ",
        columns!()
    ))
    .bind(owner)
    .bind(lease_until)
    .bind(now)
    .fetch_optional(pool)
    .await
}

/// Marks a delivered message sent and clears its body: the secret in it is no longer needed.
pub async fn mark_sent(
    pool: &AnyPool,
    id: MessageId,
    owner: &str,
    now: Millis,
    provider_id: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'sent', sent_at = $3, attempts = attempts + 1, \
         provider_id = $4, body_text = NULL, body_html = NULL, lease_owner = NULL, \
         lease_until = NULL, last_error = NULL WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .bind(provider_id)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records a transient failure and when to try again.
pub async fn reschedule(
    pool: &AnyPool,
    id: MessageId,
    owner: &str,
    next_attempt_at: Millis,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = $3, last_error = $4, \
         lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(next_attempt_at)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Dead-letters a message (inside the transaction that opens its ticket) and clears its body.
pub async fn mark_dead(
    tx: &mut Tx,
    id: MessageId,
    owner: &str,
    counted_attempt: bool,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'dead', attempts = attempts + $3, last_error = $4, \
         body_text = NULL, body_html = NULL, lease_owner = NULL, lease_until = NULL \
         WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(i64::from(counted_attempt))
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Drops the contractor's queued messages that carry a secret (their contact changed, or the
/// owner froze the account): marked dead without a ticket, bodies cleared. The worker also
/// re-checks the recipient right before sending, for a change that lands mid-delivery.
pub async fn drop_secrets_of(tx: &mut Tx, contractor_id: ContractorId) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'dead', last_error = 'voided: its secret was revoked', \
         body_text = NULL, body_html = NULL \
         WHERE contractor_id = $1 AND status = 'pending' AND secret_expires_at IS NOT NULL",
    )
    .bind(contractor_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected())
}

/// Drops a claimed message without a ticket: its recipient is no longer on record.
pub async fn mark_dropped(
    pool: &AnyPool,
    id: MessageId,
    owner: &str,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE outbox SET status = 'dead', last_error = $3, body_text = NULL, body_html = NULL, \
         lease_owner = NULL, lease_until = NULL WHERE id = $1 AND lease_owner = $2",
    )
    .bind(id)
    .bind(owner)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn by_id(pool: &AnyPool, id: MessageId) -> Result<Option<QueuedMessage>, sqlx::Error> {
    sqlx::query_as(concat!("SELECT ", columns!(), " FROM outbox WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// Marks a claimed message counted against the caps, in the caller's transaction (the one that
/// spends the caps). `Ok(None)` when the lease was lost; `Ok(Some(false))` when it was counted
/// already (an earlier try), so a retry is not counted twice.
pub async fn count_against_caps(
    tx: &mut Tx,
    id: MessageId,
    owner: &str,
    now: Millis,
) -> Result<Option<bool>, sqlx::Error> {
    let counted = sqlx::query(
        "UPDATE outbox SET cap_counted_at = $3 \
         WHERE id = $1 AND lease_owner = $2 AND cap_counted_at IS NULL",
    )
    .bind(id)
    .bind(owner)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    if counted.rows_affected() == 1 {
        return Ok(Some(true));
    }
    let still_ours: Option<i64> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1 AND lease_owner = $2")
            .bind(id)
            .bind(owner)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(still_ours.map(|_| false))
}

/// A status report to record on the message Twilio knows as `provider_id`.
#[derive(Debug, Clone)]
pub struct DeliveryReport<'a> {
    pub channel: Channel,
    pub provider_id: &'a str,
    /// Twilio's word, stored as it is.
    pub status: &'a str,
    /// The words this report may replace (earlier in the order of events); none recorded yet
    /// may always be replaced.
    pub replaces: &'a [&'static str],
    /// Set when the text was delivered or the call answered.
    pub delivered_at: Option<Millis>,
    pub error_code: Option<&'a str>,
}

/// The message a report was recorded on, as it was sent.
#[derive(Debug, Clone)]
pub struct ReportedMessage {
    pub id: MessageId,
    pub template: String,
    pub contractor_id: Option<ContractorId>,
    pub recipient: String,
    /// For a call: the path of its TwiML.
    pub subject: String,
}

crate::store::from_row!(ReportedMessage {
    id,
    template,
    contractor_id,
    recipient,
    subject
});

/// What recording a report did.
#[derive(Debug, Clone)]
pub enum Recorded {
    /// This report moved the message forward; the caller acts on it in the same transaction.
    Moved(ReportedMessage),
    /// The message already had this word or a later one: a replay, or a report out of order.
    Unchanged,
    /// No message of the channel has this sid.
    Unknown,
}

/// Records a report in one conditional statement: of parallel deliveries of one report, one
/// moves the message and the others find it `Unchanged`. The words in `replaces` are the
/// domain's fixed names, never the request's.
pub async fn record_delivery(tx: &mut Tx, r: &DeliveryReport<'_>) -> Result<Recorded, sqlx::Error> {
    let earlier = if r.replaces.is_empty() {
        String::new()
    } else {
        let words: Vec<String> = r
            .replaces
            .iter()
            .filter(|w| {
                w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b == b'_')
            })
            .map(|w| format!("'{w}'"))
            .collect();
        format!(" OR delivery_status IN ({})", words.join(", "))
    };
    // Safe to splice: `earlier` holds only quoted words of [a-z_-] (filtered just above), and
    // those words are the domain's fixed status names, never a request's; every value from
    // the report itself is bound.
    let moved: Option<ReportedMessage> = sqlx::query_as(AssertSqlSafe(format!(
        "UPDATE outbox SET delivery_status = $3, \
         delivered_at = COALESCE(delivered_at, $4), error_code = COALESCE($5, error_code) \
         WHERE channel = $1 AND provider_id = $2 AND (delivery_status IS NULL{earlier}) \
         RETURNING id, template, contractor_id, recipient, subject"
    )))
    .bind(r.channel.as_str())
    .bind(r.provider_id)
    .bind(r.status)
    .bind(r.delivered_at)
    .bind(r.error_code)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(m) = moved {
        return Ok(Recorded::Moved(m));
    }
    let known: Option<i64> =
        sqlx::query_scalar("SELECT id FROM outbox WHERE channel = $1 AND provider_id = $2")
            .bind(r.channel.as_str())
            .bind(r.provider_id)
            .fetch_optional(&mut **tx)
            .await?;
    Ok(if known.is_some() {
        Recorded::Unchanged
    } else {
        Recorded::Unknown
    })
}

/// Messages not yet sent nor dead-lettered.
pub async fn depth(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE status = 'pending'")
        .fetch_one(pool)
        .await
}

/// The earliest time a pending message is due, if any: how long an idle worker may sleep.
pub async fn next_due(pool: &AnyPool) -> Result<Option<Millis>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN lease_until IS NOT NULL AND lease_until > next_attempt_at \
         THEN lease_until ELSE next_attempt_at END) FROM outbox WHERE status = 'pending'",
    )
    .fetch_one(pool)
    .await
}
