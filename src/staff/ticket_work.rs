//! What staff do on one ticket besides holding it: notes, resolving with a code, reopening,
//! and ending a wait on the contractor. Each is one transaction with its timeline event
//! (author: the staff member's name) and its audit event (actor: `staff:<name>`); resolving
//! is one conditional write, so of two staff resolving at once exactly one wins.

use super::{Desk, Resolution, Result};
use crate::audit::{self, AuditEvent};
use crate::domain::ids::TicketId;
use crate::domain::office_hours::OfficeHours;
use crate::store::Tx;
use crate::store::staff::StaffMember;
use crate::store::threads::{self, EventKind, NewEvent};
use crate::store::ticket_desk;

/// Most characters of a note (and of a resolution's note).
pub const MAX_NOTE: usize = 4000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteOutcome {
    Added,
    NoTicket,
    Empty,
    TooLong,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveOutcome {
    Resolved,
    NoTicket,
    /// Someone resolved it first (or it was resolved already).
    AlreadyResolved,
    /// `other` was chosen without a note saying what.
    NoteRequired,
    NoteTooLong,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReopenOutcome {
    Reopened,
    NoTicket,
    NotResolved,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitOutcome {
    /// The wait ended: the SLA clock runs again.
    Resumed,
    NoTicket,
    NotWaiting,
}

/// A note's text as kept: trimmed, control characters other than line breaks dropped.
/// `None` when it is longer than [`MAX_NOTE`].
fn clean(text: &str) -> Option<String> {
    let text: String = text
        .trim()
        .chars()
        .filter(|c| *c == '\n' || !c.is_control())
        .collect();
    (text.chars().count() <= MAX_NOTE).then_some(text)
}

impl Desk<'_> {
    /// Adds a staff note to a ticket's timeline.
    pub async fn add_note(
        &self,
        by: &StaffMember,
        ticket: TicketId,
        text: &str,
    ) -> Result<NoteOutcome> {
        let Some(text) = clean(text) else {
            return Ok(NoteOutcome::TooLong);
        };
        if text.is_empty() {
            return Ok(NoteOutcome::Empty);
        }
        let mut tx = self.store.begin_write().await?;
        if !ticket_desk::exists(&mut tx, ticket).await? {
            return Ok(NoteOutcome::NoTicket);
        }
        self.event(&mut tx, by, ticket, EventKind::Note, &text)
            .await?;
        let detail = format!("note by {} ({} characters)", by.name, text.chars().count());
        self.audit_work(&mut tx, by, "ticket_note", ticket, detail)
            .await?;
        tx.commit().await?;
        Ok(NoteOutcome::Added)
    }

    /// Resolves a ticket with a code (and a note; required for `other`).
    pub async fn resolve(
        &self,
        by: &StaffMember,
        ticket: TicketId,
        code: Resolution,
        note: &str,
    ) -> Result<ResolveOutcome> {
        let Some(note) = clean(note) else {
            return Ok(ResolveOutcome::NoteTooLong);
        };
        if code.needs_note() && note.is_empty() {
            return Ok(ResolveOutcome::NoteRequired);
        }
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !ticket_desk::resolve(&mut tx, ticket, code.as_str(), by.id, now).await? {
            let exists = ticket_desk::exists(&mut tx, ticket).await?;
            drop(tx);
            return Ok(if exists {
                ResolveOutcome::AlreadyResolved
            } else {
                ResolveOutcome::NoTicket
            });
        }
        let text = if note.is_empty() {
            format!("Resolved: {}", code.words())
        } else {
            format!("Resolved: {}. {note}", code.words())
        };
        self.event(&mut tx, by, ticket, EventKind::Resolved, &text)
            .await?;
        let detail = format!("resolved by {} as {}", by.name, code.as_str());
        self.audit_work(&mut tx, by, "ticket_resolved", ticket, detail)
            .await?;
        tx.commit().await?;
        Ok(ResolveOutcome::Resolved)
    }

    /// Opens a resolved ticket again.
    pub async fn reopen(&self, by: &StaffMember, ticket: TicketId) -> Result<ReopenOutcome> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !ticket_desk::reopen(&mut tx, ticket, now).await? {
            let exists = ticket_desk::exists(&mut tx, ticket).await?;
            drop(tx);
            return Ok(if exists {
                ReopenOutcome::NotResolved
            } else {
                ReopenOutcome::NoTicket
            });
        }
        let text = format!("Reopened by {}.", by.name);
        self.event(&mut tx, by, ticket, EventKind::Reopened, &text)
            .await?;
        let detail = format!("reopened by {}", by.name);
        self.audit_work(&mut tx, by, "ticket_reopened", ticket, detail)
            .await?;
        tx.commit().await?;
        Ok(ReopenOutcome::Reopened)
    }

    /// Ends a wait on the contractor by hand ("no longer waiting"): the wait's business
    /// hours (per `hours`) are taken off the ticket's age.
    pub async fn stop_waiting(
        &self,
        by: &StaffMember,
        ticket: TicketId,
        hours: Option<&OfficeHours>,
    ) -> Result<WaitOutcome> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !ticket_desk::exists(&mut tx, ticket).await? {
            return Ok(WaitOutcome::NoTicket);
        }
        let text = format!(
            "{} marked the ticket no longer waiting on the contractor.",
            by.name
        );
        if !ticket_desk::end_wait(&mut tx, ticket, hours, &by.name, &text, now).await? {
            return Ok(WaitOutcome::NotWaiting);
        }
        let detail = format!("no longer waiting, by {}", by.name);
        self.audit_work(&mut tx, by, "ticket_wait_ended", ticket, detail)
            .await?;
        tx.commit().await?;
        Ok(WaitOutcome::Resumed)
    }

    async fn event(
        &self,
        tx: &mut Tx,
        by: &StaffMember,
        ticket: TicketId,
        kind: EventKind,
        text: &str,
    ) -> std::result::Result<(), sqlx::Error> {
        let event = NewEvent {
            ticket,
            kind,
            author: &by.name,
            text,
            message_id: None,
            outbox_id: None,
        };
        threads::add_event(tx, &event, self.clock.now_ms()).await
    }

    async fn audit_work(
        &self,
        tx: &mut Tx,
        by: &StaffMember,
        action: &str,
        ticket: TicketId,
        detail: String,
    ) -> std::result::Result<i64, sqlx::Error> {
        audit::append(
            tx,
            &AuditEvent {
                actor: &format!("staff:{}", by.name),
                action,
                subject: &format!("ticket:{ticket}"),
                channel: self.channel,
                detail,
            },
            self.clock.now_ms(),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_are_trimmed_keep_line_breaks_and_have_a_limit() {
        assert_eq!(clean("  a\u{0}b\nc \r").as_deref(), Some("ab\nc"));
        assert_eq!(
            clean(&"x".repeat(MAX_NOTE)).map(|s| s.len()),
            Some(MAX_NOTE)
        );
        assert_eq!(clean(&"x".repeat(MAX_NOTE + 1)), None);
    }
}
