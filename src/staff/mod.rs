//! Staff logins and the queue's decisions: who may sign in, who may take, give back or hand
//! on a ticket. Called by the staff pages and the command line with narrow handles (store,
//! guard, hasher, clock), never the web state. Every change is audited with the staff
//! member's name in the same transaction as the change.

pub mod admin;
pub mod alerts;
mod assignment;
pub mod chart;
pub mod digest;
mod duty;
pub mod figures;
pub mod filter;
pub mod hours;
mod resolution;
mod ticket_view;
mod ticket_work;
pub mod tokens;

pub use assignment::{AssignOutcome, ReleaseOutcome};
pub use resolution::Resolution;
pub use ticket_view::{
    ContractorOnRecord, EntryKind, MessageView, OtherTicket, TicketView, TimelineEntry,
    template_words, ticket_view,
};
pub use ticket_work::{MAX_NOTE, NoteOutcome, ReopenOutcome, ResolveOutcome, WaitOutcome};

use std::time::Duration;

use secrecy::SecretString;

use crate::audit::{self, AuditEvent};
use crate::clock::SharedClock;
use crate::domain::channel::Channel;
use crate::guard::{AccountState, Guard, Source};
use crate::hashing::{HashError, Hasher};
use crate::store::staff::{self, StaffMember};
use crate::store::{Store, sessions};

/// Why a staff action could not be carried out (never the staff member's mistake: those are
/// outcomes).
#[derive(Debug, thiserror::Error)]
pub enum StaffError {
    #[error("the database cannot be reached: {0}")]
    Store(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("template: {0}")]
    Template(#[from] askama::Error),
}

pub type Result<T> = std::result::Result<T, StaffError>;

/// What a sign-in came to. One refusal for an unknown email, a wrong password, a disabled
/// login and a login waiting after failures: nothing tells them apart.
#[derive(Debug)]
pub enum SignIn {
    Success(StaffMember),
    Refused,
}

/// The staff desk: the handles its decisions need.
#[derive(Debug, Clone, Copy)]
pub struct Desk<'a> {
    pub store: &'a Store,
    pub guard: &'a Guard,
    pub hasher: &'a Hasher,
    pub clock: &'a SharedClock,
    /// A refused sign-in is answered no sooner than this after it began.
    pub floor: Duration,
    /// Where the staff member acts from (the staff pages, or the JSON API): the channel of
    /// every audit event the desk writes.
    pub channel: Channel,
}

impl Desk<'_> {
    /// Checks an email and password, behind the per-source limiter and the login's failure
    /// counter; a refusal waits out the floor so timing tells nothing either.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &SecretString,
        source: &Source,
    ) -> Result<SignIn> {
        let deadline = tokio::time::Instant::now() + self.floor;
        let outcome = match self.check_password(email, password, source).await {
            // Too many hashes waiting: refused like any other refusal.
            Err(StaffError::Hash(HashError::Busy)) => Ok(SignIn::Refused),
            other => other,
        }?;
        if matches!(outcome, SignIn::Refused) {
            tokio::time::sleep_until(deadline).await;
        }
        Ok(outcome)
    }

    async fn check_password(
        &self,
        email: &str,
        password: &SecretString,
        source: &Source,
    ) -> Result<SignIn> {
        if !self.guard.allow_source(source) {
            return Ok(SignIn::Refused);
        }
        let member = staff::by_email(self.store.pool(), email.trim()).await?;
        let subject = self
            .guard
            .staff_subject(member.as_ref().map(|m| m.id), email);
        if let AccountState::Waiting { .. } = self.guard.account_state(&subject).await? {
            return Ok(SignIn::Refused);
        }
        // An unknown email is checked against the dummy hash: the same work either way.
        let stored = member.as_ref().map(|m| m.password_hash.as_str());
        let ok = self.hasher.verify(stored, password).await?;
        match member {
            Some(m) if ok && !m.is_disabled() => {
                self.guard.record_success(&subject).await?;
                Ok(SignIn::Success(m))
            }
            _ => {
                self.guard.record_failure(&subject).await?;
                Ok(SignIn::Refused)
            }
        }
    }

    /// The signed-in member behind a session's `staff_id`, unless the login was disabled.
    pub async fn member(&self, staff_id: i64) -> Result<Option<StaffMember>> {
        Ok(staff::by_id(self.store.pool(), staff_id)
            .await?
            .filter(|m| !m.is_disabled()))
    }
}

/// Disables a login and ends its sessions (`actor` as the audit log names it, e.g. `cli`),
/// audited. False when no enabled login has that email.
pub async fn disable(
    store: &Store,
    clock: &SharedClock,
    email: &str,
    actor: &str,
    channel: Channel,
) -> Result<bool> {
    let now = clock.now_ms();
    let mut tx = store.begin_write().await?;
    let Some(id) = staff::disable(&mut tx, email.trim(), now).await? else {
        return Ok(false);
    };
    let ended = sessions::delete_for_staff(&mut tx, id).await?;
    audit::append(
        &mut tx,
        &AuditEvent {
            actor,
            action: "staff_disabled",
            subject: &format!("staff:{}", email.trim().to_lowercase()),
            channel,
            detail: format!("sessions ended: {ended}"),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}
