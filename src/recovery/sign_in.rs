//! Sign-in with the username and password (or a live temporary password), and device
//! cookies: a browser that signed in before counts its failures on its own small budget.

use super::*;

impl Recovery<'_> {
    /// A device cookie for this contractor: a random nonce and its keyed hash.
    pub(super) fn device_cookie(&self, c: &Contractor) -> String {
        let nonce = random_token(16);
        let tag = self
            .st
            .keys
            .devices
            .tag(&[c.fields.contractor_number.as_bytes(), nonce.as_bytes()]);
        format!("{nonce}.{tag}")
    }

    /// The guard subject of a device cookie, when it is genuine and was issued to `c`.
    pub(super) fn device_of(&self, cookie: Option<&str>, c: &Contractor) -> Option<String> {
        let (nonce, tag) = cookie?.split_once('.')?;
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        self.st
            .keys
            .devices
            .verify(
                &[c.fields.contractor_number.as_bytes(), nonce.as_bytes()],
                tag,
            )
            .then(|| device_subject(&token_digest(nonce)[..32]))
    }

    /// Signs in with the username and password (or a live temporary password). A browser
    /// with a genuine device cookie for this contractor counts its failures on its own
    /// counter; any other counts on the account's password counter.
    pub async fn login(&self, attempt: LoginAttempt<'_>) -> Result<LoginOutcome> {
        let deadline = Instant::now() + self.st.settings.response_floor;
        let outcome = match self.login_inner(attempt).await {
            // Too many hashes waiting: refused like any other refusal, after the same floor.
            Err(RecoveryError::Hash(HashError::Busy)) => Ok(LoginOutcome::Refused),
            other => other,
        }?;
        if outcome == LoginOutcome::Refused {
            tokio::time::sleep_until(deadline).await;
        }
        Ok(outcome)
    }

    pub(super) async fn login_inner(&self, attempt: LoginAttempt<'_>) -> Result<LoginOutcome> {
        let LoginAttempt {
            typed,
            password,
            source,
            device,
        } = attempt;
        if !self.st.guard.allow_source(source) {
            return Ok(LoginOutcome::Refused);
        }
        let contractor = self.contractor_by_username(typed).await?;
        let subject = contractor
            .as_ref()
            .and_then(|c| self.device_of(device, c))
            .unwrap_or_else(|| self.subject(Factor::Password, typed, contractor.as_ref()));
        if let AccountState::Waiting { .. } = self.st.guard.account_state(&subject).await? {
            return Ok(LoginOutcome::Refused);
        }
        let account = match &contractor {
            Some(c) => accounts::by_contractor(self.st.store.pool(), c.id).await?,
            None => None,
        };
        let hasher = &self.st.hasher;
        let stored = account.as_ref().and_then(|a| a.password_hash.as_deref());
        let mut ok = hasher.verify(stored, password).await?;
        let mut used_temporary = false;
        if !ok
            && let Some(temp) = account
                .as_ref()
                .and_then(|a| a.live_temporary_hash(self.now()))
        {
            ok = hasher.verify(Some(temp), password).await?;
            used_temporary = ok;
        }
        let account = match account {
            Some(a) if ok && !a.is_frozen() => a,
            _ => {
                self.st.guard.record_failure(&subject).await?;
                return Ok(LoginOutcome::Refused);
            }
        };
        if used_temporary
            && !accounts::spend_temporary(self.st.store.pool(), account.id, self.now()).await?
        {
            return Ok(LoginOutcome::Refused);
        }
        self.st.guard.record_success(&subject).await?;
        if let Some(c) = &contractor {
            self.remember_language(c).await?;
        }
        let device = contractor
            .as_ref()
            .map(|c| self.device_cookie(c))
            .unwrap_or_default();
        Ok(LoginOutcome::Success {
            account_id: account.id,
            must_change: account.must_change() || used_temporary,
            device,
        })
    }

    /// How long a device cookie lasts.
    pub fn device_lifetime(&self) -> Duration {
        DEVICE_LIFETIME
    }
}
