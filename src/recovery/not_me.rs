//! "This wasn't me": freeze, revoke, end sessions, open an urgent ticket.

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
        accounts::freeze(&mut tx, account_id, now).await?;
        accounts::revoke_secrets(&mut tx, contractor.id, now).await?;
        sessions::delete_for_account(&mut tx, account_id).await?;
        self.escalate(
            &mut tx,
            Escalation {
                kind: TicketKind::NotMe,
                contractor: Some(contractor.id),
                channel: Channel::Web,
                summary: format!(
                    "Contractor {} reports a password change they did not make; account frozen",
                    contractor.fields.contractor_number
                ),
                detail: "Pending secrets voided and sessions ended. Call the contractor on the \
                         phone on record before unfreezing."
                    .into(),
            },
            now,
        )
        .await?;
        self.audit(
            &mut tx,
            &contractor,
            "account_frozen",
            Channel::Web,
            "this wasn't me".into(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
