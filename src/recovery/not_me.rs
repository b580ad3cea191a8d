//! "This wasn't me": freeze, revoke, end sessions, open an urgent ticket. The link in a
//! change notice and a reply saying so by email (`email_threads`) share
//! [`Recovery::freeze_for_not_me`].

use super::*;

impl Recovery<'_> {
    /// Whether a "this wasn't me" link is live (for the confirmation page).
    pub async fn not_me_valid(&self, token: &str) -> Result<bool> {
        if !well_formed_token(token) {
            return Ok(false);
        }
        Ok(tokens::live_account(
            self.st.store.pool(),
            &token_digest(token),
            Purpose::NotMe,
            self.now(),
        )
        .await?
        .is_some())
    }

    /// "This wasn't me": freezes pending secrets and sign-ins, ends sessions, opens an urgent
    /// ticket. False when the link is not live.
    pub async fn not_me(&self, token: &str) -> Result<bool> {
        if !well_formed_token(token) {
            return Ok(false);
        }
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let Some(account_id) =
            tokens::consume(&mut tx, &token_digest(token), Purpose::NotMe, now).await?
        else {
            tx.rollback().await?;
            return Ok(false);
        };
        let Some((_, contractor)) = self.account_and_contractor(account_id).await? else {
            tx.rollback().await?;
            return Ok(false);
        };
        self.freeze_for_not_me(&mut tx, Some(account_id), &contractor, Channel::Web, now)
            .await?;
        // The urgent ticket's alerts to staff on duty are queued: wake the worker.
        self.commit_and_wake(tx).await?;
        Ok(true)
    }

    /// What "this wasn't me" does, written once: the account (if any) is frozen and its
    /// sessions end, every pending secret is void (a live reset link stops working at once,
    /// queued messages with one are dropped), an urgent ticket opens and the audit log says
    /// how it was reported. In the caller's transaction; the ticket is returned.
    pub(super) async fn freeze_for_not_me(
        &self,
        tx: &mut Tx,
        account_id: Option<AccountId>,
        contractor: &Contractor,
        channel: Channel,
        now: Millis,
    ) -> Result<TicketId> {
        if let Some(account_id) = account_id {
            accounts::freeze(tx, account_id, now).await?;
            sessions::delete_for_account(tx, account_id).await?;
        }
        accounts::revoke_secrets(tx, contractor.id, now).await?;
        let how = match channel {
            Channel::Email => "by a reply to an email from the help line",
            _ => "with the link in a change notice",
        };
        let ticket = self
            .escalate(
                tx,
                Escalation {
                    kind: TicketKind::NotMe,
                    contractor: Some(contractor.id),
                    channel,
                    summary: format!(
                        "Contractor {} reports a password change they did not make; account frozen",
                        contractor.fields.contractor_number
                    ),
                    detail: format!(
                        "Reported {how}. Pending secrets voided and sessions ended. Call the \
                         contractor on the phone on record before unfreezing."
                    ),
                },
                now,
            )
            .await?;
        self.audit(
            tx,
            contractor,
            "account_frozen",
            channel,
            format!("this wasn't me ({how})"),
            now,
        )
        .await?;
        Ok(ticket)
    }
}
