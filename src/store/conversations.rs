//! Conversations of every channel (calls, SMS threads, email threads, kiosk visits), one row
//! each, found by (channel, key). Three rules keep instances that serve the same conversation
//! from trampling each other, each one statement so it holds on both backends:
//! - `open` finds the live conversation under a key or starts one (an expired or used one
//!   under the same key is started afresh in place);
//! - `update` writes only if nobody wrote since the caller read (optimistic concurrency on
//!   `version`), and says `Conflict` otherwise;
//! - `use_up` takes a live conversation once: of parallel requests exactly one gets it.
//!
//! Channel names and identity checks are written and read through their domain types
//! (`Channel`, `Checks`) only.

use sqlx::{Any, AnyPool, Executor};

use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::domain::conversation::{Checks, Conversation, ConversationKey};
use crate::domain::ids::ContractorId;
use crate::domain::language::Lang;

/// The columns a row is read from. A macro, not a `const`: queries built with it stay
/// `&'static str`, which sqlx takes as safe SQL.
macro_rules! columns {
    () => {
        "id, channel, external_key, contractor_id, checks, attempts, language, \
         state, version, created_at, updated_at, expires_at, used_at"
    };
}

/// A conversation as stored, before its text columns are parsed.
#[derive(Debug)]
struct Row {
    id: i64,
    channel: String,
    external_key: String,
    contractor_id: Option<ContractorId>,
    checks: String,
    attempts: i64,
    language: String,
    state: String,
    version: i64,
    created_at: Millis,
    updated_at: Millis,
    expires_at: Millis,
    used_at: Option<Millis>,
}

crate::store::from_row!(Row {
    id,
    channel,
    external_key,
    contractor_id,
    checks,
    attempts,
    language,
    state,
    version,
    created_at,
    updated_at,
    expires_at,
    used_at
});

impl TryFrom<Row> for Conversation {
    type Error = sqlx::Error;

    fn try_from(r: Row) -> Result<Self, Self::Error> {
        let id = r.id;
        let bad =
            move |what: String| sqlx::Error::Decode(format!("conversation {id}: {what}").into());
        Ok(Conversation {
            id: r.id,
            channel: r.channel.parse().map_err(|e| bad(format!("{e}")))?,
            checks: r.checks.parse().map_err(|e| bad(format!("{e}")))?,
            attempts: u32::try_from(r.attempts).map_err(|_| bad("attempts out of range".into()))?,
            key: r.external_key,
            contractor_id: r.contractor_id,
            language: Lang::from_stored(&r.language),
            state: r.state,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            expires_at: r.expires_at,
            used_at: r.used_at,
        })
    }
}

fn parsed(row: Option<Row>) -> Result<Option<Conversation>, sqlx::Error> {
    row.map(Conversation::try_from).transpose()
}

/// A conversation to start.
#[derive(Debug, Clone)]
pub struct NewConversation<'a> {
    pub channel: Channel,
    pub key: &'a ConversationKey,
    pub contractor_id: Option<ContractorId>,
    pub checks: Checks,
    pub language: Lang,
    pub state: &'a str,
}

/// What `open` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Opened {
    /// Nothing live held the key: this conversation starts now, as asked.
    Started(Conversation),
    /// A live conversation already held the key; it is returned unchanged.
    Resumed(Conversation),
}

impl Opened {
    pub fn conversation(&self) -> &Conversation {
        match self {
            Opened::Started(c) | Opened::Resumed(c) => c,
        }
    }

    pub fn into_conversation(self) -> Conversation {
        match self {
            Opened::Started(c) | Opened::Resumed(c) => c,
        }
    }
}

/// Finds the live conversation under (channel, key) or starts one that ends at `expires_at`.
/// An expired or used conversation under the same key is started afresh in place (its
/// version still goes up, so a writer holding the old one loses). Parallel opens of one key
/// agree on one conversation: the unique (channel, key) decides, and the losers resume it.
pub async fn open(
    pool: &AnyPool,
    new: &NewConversation<'_>,
    expires_at: Millis,
    now: Millis,
) -> Result<Opened, sqlx::Error> {
    let insert = concat!(
        "INSERT INTO conversations (channel, external_key, contractor_id, checks, attempts, \
         language, state, version, created_at, updated_at, expires_at, used_at) \
         VALUES ($1, $2, $3, $4, 0, $5, $6, 1, $7, $7, $8, NULL) \
         ON CONFLICT (channel, external_key) DO UPDATE SET \
         contractor_id = excluded.contractor_id, checks = excluded.checks, attempts = 0, \
         language = excluded.language, state = excluded.state, \
         version = conversations.version + 1, created_at = excluded.created_at, \
         updated_at = excluded.updated_at, expires_at = excluded.expires_at, used_at = NULL \
         WHERE conversations.used_at IS NOT NULL OR conversations.expires_at <= $7 \
         RETURNING ",
        columns!()
    );
    // A live conversation can end between the two statements; the next round then starts
    // afresh. Two rounds suffice; the third is for safety. One connection serves them all.
    let mut conn = pool.acquire().await?;
    for _ in 0..3 {
        let started: Option<Row> = sqlx::query_as(insert)
            .bind(new.channel.as_str())
            .bind(new.key.as_str())
            .bind(new.contractor_id)
            .bind(new.checks.to_string())
            .bind(new.language.code())
            .bind(new.state)
            .bind(now)
            .bind(expires_at)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(c) = parsed(started)? {
            // Counted for the staff dashboard, which outlives the conversation's row. A
            // separate statement: a crash between the two loses one count, never a
            // conversation.
            sqlx::query("INSERT INTO conversation_starts (channel, started_at) VALUES ($1, $2)")
                .bind(new.channel.as_str())
                .bind(now)
                .execute(&mut *conn)
                .await?;
            return Ok(Opened::Started(c));
        }
        if let Some(c) = live(&mut *conn, new.channel, new.key, now).await? {
            return Ok(Opened::Resumed(c));
        }
    }
    Err(sqlx::Error::Protocol(
        "a conversation key kept changing hands while it was opened".into(),
    ))
}

/// The live conversation (not used, not expired) under (channel, key).
pub async fn live<'e>(
    db: impl Executor<'e, Database = Any>,
    channel: Channel,
    key: &ConversationKey,
    now: Millis,
) -> Result<Option<Conversation>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM conversations WHERE channel = $1 AND external_key = $2 \
         AND used_at IS NULL AND expires_at > $3"
    ))
    .bind(channel.as_str())
    .bind(key.as_str())
    .bind(now)
    .fetch_optional(db)
    .await?;
    parsed(row)
}

/// The conversation under (channel, key) that has not expired, used or not: for what arrives
/// after a call ended (a recording, a transcription).
pub async fn recent(
    pool: &AnyPool,
    channel: Channel,
    key: &ConversationKey,
    now: Millis,
) -> Result<Option<Conversation>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM conversations WHERE channel = $1 AND external_key = $2 \
         AND expires_at > $3"
    ))
    .bind(channel.as_str())
    .bind(key.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    parsed(row)
}

/// Writes `state` on the conversation `id` if it is still at `version`, used or not (what
/// arrives after a call ended is written beside it), in the caller's transaction. False when
/// someone wrote in between.
pub async fn set_state_after(
    tx: &mut crate::store::Tx,
    id: i64,
    version: i64,
    state: &str,
    now: Millis,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE conversations SET state = $3, version = version + 1, updated_at = $4 \
         WHERE id = $1 AND version = $2",
    )
    .bind(id)
    .bind(version)
    .bind(state)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Why an update did not write.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    /// Someone wrote since `version` was read, or it was used or ended meanwhile: read it
    /// again and decide again.
    #[error("the conversation changed since it was read")]
    Conflict,
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
}

/// Writes what a channel may change (contractor, checks, attempts, language, state,
/// expiry) if the stored version is still `c.version` and the conversation is still live;
/// returns the conversation as now stored, with its new version.
pub async fn update<'e>(
    db: impl Executor<'e, Database = Any>,
    c: &Conversation,
    now: Millis,
) -> Result<Conversation, UpdateError> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "UPDATE conversations SET contractor_id = $3, checks = $4, attempts = $5, \
         language = $6, state = $7, expires_at = $8, updated_at = $9, version = version + 1 \
         WHERE id = $1 AND version = $2 AND used_at IS NULL AND expires_at > $9 \
         RETURNING ",
        columns!()
    ))
    .bind(c.id)
    .bind(c.version)
    .bind(c.contractor_id)
    .bind(c.checks.to_string())
    .bind(i64::from(c.attempts))
    .bind(c.language.code())
    .bind(c.state.as_str())
    .bind(c.expires_at)
    .bind(now)
    .fetch_optional(db)
    .await?;
    parsed(row)?.ok_or(UpdateError::Conflict)
}

/// Uses the live conversation under (channel, key) up, once: one conditional statement marks
/// it used and returns it, so of parallel requests exactly one gets it back.
pub async fn use_up(
    pool: &AnyPool,
    channel: Channel,
    key: &ConversationKey,
    now: Millis,
) -> Result<Option<Conversation>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(concat!(
        "UPDATE conversations SET used_at = $3, updated_at = $3, version = version + 1 \
         WHERE channel = $1 AND external_key = $2 AND used_at IS NULL AND expires_at > $3 \
         RETURNING ",
        columns!()
    ))
    .bind(channel.as_str())
    .bind(key.as_str())
    .bind(now)
    .fetch_optional(pool)
    .await?;
    parsed(row)
}

/// Removes conversations that have ended (used ones go when their time is up too).
pub async fn purge_expired(pool: &AnyPool, now: Millis) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM conversations WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    Ok(done.rows_affected())
}
