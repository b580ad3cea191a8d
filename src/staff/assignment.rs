//! Claim, release and reassign: who holds a ticket. Each is one conditional write, so two
//! staff acting at once never both win, and each success is audited with the actor's name.

use super::{Desk, Result};
use crate::audit::{self, AuditEvent};
use crate::domain::ids::TicketId;
use crate::store::queue;
use crate::store::staff::{self, StaffMember};

/// What claiming or reassigning came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssignOutcome {
    Done,
    /// Someone holds it already (claim), or got there first (reassign): their name.
    Taken {
        by: String,
    },
    /// The ticket is not open (resolved, or gone to another status).
    NotOpen,
    NoSuchTicket,
    /// Only an admin may reassign.
    NotAllowed,
    /// The staff member to hand it to is unknown or disabled.
    NoSuchStaff,
}

/// What releasing came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReleaseOutcome {
    Done,
    /// Held by someone else, and the releaser is no admin: the holder's name.
    NotYours {
        by: String,
    },
    NotAssigned,
    NoSuchTicket,
}

impl Desk<'_> {
    /// Takes an open, unassigned ticket.
    pub async fn claim(&self, who: &StaffMember, id: TicketId) -> Result<AssignOutcome> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if queue::claim(&mut tx, id, who.id, now).await? {
            self.audit(
                &mut tx,
                who,
                "ticket_claimed",
                id,
                format!("claimed by {}", who.name),
            )
            .await?;
            tx.commit().await?;
            return Ok(AssignOutcome::Done);
        }
        drop(tx);
        self.why_not_assigned(id).await
    }

    /// Gives a ticket back to the queue: its holder may, and so may an admin.
    pub async fn release(&self, who: &StaffMember, id: TicketId) -> Result<ReleaseOutcome> {
        let Some(held) = queue::holding(self.store.pool(), id).await? else {
            return Ok(ReleaseOutcome::NoSuchTicket);
        };
        let Some(holder) = held.assigned_to else {
            return Ok(ReleaseOutcome::NotAssigned);
        };
        let by = held.assignee.unwrap_or_default();
        if holder != who.id && !who.is_admin() {
            return Ok(ReleaseOutcome::NotYours { by });
        }
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !queue::release(&mut tx, id, holder, now).await? {
            // Someone changed it between the read and the write: say what is true now.
            drop(tx);
            return Ok(match queue::holding(self.store.pool(), id).await? {
                Some(h) if h.assigned_to.is_some() => ReleaseOutcome::NotYours {
                    by: h.assignee.unwrap_or_default(),
                },
                Some(_) => ReleaseOutcome::NotAssigned,
                None => ReleaseOutcome::NoSuchTicket,
            });
        }
        let detail = if holder == who.id {
            format!("released by {}", who.name)
        } else {
            format!("released by {} (held by {by})", who.name)
        };
        self.audit(&mut tx, who, "ticket_released", id, detail)
            .await?;
        tx.commit().await?;
        Ok(ReleaseOutcome::Done)
    }

    /// Hands an open ticket to another staff member: admins only.
    pub async fn reassign(
        &self,
        who: &StaffMember,
        id: TicketId,
        to: i64,
    ) -> Result<AssignOutcome> {
        if !who.is_admin() {
            return Ok(AssignOutcome::NotAllowed);
        }
        let Some(target) = staff::by_id(self.store.pool(), to)
            .await?
            .filter(|m| !m.is_disabled())
        else {
            return Ok(AssignOutcome::NoSuchStaff);
        };
        let Some(held) = queue::holding(self.store.pool(), id).await? else {
            return Ok(AssignOutcome::NoSuchTicket);
        };
        if held.status != "open" {
            return Ok(AssignOutcome::NotOpen);
        }
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !queue::reassign(&mut tx, id, held.assigned_to, target.id, now).await? {
            drop(tx);
            return self.why_not_assigned(id).await;
        }
        let from = held.assignee.unwrap_or_else(|| "nobody".into());
        let detail = format!("reassigned by {} from {from} to {}", who.name, target.name);
        self.audit(&mut tx, who, "ticket_reassigned", id, detail)
            .await?;
        tx.commit().await?;
        Ok(AssignOutcome::Done)
    }

    /// Why a conditional assignment matched no row, read after it.
    async fn why_not_assigned(&self, id: TicketId) -> Result<AssignOutcome> {
        Ok(match queue::holding(self.store.pool(), id).await? {
            None => AssignOutcome::NoSuchTicket,
            Some(h) if h.status != "open" => AssignOutcome::NotOpen,
            Some(h) => AssignOutcome::Taken {
                by: h.assignee.unwrap_or_default(),
            },
        })
    }

    async fn audit(
        &self,
        tx: &mut crate::store::Tx,
        who: &StaffMember,
        action: &str,
        id: TicketId,
        detail: String,
    ) -> std::result::Result<i64, sqlx::Error> {
        audit::append(
            tx,
            &AuditEvent {
                actor: &format!("staff:{}", who.id),
                action,
                subject: &format!("ticket:{id}"),
                channel: self.channel,
                detail,
            },
            self.clock.now_ms(),
        )
        .await
    }
}
