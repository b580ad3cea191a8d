//! The notices after a credential change, on an independent channel, with "this wasn't me":
//! a password changed (email and SMS on record), and a temporary password issued to the phone
//! (email on record: whoever holds the phone is not necessarily the contractor).

use super::*;

impl Recovery<'_> {
    /// Tells the contractor on an independent channel (email and SMS on record) that a
    /// credential changed, with a "this wasn't me" link.
    pub(super) async fn queue_change_notices(
        &self,
        tx: &mut Tx,
        contractor: &Contractor,
        account_id: AccountId,
        how: HowChanged,
        now: Millis,
    ) -> Result<()> {
        let link = self.not_me_link(tx, account_id, now).await?;
        let city = &self.st.settings.city.name;
        if let Some(email) = contractor.fields.email_on_record() {
            let mail = messages::password_changed_email(
                self.lang,
                &messages::PasswordChangedFields {
                    name: &contractor.fields.contact_name,
                    city,
                    username: &self.username_of(contractor),
                    how,
                    not_me_link: &link,
                },
            )?;
            self.queue_to(
                tx,
                contractor,
                Outgoing::Email { to: &email, mail },
                None,
                now,
            )
            .await?;
        }
        if self.st.settings.twilio.sms_enabled
            && let Some(phone) = contractor.fields.phone_on_record()
        {
            let body = messages::password_changed_sms(
                self.lang,
                &messages::PasswordChangedSmsFields {
                    city,
                    not_me_link: &link,
                },
            )?;
            let sms = Outgoing::Sms {
                to: &phone,
                template: "password_changed",
                body,
            };
            self.queue_to(tx, contractor, sms, None, now).await?;
        }
        Ok(())
    }

    /// A new "this wasn't me" link for `account_id`.
    async fn not_me_link(&self, tx: &mut Tx, account_id: AccountId, now: Millis) -> Result<String> {
        let token = random_token(32);
        tokens::insert(
            tx,
            &token_digest(&token),
            account_id,
            Purpose::NotMe,
            Channel::Email,
            now + duration_ms(NOT_ME_LIFETIME),
            now,
        )
        .await?;
        Ok(self.link(&format!("not-me/{token}")))
    }

    /// Tells the contractor by the email on record (if any, and not bounced) that a temporary
    /// password went to the phone ending `phone_ending` (texted, or read aloud on a call back
    /// when `by_call`), with a "this wasn't me" link. Never the password itself. In the
    /// caller's transaction, so it goes only if the password is issued.
    pub(super) async fn queue_temporary_password_notice(
        &self,
        tx: &mut Tx,
        contractor: &Contractor,
        account_id: AccountId,
        phone_ending: &str,
        by_call: bool,
        now: Millis,
    ) -> Result<()> {
        let Some(email) = contractor.fields.email_on_record() else {
            return Ok(());
        };
        let link = self.not_me_link(tx, account_id, now).await?;
        let mail = messages::temporary_password_sent_email(
            self.lang,
            &messages::TemporaryPasswordSentFields {
                name: &contractor.fields.contact_name,
                city: &self.st.settings.city.name,
                username: &self.username_of(contractor),
                phone_ending,
                by_call,
                not_me_link: &link,
            },
        )?;
        // An address that bounced queues nothing (`queue_to` answers false): the text or the
        // call still goes; the bounce ticket already asks staff to fix the email.
        self.queue_to(
            tx,
            contractor,
            Outgoing::Email { to: &email, mail },
            None,
            now,
        )
        .await?;
        Ok(())
    }
}
