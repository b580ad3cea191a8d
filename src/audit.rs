//! The audit log of credential events (issue, reset, change, staff override, contact change):
//! who, what, when, channel. Append-only (database triggers refuse updates and deletes) and
//! hash-chained: each event's hash covers the previous hash and every field, and the head row
//! holds the last hash, so an edited, removed or inserted row breaks the chain at that row.
//! `helpline audit verify` walks the chain. Details never hold a secret.

use sha2::{Digest, Sha256};
use sqlx::AnyPool;

use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::store::Tx;
use crate::store::audit::{self as rows, AuditRow};

/// The hash before the first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to whom, through which channel.
#[derive(Debug, Clone)]
pub struct AuditEvent<'a> {
    /// `system`, `roster-import`, `staff:7`, `contractor:C-1001`, …
    pub actor: &'a str,
    /// `contact_change`, `temporary_password_issued`, `password_changed`, `staff_added`, …
    pub action: &'a str,
    /// Whose credentials: `contractor:C-1001`, `staff:pat@city.gov`.
    pub subject: &'a str,
    pub channel: Channel,
    /// Free text without secrets (masked contacts, reasons).
    pub detail: String,
}

/// Appends an event inside the caller's transaction, so the event and the change it records
/// commit together.
pub async fn append(tx: &mut Tx, ev: &AuditEvent<'_>, now: Millis) -> Result<i64, sqlx::Error> {
    let (seq, prev_hash) = rows::advance_head(tx).await?;
    let mut row = AuditRow {
        seq,
        at: now,
        actor: ev.actor.to_string(),
        action: ev.action.to_string(),
        subject: ev.subject.to_string(),
        channel: ev.channel.to_string(),
        detail: ev.detail.clone(),
        prev_hash,
        hash: String::new(),
    };
    row.hash = chain_hash(&row);
    rows::insert(tx, &row).await?;
    Ok(seq)
}

/// SHA-256 over the previous hash and every field, each length-prefixed so no two different
/// rows can serialise alike.
pub fn chain_hash(row: &AuditRow) -> String {
    let mut h = Sha256::new();
    let seq = row.seq.to_string();
    let at = row.at.to_string();
    for part in [
        row.prev_hash.as_str(),
        &seq,
        &at,
        &row.actor,
        &row.action,
        &row.subject,
        &row.channel,
        &row.detail,
    ] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Why the chain is broken, naming the first bad event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("audit event {seq} was altered: its hash does not match its contents")]
    Altered { seq: i64 },
    #[error("audit event {seq} does not follow event {prev}: the chain link is broken")]
    Unlinked { seq: i64, prev: i64 },
    #[error("audit events are missing before event {seq} (expected {expected})")]
    Missing { seq: i64, expected: i64 },
    #[error(
        "the audit log ends at event {last} but its head records event {head}: events were removed or the head was altered"
    )]
    HeadMismatch { last: i64, head: i64 },
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Broken(#[from] ChainBreak),
    #[error("cannot read the audit log: {0}")]
    Store(#[from] sqlx::Error),
}

/// Walks the whole chain; returns the number of events checked.
pub async fn verify(pool: &AnyPool) -> Result<i64, VerifyError> {
    let mut expected_prev = GENESIS.to_string();
    let mut last = 0i64;
    // Read from the lowest sequence number there is, not from 1: a row slipped in below the
    // first event (0 or negative) must be seen to be named.
    let mut cursor = i64::MIN;
    loop {
        let page = rows::page(pool, cursor, 1000).await?;
        if page.is_empty() {
            break;
        }
        for row in page {
            cursor = row.seq;
            if row.seq != last + 1 {
                return Err(ChainBreak::Missing {
                    seq: row.seq,
                    expected: last + 1,
                }
                .into());
            }
            if row.prev_hash != expected_prev {
                return Err(ChainBreak::Unlinked {
                    seq: row.seq,
                    prev: last,
                }
                .into());
            }
            if chain_hash(&row) != row.hash {
                return Err(ChainBreak::Altered { seq: row.seq }.into());
            }
            expected_prev = row.hash;
            last = row.seq;
        }
    }
    let (head_seq, head_hash) = rows::head(pool).await?;
    if head_seq != last || head_hash != expected_prev {
        return Err(ChainBreak::HeadMismatch {
            last,
            head: head_seq,
        }
        .into());
    }
    Ok(last)
}
