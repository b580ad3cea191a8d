//! Call backs: a verified caller asks for a call to the phone on record, on which the temporary
//! password is read aloud. The call is placed through the outbox like a text, with its own
//! conversation (`cb-…`, not the caller's CallSid) that its webhooks find through the `c`
//! parameter of their URLs.
//!
//! The password is made only when someone on the phone on record presses 1 (not for a
//! voicemail greeting), and it is never stored in clear: it is derived from the server's
//! `callbacks` key and the conversation's key, so "press 1 to hear it again" derives it again.
//! Only its argon2 hash is kept, on the account, as for every temporary password.

use super::*;
use crate::domain::conversation::{Check, Checks, ConversationKey};
use crate::domain::secret::temporary_password_from;
use crate::outbox::{CALLBACK, queue_call};
use crate::store::conversations::{NewConversation, Opened};

/// How a call back's conversation key begins; the rest is 128 random bits.
pub const CALLBACK_KEY_PREFIX: &str = "cb-";

/// How long a call back's conversation lives beyond the password's lifetime: the call must be
/// placed within the password's lifetime (the outbox drops it after), then may last a while.
const CALL_LENGTH: Duration = Duration::from_secs(30 * 60);

/// A call back queued: the conversation its webhooks continue, and where it rings (masked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackPlaced {
    pub key: ConversationKey,
    pub to: String,
}

/// What [`Recovery::place_callback`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackOutcome {
    Placed(CallbackPlaced),
    /// Calls are off, no phone is on record, or the account is frozen.
    NoDestination,
    /// A call back went to this account or phone too recently.
    TooSoon,
}

/// True for a conversation key a call back's webhooks may name.
pub fn is_callback_key(key: &str) -> bool {
    key.strip_prefix(CALLBACK_KEY_PREFIX)
        .is_some_and(|rest| rest.len() == 32 && rest.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl Recovery<'_> {
    /// Queues a call back to the phone on record of a contractor whose phone was verified on
    /// this call. `state` is the call back's first conversation state, the adapter's own (it
    /// is opened here, under a fresh key, before the call is queued). The send budget is the
    /// same kind of budget as a text's, under its own name.
    pub async fn place_callback(
        &self,
        contractor_id: ContractorId,
        state: &str,
    ) -> Result<CallbackOutcome> {
        if !self.st.settings.twilio.voice_enabled {
            return Ok(CallbackOutcome::NoDestination);
        }
        let Some(contractor) = contractors::by_id(self.st.store.pool(), contractor_id).await?
        else {
            return Ok(CallbackOutcome::NoDestination);
        };
        let Some(phone) = contractor.fields.phone_on_record() else {
            return Ok(CallbackOutcome::NoDestination);
        };
        let now = self.now();
        let tx = match self
            .begin_send(&contractor, "callback", phone.as_str(), now)
            .await?
        {
            Ok((tx, _account)) => tx,
            Err(SendOutcome::TooSoon) => return Ok(CallbackOutcome::TooSoon),
            Err(_) => return Ok(CallbackOutcome::NoDestination),
        };
        tx.commit().await?;
        let lifetime = self.st.settings.temporary_password_lifetime;
        let id = format!("{CALLBACK_KEY_PREFIX}{}", random_token(16));
        let Some(key) = ConversationKey::plain(&id) else {
            return Ok(CallbackOutcome::NoDestination);
        };
        let opened = self
            .st
            .conversations()
            .open(
                &NewConversation {
                    channel: Channel::Voice,
                    key: &key,
                    contractor_id: Some(contractor.id),
                    checks: Checks::of(&[Check::Number, Check::Phone]),
                    language: self.lang,
                    state,
                },
                lifetime + CALL_LENGTH,
            )
            .await?;
        if !matches!(opened, Opened::Started(_)) {
            // 128 random bits met a live key: nothing is queued on someone else's call.
            return Ok(CallbackOutcome::NoDestination);
        }
        let mut tx = self.st.store.begin_write().await?;
        let path = format!("/twilio/voice/callback?c={id}");
        queue_call(
            &mut tx,
            &phone,
            CALLBACK,
            &path,
            Some(contractor.id),
            Some(now + duration_ms(lifetime)),
            now,
        )
        .await?;
        let to = phone.masked();
        self.audit(
            &mut tx,
            &contractor,
            "callback_placed",
            Channel::Voice,
            format!("a call back to {to}"),
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(CallbackOutcome::Placed(CallbackPlaced { key, to }))
    }

    /// Someone on the phone on record answered the call back and pressed 1: the temporary
    /// password is set on the account (single use, the usual lifetime) and audited. Returns
    /// its lifetime, or `None` when the call back is no longer live or its account is frozen
    /// (the caller then hears nothing secret).
    pub async fn issue_callback_password(&self, key: &ConversationKey) -> Result<Option<Duration>> {
        let Some(conv) = self.st.conversations().live(Channel::Voice, key).await? else {
            return Ok(None);
        };
        let (Some(contractor_id), true) = (
            conv.contractor_id,
            is_callback_key(key.as_str()) && conv.checks.contains(Check::Phone),
        ) else {
            return Ok(None);
        };
        let Some(contractor) = contractors::by_id(self.st.store.pool(), contractor_id).await?
        else {
            return Ok(None);
        };
        let temp = self.callback_password(key);
        let hash = self.st.hasher.hash(&temp).await?;
        let now = self.now();
        let lifetime = self.st.settings.temporary_password_lifetime;
        let mut tx = self.st.store.begin_write().await?;
        let account = accounts::ensure(&mut tx, contractor.id, now).await?;
        if account.is_frozen() {
            tx.rollback().await?;
            return Ok(None);
        }
        accounts::set_temporary(&mut tx, account.id, &hash, now + duration_ms(lifetime), now)
            .await?;
        // The same password may be read again on this call: the email on record is told once
        // per call back (a conditional write on the call's own budget).
        let told = format!("temp_notice:{}", &token_digest(key.as_str())[..32]);
        let once = Budget {
            every: duration_ms(lifetime).max(1),
            per_day: 1,
        };
        if budgets::spend(&mut tx, &told, once, now).await?
            && let Some(phone) = contractor.fields.phone_on_record()
        {
            self.queue_temporary_password_notice(
                &mut tx,
                &contractor,
                account.id,
                phone.last_four(),
                true,
                now,
            )
            .await?;
        }
        let to = contractor
            .fields
            .phone_on_record()
            .map_or_else(|| "the phone on record".to_string(), |p| p.masked());
        self.audit(
            &mut tx,
            &contractor,
            "temporary_password_issued",
            Channel::Voice,
            format!("read aloud on a call back to {to}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(lifetime))
    }

    /// The temporary password of the call back under `key`: the same every time it is asked
    /// for, known only to whoever holds the server's `callbacks` key.
    pub fn callback_password(&self, key: &ConversationKey) -> SecretString {
        let name = key.as_str().as_bytes();
        SecretString::from(temporary_password_from(|n| {
            self.st
                .keys
                .callbacks
                .block(&[b"callback password", name, &n.to_be_bytes()])
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_prefixed_random_keys_name_a_call_back() {
        assert!(is_callback_key(&format!("cb-{}", "a1".repeat(16))));
        assert!(!is_callback_key("CA1234567890ABCDE"));
        assert!(!is_callback_key("cb-short"));
        assert!(!is_callback_key(&format!("cb-{}", "zz".repeat(16))));
        assert!(!is_callback_key(&format!("xx-{}", "a1".repeat(16))));
    }
}
