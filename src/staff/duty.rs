//! On duty and off duty: staff on duty get an email for every urgent ticket. Each member sets
//! their own, audited with their name.

use super::{Desk, Result};
use crate::audit::{self, AuditEvent};
use crate::domain::channel::Channel;
use crate::store::staff::{self, StaffMember};

impl Desk<'_> {
    /// Marks `me` on or off duty; false when they were so already (nothing is audited then).
    pub async fn set_on_duty(&self, me: &StaffMember, on: bool) -> Result<bool> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !staff::set_on_duty(&mut tx, me.id, on, now).await? {
            tx.rollback().await?;
            return Ok(false);
        }
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &me.name,
                action: if on {
                    "staff_on_duty"
                } else {
                    "staff_off_duty"
                },
                subject: &format!("staff:{}", me.email.to_lowercase()),
                channel: Channel::Staff,
                detail: if on {
                    "urgent tickets are emailed to them".into()
                } else {
                    "urgent tickets are no longer emailed to them".into()
                },
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Whether `me` is on duty now.
    pub async fn is_on_duty(&self, me: &StaffMember) -> Result<bool> {
        Ok(staff::is_on_duty(self.store.pool(), me.id).await?)
    }
}
