//! The identity check (a number plus the phone on record) and the kiosk's single-use
//! verification that chooses where on record a secret goes.

use super::*;

impl Recovery<'_> {
    /// The kiosk's first step: a contractor or license number and the phone on record. Both
    /// must match; a failure counts against the contractor like a wrong password and says
    /// nothing about which part was wrong.
    pub async fn verify_identity(
        &self,
        typed_number: &str,
        typed_phone: &str,
        source: &Source,
    ) -> Result<Option<Verified>> {
        let deadline = Instant::now() + self.st.settings.response_floor;
        let found = self
            .verify_identity_inner(typed_number, typed_phone, source)
            .await?;
        if found.is_none() {
            tokio::time::sleep_until(deadline).await;
        }
        Ok(found)
    }

    pub(super) async fn verify_identity_inner(
        &self,
        typed_number: &str,
        typed_phone: &str,
        source: &Source,
    ) -> Result<Option<Verified>> {
        if !self.st.guard.allow_source(source) {
            return Ok(None);
        }
        let contractor = self.contractor_by_any_number(typed_number).await?;
        // The identity check has its own counter: its successes never clear the password's.
        let subject = self.subject(Factor::Identity, typed_number, contractor.as_ref());
        if let AccountState::Waiting { .. } = self.st.guard.account_state(&subject).await? {
            return Ok(None);
        }
        let phone = PhoneNumber::parse(typed_phone).ok();
        let matched = match (&contractor, &phone) {
            (Some(c), Some(p)) => c.fields.on_record(&Contact::Phone(p.clone())),
            _ => false,
        };
        let Some(c) = contractor.filter(|_| matched) else {
            self.st.guard.record_failure(&subject).await?;
            return Ok(None);
        };
        self.st.guard.record_success(&subject).await?;
        self.remember_language(&c).await?;
        let sms = self.st.settings.twilio.sms_enabled;
        Ok(Some(Verified {
            contractor_id: c.id,
            email: c.fields.email.as_deref().map(mask_address),
            phone: c.fields.phone.as_deref().filter(|_| sms).map(mask_address),
        }))
    }

    /// Keeps a kiosk verification on the server for a few minutes; the browser holds only the
    /// returned id.
    pub async fn hold_verification(&self, verified: &Verified) -> Result<String> {
        let id = random_token(32);
        let now = self.now();
        let data = serde_json::to_string(verified).unwrap_or_default();
        sessions::create(
            self.st.store.pool(),
            &sessions::NewSession {
                id_hash: &token_digest(&id),
                data: &data,
                expires_at: now + duration_ms(VERIFICATION_LIFETIME),
                ..Default::default()
            },
            now,
        )
        .await?;
        Ok(id)
    }

    /// The live verification behind `id`, without using it (to show the choice again).
    pub async fn verification(&self, id: &str) -> Result<Option<Verified>> {
        if !well_formed_token(id) {
            return Ok(None);
        }
        let row = sessions::get(self.st.store.pool(), &token_digest(id)).await?;
        Ok(row
            .filter(|r| r.expires_at > self.now() && r.account_id.is_none())
            .and_then(|r| serde_json::from_str(&r.data).ok()))
    }

    /// Uses the verification behind `id` up, exactly once even under parallel requests, and
    /// sends to the chosen contact on record.
    pub async fn send_verified(
        &self,
        id: &str,
        destination: Destination,
        source: &Source,
        channel: Channel,
    ) -> Result<Option<SendOutcome>> {
        if !self.st.guard.allow_source(source) || !well_formed_token(id) {
            return Ok(None);
        }
        let Some(data) =
            sessions::take_verification(self.st.store.pool(), &token_digest(id), self.now())
                .await?
        else {
            return Ok(None);
        };
        let Ok(verified) = serde_json::from_str::<Verified>(&data) else {
            return Ok(None);
        };
        Ok(Some(
            self.send_recovery(verified.contractor_id, destination, channel)
                .await?,
        ))
    }

    /// Sends a reset link (email) or a temporary password (SMS) to where on record the
    /// verified contractor chose, within the send budget.
    pub async fn send_recovery(
        &self,
        contractor_id: ContractorId,
        destination: Destination,
        channel: Channel,
    ) -> Result<SendOutcome> {
        let Some(contractor) = contractors::by_id(self.st.store.pool(), contractor_id).await?
        else {
            return Ok(SendOutcome::NoDestination);
        };
        match destination {
            Destination::Email => {
                self.send_reset_link(&contractor, channel, LinkKind::Reset)
                    .await
            }
            Destination::Sms => self.send_temporary_password(&contractor, channel).await,
        }
    }
}
