//! A conversation: one phone call, SMS thread, email thread or kiosk visit, as every channel
//! keeps it between requests. Who it is about (once a number matched), which identity checks
//! passed, how many tries it took, the language, the channel's own current step, and when it
//! ends. Pure values; the store keeps them (`store::conversations`) and the recovery service
//! changes them safely (`recovery::conversation`).

use std::fmt;
use std::str::FromStr;

use crate::clock::Millis;
use crate::domain::channel::Channel;
use crate::domain::ids::ContractorId;
use crate::domain::language::Lang;
use crate::domain::secret::token_digest;

/// An identity check a contractor passed in this conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Check {
    /// A contractor or license number that matched the roster.
    Number,
    /// The phone on record: keyed in, or a caller ID the carrier vouched for.
    Phone,
    /// The email on record.
    Email,
}

impl Check {
    /// Every check, in the order they are stored.
    pub const ALL: [Check; 3] = [Check::Number, Check::Phone, Check::Email];

    pub fn as_str(self) -> &'static str {
        match self {
            Check::Number => "number",
            Check::Phone => "phone",
            Check::Email => "email",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Check::Number => 1,
            Check::Phone => 2,
            Check::Email => 4,
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored check name that Helpline does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown identity check '{0}'")]
pub struct UnknownCheck(pub String);

impl FromStr for Check {
    type Err = UnknownCheck;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Check::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownCheck(s.to_string()))
    }
}

/// The checks passed so far: a small set. Its text form (`Display` / `FromStr`) is what the
/// store keeps: the names in [`Check::ALL`] order, comma-separated (`"number,phone"`), empty
/// for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Checks(u8);

impl Checks {
    /// No check passed yet.
    pub const NONE: Checks = Checks(0);

    /// The set of `checks`.
    pub fn of(checks: &[Check]) -> Checks {
        checks.iter().fold(Checks::NONE, |set, c| set.with(*c))
    }

    /// This set and `check`.
    #[must_use]
    pub const fn with(self, check: Check) -> Checks {
        Checks(self.0 | check.bit())
    }

    pub fn insert(&mut self, check: Check) {
        *self = self.with(check);
    }

    pub fn contains(self, check: Check) -> bool {
        self.0 & check.bit() != 0
    }

    /// True when every check of `required` passed.
    pub fn contains_all(self, required: Checks) -> bool {
        self.0 & required.0 == required.0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The checks passed, in [`Check::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Check> {
        Check::ALL.into_iter().filter(move |c| self.contains(*c))
    }
}

impl fmt::Display for Checks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, check) in self.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(check.as_str())?;
        }
        Ok(())
    }
}

impl FromStr for Checks {
    type Err = UnknownCheck;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.split(',')
            .filter(|name| !name.is_empty())
            .try_fold(Checks::NONE, |set, name| Ok(set.with(name.parse()?)))
    }
}

/// How a conversation is found again: the channel's own name for it, as stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ConversationKey(String);

/// Longest key a channel may use (a Message-ID is the longest in practice).
const MAX_KEY: usize = 998;

impl ConversationKey {
    /// A name that proves nothing by itself and may be stored as it is: a CallSid, the
    /// number texting in, a Message-ID. `None` when empty, too long or holding control
    /// characters (which some databases refuse).
    pub fn plain(id: &str) -> Option<ConversationKey> {
        (!id.is_empty() && id.len() <= MAX_KEY && !id.chars().any(char::is_control))
            .then(|| ConversationKey(id.to_string()))
    }

    /// A random id that a browser holds as a bearer secret (the kiosk's cookie): only its
    /// SHA-256 is stored, so whoever reads the database cannot act as the browser.
    pub fn secret(id: &str) -> ConversationKey {
        ConversationKey(token_digest(id))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ConversationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A plain key may be a contractor's phone number: logs get its length only.
        write!(f, "ConversationKey({} chars)", self.0.len())
    }
}

/// One conversation as last read from the store.
///
/// A channel changes `contractor_id`, `checks`, `attempts`, `language`, `state` and
/// `expires_at`; the rest belongs to the store (an update ignores changes to them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversation {
    pub id: i64,
    pub channel: Channel,
    /// The stored key (see [`ConversationKey`]).
    pub key: String,
    /// The contractor it is about, once a number matched.
    pub contractor_id: Option<ContractorId>,
    /// The identity checks passed.
    pub checks: Checks,
    /// Tries so far (wrong answers, repeated prompts): the channel decides what counts.
    pub attempts: u32,
    /// The language the contractor is spoken or written to in.
    pub language: Lang,
    /// The channel's own current step (the IVR's prompt, the SMS flow's state): opaque here.
    pub state: String,
    /// Counts writes: an update must name the version it read.
    pub version: i64,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// It ends at this instant: no longer found, used or updated.
    pub expires_at: Millis,
    /// When the single-use step took it; a used conversation is over.
    pub used_at: Option<Millis>,
}

impl Conversation {
    /// Not used and not expired at `now`.
    pub fn is_live(&self, now: Millis) -> bool {
        self.used_at.is_none() && self.expires_at > now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_read_back_from_their_stored_form() {
        let all = [
            Checks::NONE,
            Checks::of(&[Check::Number]),
            Checks::of(&[Check::Phone, Check::Number]),
            Checks::of(&Check::ALL),
        ];
        for set in all {
            assert_eq!(set.to_string().parse::<Checks>(), Ok(set), "{set}");
        }
        assert_eq!(Checks::NONE.to_string(), "");
        assert_eq!(
            Checks::of(&[Check::Email, Check::Phone, Check::Number]).to_string(),
            "number,phone,email",
            "one order whatever the order of insertion"
        );
        assert_eq!(
            "phone,number,phone".parse::<Checks>(),
            Ok(Checks::of(&[Check::Number, Check::Phone]))
        );
        assert_eq!(
            "number,pin".parse::<Checks>(),
            Err(UnknownCheck("pin".into()))
        );
    }

    #[test]
    fn checks_are_a_set() {
        let mut set = Checks::NONE;
        assert!(set.is_empty());
        set.insert(Check::Phone);
        set.insert(Check::Phone);
        assert!(set.contains(Check::Phone));
        assert!(!set.contains(Check::Number));
        assert!(!set.contains_all(Checks::of(&[Check::Number, Check::Phone])));
        set.insert(Check::Number);
        assert!(set.contains_all(Checks::of(&[Check::Number, Check::Phone])));
        assert!(set.contains_all(Checks::NONE));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Check::Number, Check::Phone]
        );
    }

    #[test]
    fn secret_keys_are_stored_as_digests_and_plain_keys_are_checked() {
        let id = "a".repeat(64);
        let key = ConversationKey::secret(&id);
        assert_eq!(key.as_str(), token_digest(&id));
        assert!(!key.as_str().contains(&id));
        assert_eq!(
            ConversationKey::plain("CA0123456789abcdef").map(|k| k.as_str().to_string()),
            Some("CA0123456789abcdef".to_string())
        );
        assert!(ConversationKey::plain("").is_none());
        assert!(ConversationKey::plain("CA\0").is_none());
        assert!(ConversationKey::plain(&"x".repeat(MAX_KEY + 1)).is_none());
        assert!(
            !format!("{:?}", ConversationKey::plain("+13035550142").expect("key")).contains("303")
        );
    }
}
