//! The recovery service: the only place that decides. Verification, secrets, lockouts,
//! escalation and the notices that follow a credential change are written once here and used
//! by every channel (portal, kiosk, phone line, texts and email).
//!
//! Rules kept here:
//! - the guard is asked before any argon2 work, and failures are counted per contractor (or
//!   per typed identifier when it matches nobody, so unknown numbers lock just the same);
//! - refusals look and take the same whatever the reason (a response floor, a constant
//!   deadline for "forgot");
//! - a secret goes only to a phone or email on record, through the outbox, in the same
//!   transaction as the change that makes it, with an audit event.

mod budget;
pub mod callback;
pub mod conversation;
mod delivery;
mod email_in;
mod email_threads;
mod escalation;
mod identity;
mod not_me;
mod notices;
mod password_change;
pub mod phone_line;
mod registration;
mod reset_link;
mod sign_in;
mod staff_actions;
mod staff_contacts;
mod staff_registrations;
mod staff_sms;
mod temporary_password;
mod texts;

pub use conversation::{ConversationError, Conversations};
pub use delivery::{CallOutcome, CallReport, MessageReport, ReportOutcome};
pub use email_in::{ACK_BUDGET, EmailOutcome};
pub use email_threads::{MAX_STAFF_REPLY, StaffReplyOutcome};
pub use staff_actions::{
    AccountFacts, ContractorFacts, Notice, Refusal, RegistrationFacts, StaffActions, StaffActor,
    StaffAnswer, StaffSend,
};
pub use staff_sms::{MAX_STAFF_SMS, StaffSmsOutcome};
pub use temporary_password::issue_temporary_password;
pub use texts::TextReset;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use crate::audit::{self, AuditEvent};
use crate::clock::SharedClock;
use crate::clock::{Millis, duration_ms};
use crate::config::Settings;
use crate::config::UsernameKind;
use crate::domain::channel::Channel;
use crate::domain::contact::Contact;
use crate::domain::email::{EmailAddress, mask_address};
use crate::domain::ids::{AccountId, ContractorId, TicketId};
use crate::domain::keyed::Keys;
use crate::domain::password::{self, PasswordProblem, PolicyContext};
use crate::domain::phone::PhoneNumber;
use crate::domain::questions;
use crate::domain::secret::{random_token, temporary_password, token_digest};
use crate::domain::ticket::TicketKind;
use crate::guard::Guard;
use crate::guard::{AccountState, Factor, Source, contractor_subject, device_subject};
use crate::hashing::HashError;
use crate::hashing::Hasher;
use crate::messages::{self, HowChanged, Lang};
use crate::outbox::{queue_email, queue_sms};
use crate::store::Store;
use crate::store::accounts::{self, Account};
use crate::store::budgets::{self, Budget};
use crate::store::contractors::{self, Contractor, Identifier};
use crate::store::registrations::{self, NewRegistration};
use crate::store::tickets::{self, NewTicket};
use crate::store::tokens::{self, Purpose};
use crate::store::{Tx, sessions};
use escalation::Escalation;

/// Every secret that can be sent (a reset or setup link, a temporary password) goes to one
/// account, and to one destination, at most once per 5 minutes and 5 times a day.
pub(super) const SEND_BUDGET: Budget = Budget {
    every: 5 * 60 * 1000,
    per_day: 5,
};
/// A device cookie (a browser that signed in before) is good for this long.
pub(super) const DEVICE_LIFETIME: Duration = Duration::from_secs(365 * 24 * 3600);
/// A kiosk verification (number and phone checked) can be used this long, once.
pub const VERIFICATION_LIFETIME: Duration = Duration::from_secs(10 * 60);
/// "This wasn't me" links in change notices work this long.
pub(super) const NOT_ME_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("store: {0}")]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

type Result<T> = std::result::Result<T, RecoveryError>;

/// A field the contractor must fix, with a message code the channel words in its language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

impl FieldError {
    pub fn new(field: &'static str, code: &'static str) -> Self {
        Self { field, code }
    }
}

/// Message code of a password problem.
pub fn problem_code(p: PasswordProblem) -> &'static str {
    use crate::domain::password::PasswordRule as R;
    match p {
        PasswordProblem::Rule(R::TooShort) => "too_short",
        PasswordProblem::Rule(R::TooLong) => "too_long",
        PasswordProblem::Rule(R::NoDigit) => "no_digit",
        PasswordProblem::Rule(R::NoLower) => "no_lower",
        PasswordProblem::Rule(R::NoUpper) => "no_upper",
        PasswordProblem::Rule(R::NoSpecial) => "no_special",
        PasswordProblem::Common => "common",
        PasswordProblem::ContainsUsername => "contains_username",
        PasswordProblem::ContainsLicense => "contains_license",
        PasswordProblem::ContainsCity => "contains_city",
    }
}

/// The result of a sign-in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Success {
        account_id: AccountId,
        /// A temporary password was used (or staff require it): the forced change comes next,
        /// and only this sign-in's session may make it.
        must_change: bool,
        /// A fresh device cookie for this browser: later sign-ins from it count against its
        /// own budget, not the account's, so strangers' guesses never lock its owner out.
        device: String,
    },
    /// Wrong username, wrong password, waiting after failures, frozen, busy: all the same.
    Refused,
}

/// A sign-in as typed, with the browser's device cookie if it has one.
#[derive(Clone, Copy)]
pub struct LoginAttempt<'a> {
    pub typed: &'a str,
    pub password: &'a SecretString,
    pub source: &'a Source,
    pub device: Option<&'a str>,
}

/// What the contractor fills in to set a password.
#[derive(Debug, Clone, Default)]
pub struct PasswordForm {
    pub password: SecretString,
    pub confirm: SecretString,
    /// Required at the forced change and at registration; at a reset only when the account
    /// has none yet.
    pub question: Option<String>,
    pub answer: SecretString,
    pub answer_again: SecretString,
}

/// Where on record the kiosk may send something.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// A reset link to the email on record.
    Email,
    /// A temporary password to the phone on record.
    Sms,
}

/// A contractor who proved knowledge of the phone on record, and the masked destinations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub contractor_id: ContractorId,
    /// The email on record, masked, unless mail to it bounced.
    pub email: Option<String>,
    /// There is an email on record but a delivery report said it cannot receive mail: the
    /// page says so, and offers a text or a call instead.
    pub email_undeliverable: bool,
    /// The mobile on record, when texts are on.
    pub phone: Option<String>,
    /// The phone on record, when the help line can call it back.
    pub callback: Option<String>,
}

/// A message to a contact on record, ready for the outbox.
pub(super) enum Outgoing<'a> {
    Email {
        to: &'a EmailAddress,
        mail: crate::mail::ComposedEmail,
    },
    Sms {
        to: &'a PhoneNumber,
        /// The outbox's name for the text (metrics, tickets); never its words.
        template: &'static str,
        body: String,
    },
}

/// How a secret being sent is audited, and when it stops being worth delivering.
pub(super) struct Secret<'a> {
    pub action: &'a str,
    pub channel: Channel,
    pub expires: Millis,
}

/// What an emailed single-use link is for (the same link; different words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LinkKind {
    /// "Choose a new password".
    Reset,
    /// "Finish setting up your account" (registration matched the roster).
    Setup,
}

/// What a send to a contact on record did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Queued to this (masked) destination.
    Sent { to: String },
    /// Nothing to send to: no such contact on record, SMS off, or the account is frozen.
    NoDestination,
    /// A secret went to this account or destination too recently (5 minutes, 5 a day).
    TooSoon,
}

/// A live reset link's account.
#[derive(Debug, Clone)]
pub struct ResetTarget {
    pub account_id: AccountId,
    pub username: String,
    /// The account has no security question yet (a first login): the reset form asks for one.
    pub needs_question: bool,
}

/// What the forced change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeOutcome {
    /// Saved; every session of the account ended.
    Done {
        account_id: AccountId,
    },
    Fields(Vec<FieldError>),
    /// This session did not sign in with the temporary password (or nothing is to change).
    NotThisSession,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetOutcome {
    Done,
    /// Expired, used, voided, unknown or malformed: one answer for all.
    Invalid,
    Fields(Vec<FieldError>),
}

/// What the registration form holds.
#[derive(Debug, Clone, Default)]
pub struct RegistrationForm {
    pub license_number: String,
    pub business_name: String,
    pub contact_name: String,
    pub phone: String,
    pub email: String,
    pub workers_comp_policy: String,
    pub workers_comp_expires: String,
    pub password: PasswordForm,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegistrationOutcome {
    /// The license and a contact matched the roster: a single-use setup link went to the email
    /// on record (or a temporary password to the mobile on record). Nobody is signed in and the
    /// password typed on the form was discarded: knowing a number and a phone only chooses
    /// where on record a secret goes.
    SetupSent { to: String, by: Destination },
    /// Matched, but a secret went to this contractor too recently: nothing new was sent.
    SetupTooSoon,
    /// Staff will review it.
    Pending { ticket: TicketId },
}

/// What the decisions need, and nothing of the web: built once at start-up (or by the CLI)
/// from the store, the clock, the hasher, the guard, the settings, the server's keys and the
/// outbox worker's wake handle. Every field is a cheap handle.
#[derive(Debug, Clone)]
pub struct RecoveryService {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub clock: SharedClock,
    pub guard: Guard,
    pub hasher: Hasher,
    pub keys: Keys,
    /// Wakes the outbox worker after a commit that queued a message.
    pub outbox_wake: Arc<Notify>,
    /// When staff answer the phone (the words contractors are told).
    pub hours: crate::staff::hours::StaffHours,
}

impl RecoveryService {
    /// The service for a request made in `lang` (the page's, the call's, the message's).
    pub fn in_lang(&self, lang: Lang) -> Recovery<'_> {
        Recovery {
            st: self,
            lang,
            staff: None,
        }
    }

    /// The conversations of every channel, on this service's store and clock.
    pub fn conversations(&self) -> Conversations {
        Conversations::new(self.store.clone(), self.clock.clone())
    }
}

/// The recovery service for one request in one language.
#[derive(Debug, Clone, Copy)]
pub struct Recovery<'a> {
    st: &'a RecoveryService,
    /// The language of the request: every email and text it causes is written in it, and it is
    /// remembered for the contractor it names.
    lang: Lang,
    /// Staff acting from a ticket: audit lines name them and the ticket's timeline says what
    /// was done. `None` for the contractor's own requests.
    staff: Option<StaffActor<'a>>,
}

/// True when `typed` could be a contractor or license number: not empty, not too long, and
/// no control characters (a NUL would reach the database).
pub fn plausible_identifier(typed: &str) -> bool {
    let t = typed.trim();
    !t.is_empty() && t.len() <= 64 && !t.chars().any(char::is_control)
}

/// True when `token` has the shape of a link token (64 hex digits); anything else is refused
/// without touching the store.
pub fn well_formed_token(token: &str) -> bool {
    token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Recovery<'_> {
    pub(super) fn now(&self) -> Millis {
        self.st.clock.now_ms()
    }

    /// Remembers the request's language for the contractor it named, for later messages.
    pub(super) async fn remember_language(&self, c: &Contractor) -> Result<()> {
        contractors::set_language(self.st.store.pool(), c.id, self.lang.code()).await?;
        Ok(())
    }

    pub(super) fn identifier(&self) -> Identifier {
        match self.st.settings.city.username {
            UsernameKind::ContractorNumber => Identifier::ContractorNumber,
            UsernameKind::LicenseNumber => Identifier::LicenseNumber,
        }
    }

    /// The username a contractor signs in with, per the city's setting.
    pub fn username_of(&self, c: &Contractor) -> String {
        match self.st.settings.city.username {
            UsernameKind::LicenseNumber => c
                .fields
                .license_number
                .clone()
                .unwrap_or_else(|| c.fields.contractor_number.clone()),
            UsernameKind::ContractorNumber => c.fields.contractor_number.clone(),
        }
    }

    /// The guard's counter of `factor`: the contractor's when one matches, else a keyed hash
    /// of what was typed (so unknown numbers wait just the same, and nothing typed is stored).
    pub(super) fn subject(
        &self,
        factor: Factor,
        typed: &str,
        found: Option<&Contractor>,
    ) -> String {
        match found {
            Some(c) => contractor_subject(factor, &c.fields.contractor_number),
            None => self.st.guard.unknown_subject(factor, typed),
        }
    }

    pub(super) async fn contractor_by_username(&self, typed: &str) -> Result<Option<Contractor>> {
        if !plausible_identifier(typed) {
            return Ok(None);
        }
        Ok(contractors::by_identifier(self.st.store.pool(), self.identifier(), typed).await?)
    }

    /// A number typed at the kiosk, at registration or keyed in on the phone: contractor
    /// number first, then license number, then (digits only, as a phone keypad sends them) the
    /// one contractor whose number's digits these are (`1001` for `C-1001`).
    pub(super) async fn contractor_by_any_number(&self, typed: &str) -> Result<Option<Contractor>> {
        if !plausible_identifier(typed) {
            return Ok(None);
        }
        let pool = self.st.store.pool();
        if let Some(c) =
            contractors::by_identifier(pool, Identifier::ContractorNumber, typed).await?
        {
            return Ok(Some(c));
        }
        if let Some(c) = contractors::by_identifier(pool, Identifier::LicenseNumber, typed).await? {
            return Ok(Some(c));
        }
        Ok(contractors::by_keyed_digits(pool, typed.trim()).await?)
    }

    pub(super) async fn account_and_contractor(
        &self,
        account_id: AccountId,
    ) -> Result<Option<(Account, Contractor)>> {
        let Some(account) = accounts::by_id(self.st.store.pool(), account_id).await? else {
            return Ok(None);
        };
        let contractor = contractors::by_id(self.st.store.pool(), account.contractor_id).await?;
        Ok(contractor.map(|c| (account, c)))
    }

    /// The username shown for a signed-in account.
    pub async fn username_for_account(
        &self,
        account_id: AccountId,
    ) -> Result<Option<(String, Contractor, Account)>> {
        Ok(self
            .account_and_contractor(account_id)
            .await?
            .map(|(a, c)| (self.username_of(&c), c, a)))
    }

    pub(super) fn link(&self, path: &str) -> String {
        self.st
            .settings
            .public_url
            .join(path)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("{}{path}", self.st.settings.public_url))
    }

    /// Queues a message to a contact on record of `contractor`, in the caller's transaction.
    /// `secret_expires` is when a secret in it stops being worth delivering. False when
    /// nothing was queued: a text to a number that texted STOP, or an email to an address
    /// that bounced.
    pub(super) async fn queue_to(
        &self,
        tx: &mut Tx,
        contractor: &Contractor,
        message: Outgoing<'_>,
        secret_expires: Option<Millis>,
        now: Millis,
    ) -> Result<bool> {
        let to = Some(contractor.id);
        Ok(match message {
            Outgoing::Email { to: address, mail } => {
                let from = &self.st.settings.mail.from;
                queue_email(tx, from, address, mail, to, secret_expires, now)
                    .await?
                    .is_some()
            }
            Outgoing::Sms {
                to: phone,
                template,
                body,
            } => queue_sms(tx, phone, template, body, to, secret_expires, now)
                .await?
                .is_some(),
        })
    }

    /// The last step of every send of a secret, written once: queue it to the contact on
    /// record, audit it, commit, and wake the outbox worker.
    pub(super) async fn send_secret(
        &self,
        mut tx: Tx,
        contractor: &Contractor,
        message: Outgoing<'_>,
        secret: Secret<'_>,
        now: Millis,
    ) -> Result<SendOutcome> {
        let (to, detail) = match &message {
            Outgoing::Email { to, .. } => (to.masked(), format!("to {}", to.masked())),
            Outgoing::Sms { to, .. } => (to.masked(), format!("by SMS to {}", to.masked())),
        };
        if !self
            .queue_to(&mut tx, contractor, message, Some(secret.expires), now)
            .await?
        {
            // The number texted STOP (or the address bounced) since the caller looked: nothing
            // is issued or sent.
            tx.rollback().await?;
            return Ok(SendOutcome::NoDestination);
        }
        self.audit(
            &mut tx,
            contractor,
            secret.action,
            secret.channel,
            detail,
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(SendOutcome::Sent { to })
    }

    /// Commits a transaction that queued messages, then wakes the outbox worker.
    pub(super) async fn commit_and_wake(&self, tx: Tx) -> Result<()> {
        tx.commit().await?;
        self.st.outbox_wake.notify_one();
        Ok(())
    }

    pub(super) async fn audit(
        &self,
        tx: &mut Tx,
        contractor: &Contractor,
        action: &str,
        channel: Channel,
        detail: String,
        now: Millis,
    ) -> Result<()> {
        let subject = format!("contractor:{}", contractor.fields.contractor_number);
        if let Some(by) = self.staff {
            return self
                .staff_audit(tx, by, &subject, action, detail, now)
                .await;
        }
        audit::append(
            tx,
            &AuditEvent {
                actor: &subject,
                action,
                subject: &subject,
                channel,
                detail,
            },
            now,
        )
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_shape() {
        assert!(well_formed_token(&"a".repeat(64)));
        assert!(!well_formed_token(&"a".repeat(63)));
        assert!(!well_formed_token(&format!("{}\0", "a".repeat(63))));
        assert!(!well_formed_token(""));
    }
}
