//! The identity check (a number plus the phone on record) and the kiosk's single-use
//! verification that chooses where on record a secret goes. The verification is a kiosk
//! conversation (`recovery::conversation`) keyed by the digest of a random id that only the
//! browser holds: live for [`VERIFICATION_LIFETIME`], used up by exactly one send.

use super::*;
use crate::domain::conversation::{Check, Checks, Conversation, ConversationKey};
use crate::store::conversations::NewConversation;
use crate::store::email_undeliverable;

/// What a kiosk conversation must have passed before it may send: the number and the phone
/// on record.
const KIOSK_CHECKS: Checks = Checks::NONE.with(Check::Number).with(Check::Phone);

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
        Ok(Some(self.verified(&c).await?))
    }

    /// The verified contractor and where on record a secret may go, masked. The email is
    /// offered only while mail to it has not bounced; the mobile for a text only while texts
    /// are on and it has not texted STOP; for a call back while calls are on.
    pub(super) async fn verified(&self, c: &Contractor) -> Result<Verified> {
        let twilio = &self.st.settings.twilio;
        let mut mobile = None;
        if twilio.sms_enabled
            && let Some(p) = c.fields.phone_on_record()
            && !self.texts_stopped_to(&p).await?
        {
            mobile = Some(p.masked());
        }
        let email = c.fields.email_on_record();
        let email_undeliverable = match &email {
            Some(e) => {
                email_undeliverable::is_undeliverable(self.st.store.pool(), e.as_str()).await?
            }
            None => false,
        };
        Ok(Verified {
            contractor_id: c.id,
            email: c
                .fields
                .email
                .as_deref()
                .filter(|_| !email_undeliverable)
                .map(mask_address),
            email_undeliverable,
            phone: mobile,
            callback: c
                .fields
                .phone
                .as_deref()
                .filter(|_| twilio.voice_enabled)
                .map(mask_address),
        })
    }

    /// Keeps a kiosk verification on the server as a kiosk conversation for
    /// [`VERIFICATION_LIFETIME`]; the browser holds only the returned id, the store only its
    /// digest.
    pub async fn hold_verification(&self, verified: &Verified) -> Result<String> {
        // 256 random bits: no live conversation holds this key, so this one is new.
        let id = random_token(32);
        self.st
            .conversations()
            .open(
                &NewConversation {
                    channel: Channel::Kiosk,
                    key: &ConversationKey::secret(&id),
                    contractor_id: Some(verified.contractor_id),
                    checks: KIOSK_CHECKS,
                    language: self.lang,
                    state: "",
                },
                VERIFICATION_LIFETIME,
            )
            .await?;
        Ok(id)
    }

    /// The live verification behind `id`, without using it (to show the choice again).
    pub async fn verification(&self, id: &str) -> Result<Option<Verified>> {
        if !well_formed_token(id) {
            return Ok(None);
        }
        let held = self
            .st
            .conversations()
            .live(Channel::Kiosk, &ConversationKey::secret(id))
            .await?;
        let Some(contractor_id) = held.as_ref().and_then(verified_contractor) else {
            return Ok(None);
        };
        match contractors::by_id(self.st.store.pool(), contractor_id).await? {
            Some(c) => Ok(Some(self.verified(&c).await?)),
            None => Ok(None),
        }
    }

    /// Uses the verification behind `id` up, exactly once even under parallel requests, and
    /// sends to the chosen contact on record. The audit log names the kiosk as the channel.
    pub async fn send_verified(
        &self,
        id: &str,
        destination: Destination,
        source: &Source,
    ) -> Result<Option<SendOutcome>> {
        if !self.st.guard.allow_source(source) || !well_formed_token(id) {
            return Ok(None);
        }
        let taken = self
            .st
            .conversations()
            .use_up(Channel::Kiosk, &ConversationKey::secret(id))
            .await?;
        let Some(contractor_id) = taken.as_ref().and_then(verified_contractor) else {
            return Ok(None);
        };
        Ok(Some(
            self.send_recovery(contractor_id, destination, Channel::Kiosk)
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

/// The contractor of a kiosk conversation that passed the kiosk's checks.
fn verified_contractor(c: &Conversation) -> Option<ContractorId> {
    c.contractor_id
        .filter(|_| c.channel == Channel::Kiosk && c.checks.contains_all(KIOSK_CHECKS))
}
