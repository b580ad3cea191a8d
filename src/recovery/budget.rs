//! The send budget: every secret that can be sent spends it per account and per destination,
//! checked and spent in one statement per budget.

use super::*;

impl Recovery<'_> {
    /// Starts a send of `kind` to `destination`: a write transaction, the contractor's account
    /// (made now for a roster contractor who never signed in), refused when frozen, and one
    /// send spent from the budgets. On refusal the transaction is rolled back and the answer
    /// is what to tell the channel.
    pub(super) async fn begin_send(
        &self,
        contractor: &Contractor,
        kind: &str,
        destination: &str,
        now: Millis,
    ) -> Result<std::result::Result<(Tx, Account), SendOutcome>> {
        let mut tx = self.st.store.begin_write().await?;
        let account = accounts::ensure(&mut tx, contractor.id, now).await?;
        if account.is_frozen() {
            tx.rollback().await?;
            return Ok(Err(SendOutcome::NoDestination));
        }
        if !self
            .spend_send_budget(&mut tx, kind, account.id, destination, now)
            .await?
        {
            tx.rollback().await?;
            tracing::info!(contractor = %contractor.fields.contractor_number, kind, "send throttled");
            return Ok(Err(SendOutcome::TooSoon));
        }
        Ok(Ok((tx, account)))
    }

    /// Spends one send of `kind` from the account's budget and the destination's, in the
    /// caller's transaction: false (and nothing spent once it rolls back) when either is used
    /// up. The check and the spend are one statement per budget, so parallel requests cannot
    /// both take the last send, on either database.
    pub(super) async fn spend_send_budget(
        &self,
        tx: &mut Tx,
        kind: &str,
        account_id: AccountId,
        destination: &str,
        now: Millis,
    ) -> Result<bool> {
        let account_key = format!("{kind}:account:{account_id}");
        let to_key = format!(
            "{kind}:to:{}",
            &token_digest(&destination.to_ascii_lowercase())[..32]
        );
        Ok(budgets::spend(tx, &account_key, SEND_BUDGET, now).await?
            && budgets::spend(tx, &to_key, SEND_BUDGET, now).await?)
    }
}
