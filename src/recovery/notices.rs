//! The notices after a credential change, on an independent channel, with "this wasn't me".

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
        let link = self.link(&format!("not-me/{token}"));
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
}
