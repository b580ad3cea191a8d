//! Conversations as the channels use them: open one under the channel's key, read it, change
//! it safely, use it up once. Every channel keeps its state here — the phone call by its
//! CallSid, a text by its MessageSid, the email thread by its Message-ID, the kiosk visit by
//! the digest of its cookie — so any instance can answer the next request.
//!
//! Changes go through [`Conversations::update`]: read, apply the channel's change, write with
//! the version read; when another request wrote first, read again and apply the change again,
//! a bounded number of times. Two webhooks of one call that land on two instances at once
//! therefore both take effect, neither silently undoing the other.
//!
//! Narrow inputs: the store and the clock, nothing of the web.

use std::time::Duration;

use crate::clock::{SharedClock, duration_ms};
use crate::domain::channel::Channel;
use crate::domain::conversation::{Conversation, ConversationKey};
use crate::store::Store;
use crate::store::conversations::{self, NewConversation, Opened, UpdateError};

/// How many times [`Conversations::update`] reads and tries again before giving up. With at
/// most this many requests changing one conversation at once, every one of them lands: each
/// lost try means another request's change was written.
pub const MAX_TRIES: usize = 8;

/// Why a conversation could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ConversationError {
    /// No live conversation under the key: never opened, expired, or used up.
    #[error("no live conversation under this key")]
    Gone,
    /// Other requests kept writing first, [`MAX_TRIES`] times over.
    #[error("the conversation kept changing under {0} tries; nothing was written")]
    Contended(usize),
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
}

/// The conversations of every channel, over the store and the clock. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Conversations {
    store: Store,
    clock: SharedClock,
}

impl Conversations {
    pub fn new(store: Store, clock: SharedClock) -> Conversations {
        Conversations { store, clock }
    }

    /// The live conversation under the key, or a new one as `new` says that lasts
    /// `lifetime` (see [`conversations::open`]).
    pub async fn open(
        &self,
        new: &NewConversation<'_>,
        lifetime: Duration,
    ) -> Result<Opened, sqlx::Error> {
        let now = self.clock.now_ms();
        conversations::open(
            self.store.pool(),
            new,
            now.saturating_add(duration_ms(lifetime)),
            now,
        )
        .await
    }

    /// The live conversation (not used, not expired) under the key.
    pub async fn live(
        &self,
        channel: Channel,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, sqlx::Error> {
        conversations::live(self.store.pool(), channel, key, self.clock.now_ms()).await
    }

    /// The conversation under the key, used or not, until it expires.
    pub async fn recent(
        &self,
        channel: Channel,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, sqlx::Error> {
        conversations::recent(self.store.pool(), channel, key, self.clock.now_ms()).await
    }

    /// Changes the live conversation under the key: `change` is applied to a fresh read and
    /// the result written if nobody wrote in between; otherwise it is read and `change`
    /// applied again, up to [`MAX_TRIES`] times. `change` may run several times, so it must
    /// only change the conversation it is given (and say what it decided in its result).
    /// Returns the conversation as stored and `change`'s result of the try that was written.
    pub async fn update<T>(
        &self,
        channel: Channel,
        key: &ConversationKey,
        change: impl FnMut(&mut Conversation) -> T,
    ) -> Result<(Conversation, T), ConversationError> {
        self.change(channel, key, None, change).await
    }

    /// [`Conversations::update`] for a caller that holds the conversation as it last wrote or
    /// read it: `change` is applied to `read` and written at once if nobody wrote since (one
    /// statement instead of two); otherwise as `update` does, from a fresh read.
    pub async fn update_from<T>(
        &self,
        read: Conversation,
        key: &ConversationKey,
        change: impl FnMut(&mut Conversation) -> T,
    ) -> Result<(Conversation, T), ConversationError> {
        self.change(read.channel, key, Some(read), change).await
    }

    async fn change<T>(
        &self,
        channel: Channel,
        key: &ConversationKey,
        mut read: Option<Conversation>,
        mut change: impl FnMut(&mut Conversation) -> T,
    ) -> Result<(Conversation, T), ConversationError> {
        // One connection for the reads and writes (a checkout is a round trip of its own).
        let mut conn = self.store.pool().acquire().await?;
        for _ in 0..MAX_TRIES {
            let now = self.clock.now_ms();
            let mut c = match read.take() {
                Some(c) => c,
                None => match conversations::live(&mut *conn, channel, key, now).await? {
                    Some(c) => c,
                    None => return Err(ConversationError::Gone),
                },
            };
            let decided = change(&mut c);
            match conversations::update(&mut *conn, &c, now).await {
                Ok(saved) => return Ok((saved, decided)),
                Err(UpdateError::Conflict) => continue,
                Err(UpdateError::Store(e)) => return Err(e.into()),
            }
        }
        Err(ConversationError::Contended(MAX_TRIES))
    }

    /// Uses the live conversation under the key up, exactly once even under parallel
    /// requests; `None` when it is not live (never opened, expired, or already used).
    pub async fn use_up(
        &self,
        channel: Channel,
        key: &ConversationKey,
    ) -> Result<Option<Conversation>, sqlx::Error> {
        conversations::use_up(self.store.pool(), channel, key, self.clock.now_ms()).await
    }
}
