//! Temporary passwords: texted to the phone on record (and the email on record told so, with
//! "this wasn't me"), emailed to the address on record when staff choose so from a ticket,
//! or handed over by the CLI (demo).

use super::*;

impl Recovery<'_> {
    /// A temporary password by SMS to the phone on record, single use, changed at sign-in.
    /// The send budget is spent first, in its own short transaction, so a refused request
    /// costs no argon2 work.
    pub(super) async fn send_temporary_password(
        &self,
        contractor: &Contractor,
        channel: Channel,
    ) -> Result<SendOutcome> {
        if !self.st.settings.twilio.sms_enabled {
            return Ok(SendOutcome::NoDestination);
        }
        let Some(phone) = contractor.fields.phone_on_record() else {
            return Ok(SendOutcome::NoDestination);
        };
        // A mobile that texted STOP gets no text: nothing is issued for it.
        if self.texts_stopped_to(&phone).await? {
            return Ok(SendOutcome::NoDestination);
        }
        let (tx, account) = match self
            .begin_send(contractor, "temporary_password", phone.as_str(), self.now())
            .await?
        {
            Ok(started) => started,
            Err(refused) => return Ok(refused),
        };
        // Spent before the argon2 work, in its own short transaction.
        tx.commit().await?;
        let temp = SecretString::from(temporary_password());
        let hash = self.st.hasher.hash(&temp).await?;
        let now = self.now();
        let lifetime = self.st.settings.temporary_password_lifetime;
        let expires = now + duration_ms(lifetime);
        let mut tx = self.st.store.begin_write().await?;
        accounts::set_temporary(&mut tx, account.id, &hash, expires, now).await?;
        self.queue_temporary_password_notice(
            &mut tx,
            contractor,
            account.id,
            phone.last_four(),
            false,
            now,
        )
        .await?;
        let body = messages::temporary_password_sms(
            self.lang,
            &messages::TemporaryPasswordFields {
                city: &self.st.settings.city.name,
                temporary_password: temp.expose_secret(),
                username: &self.username_of(contractor),
                minutes: lifetime.as_secs() / 60,
            },
        )?;
        self.send_secret(
            tx,
            contractor,
            Outgoing::Sms {
                to: &phone,
                template: "temporary_password",
                body,
            },
            Secret {
                action: "temporary_password_issued",
                channel,
                expires,
            },
            now,
        )
        .await
    }
}

impl Recovery<'_> {
    /// A temporary password by email to the address on record (staff's choice when the
    /// contractor has no mobile). The same budget as the text, spent before the argon2 work.
    pub(super) async fn send_temporary_password_by_email(
        &self,
        contractor: &Contractor,
        email: &EmailAddress,
    ) -> Result<SendOutcome> {
        let (tx, account) = match self
            .begin_send(contractor, "temporary_password", email.as_str(), self.now())
            .await?
        {
            Ok(started) => started,
            Err(refused) => return Ok(refused),
        };
        tx.commit().await?;
        let temp = SecretString::from(temporary_password());
        let hash = self.st.hasher.hash(&temp).await?;
        let now = self.now();
        let lifetime = self.st.settings.temporary_password_lifetime;
        let expires = now + duration_ms(lifetime);
        let mut tx = self.st.store.begin_write().await?;
        accounts::set_temporary(&mut tx, account.id, &hash, expires, now).await?;
        let mail = messages::temporary_password_email(
            self.lang,
            &messages::TemporaryPasswordEmailFields {
                name: &contractor.fields.contact_name,
                city: &self.st.settings.city.name,
                username: &self.username_of(contractor),
                temporary_password: temp.expose_secret(),
                minutes: lifetime.as_secs() / 60,
                staff_phone: self.st.settings.staff_phone.as_deref(),
            },
        )?;
        self.send_secret(
            tx,
            contractor,
            Outgoing::Email { to: email, mail },
            Secret {
                action: "temporary_password_issued",
                channel: Channel::Staff,
                expires,
            },
            now,
        )
        .await
    }
}

/// Gives a contractor a temporary password that is handed over by the caller rather than
/// sent (the demo prints it): the account is made if need be, and the password is set and
/// audited in one transaction, as the kiosk's text does. Returns the password.
pub async fn issue_temporary_password(
    store: &crate::store::Store,
    hasher: &crate::hashing::Hasher,
    contractor: &Contractor,
    lifetime: Duration,
    channel: Channel,
    now: Millis,
) -> Result<SecretString> {
    let temp = SecretString::from(temporary_password());
    let hash = hasher.hash(&temp).await?;
    let mut tx = store.begin_write().await?;
    let account = accounts::ensure(&mut tx, contractor.id, now).await?;
    accounts::set_temporary(&mut tx, account.id, &hash, now + duration_ms(lifetime), now).await?;
    let subject = format!("contractor:{}", contractor.fields.contractor_number);
    audit::append(
        &mut tx,
        &AuditEvent {
            actor: channel.as_str(),
            action: "temporary_password_issued",
            subject: &subject,
            channel,
            detail: format!("handed over by {channel}"),
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(temp)
}
