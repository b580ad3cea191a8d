//! What the SMS channel asks of the recovery service: RESET (a temporary password for the
//! number texting in, when it is the mobile on record), and STOP and START, remembered for
//! every channel.
//!
//! RESET is the kiosk's identity check with the texting number (Twilio's `From`) standing in
//! for the phone typed: the number named in the text and `From` are checked by
//! `verify_identity_inner`, on the same identity counter (waits and all) and behind the same
//! flood filter as the kiosk and the phone line, and a mismatch counts there. `From` is a claim
//! — a forged one can only make the password go to the real owner's phone — so one more rule
//! holds: the password goes only when `From` IS the mobile on record, not the alternate phone
//! (a landline, perhaps) that also passes the identity check. Then `send_temporary_password`
//! spends the per-account and per-destination send budgets exactly as every other channel.

use super::*;
use crate::store::sms_opt_outs;

/// What a RESET text did. The channel answers `Sent` and `Refused` with the same words: a
/// text never tells whether a number is on the roster or whether this phone is on record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextReset {
    /// A temporary password is queued to the mobile on record (the number texting in).
    Sent,
    /// The number and the texting phone do not match the roster, the identity check is
    /// waiting after failures, or the flood filter refused: nothing was sent.
    Refused,
    /// They match, but nothing can be sent now: texts are off, a password went to this
    /// account or phone too recently, the account is frozen, or the number texted STOP. Only
    /// the mobile on record itself can get this answer (replies go to the texting number).
    NotSent,
}

impl Recovery<'_> {
    /// RESET `typed_number`, texted from `from`: a temporary password to the mobile on record
    /// when `from` is that mobile (see the module docs). Refusals wait out the response floor.
    pub async fn text_reset(&self, typed_number: &str, from: &str) -> Result<TextReset> {
        if !self.st.settings.twilio.sms_enabled || self.texts_stopped(from).await? {
            return Ok(TextReset::NotSent);
        }
        let deadline = Instant::now() + self.st.settings.response_floor;
        let outcome = self.text_reset_inner(typed_number, from).await?;
        if outcome == TextReset::Refused {
            tokio::time::sleep_until(deadline).await;
        }
        Ok(outcome)
    }

    async fn text_reset_inner(&self, typed_number: &str, from: &str) -> Result<TextReset> {
        let source = Source::CallingNumber(from.to_string());
        let Some(verified) = self
            .verify_identity_inner(typed_number, from, &source)
            .await?
        else {
            return Ok(TextReset::Refused);
        };
        let Some(contractor) =
            contractors::by_id(self.st.store.pool(), verified.contractor_id).await?
        else {
            return Ok(TextReset::Refused);
        };
        let texting = PhoneNumber::parse(from).ok();
        if texting.is_none() || contractor.fields.phone_on_record() != texting {
            return Ok(TextReset::Refused);
        }
        Ok(
            match self
                .send_temporary_password(&contractor, Channel::Sms)
                .await?
            {
                SendOutcome::Sent { .. } => TextReset::Sent,
                SendOutcome::TooSoon | SendOutcome::NoDestination => TextReset::NotSent,
            },
        )
    }

    /// STOP from `from`: Helpline texts it nothing more until START. A sender that is not a
    /// phone number Helpline could text is not remembered (there is nothing to stop).
    pub async fn stop_texts(&self, from: &str) -> Result<()> {
        if let Ok(phone) = PhoneNumber::parse(from) {
            sms_opt_outs::stop(self.st.store.pool(), phone.as_str(), self.now()).await?;
            tracing::info!(from = %phone.masked(), "texts stopped (STOP)");
        }
        Ok(())
    }

    /// START from `from`: texts to it are on again.
    pub async fn start_texts(&self, from: &str) -> Result<()> {
        if let Ok(phone) = PhoneNumber::parse(from)
            && sms_opt_outs::start(self.st.store.pool(), phone.as_str()).await?
        {
            tracing::info!(from = %phone.masked(), "texts on again (START)");
        }
        Ok(())
    }

    /// True when `from` texted STOP and not START since.
    pub async fn texts_stopped(&self, from: &str) -> Result<bool> {
        match PhoneNumber::parse(from) {
            Ok(phone) => self.texts_stopped_to(&phone).await,
            Err(_) => Ok(false),
        }
    }

    pub(super) async fn texts_stopped_to(&self, phone: &PhoneNumber) -> Result<bool> {
        Ok(sms_opt_outs::is_stopped(self.st.store.pool(), phone.as_str()).await?)
    }
}
