//! Staff change the phone or the email on record, with a reason. The old contact is told (and
//! the other contact on record, an independent channel), every live reset link and temporary
//! password of the account is voided and queued messages carrying one are dropped, so someone
//! who talked staff into a change cannot ride a secret sent before it. An email change clears
//! the undeliverable marks of the old and the new address.

use super::staff_actions::{Notice, Refusal, StaffActions, StaffAnswer};
use super::*;
use crate::store::email_undeliverable;

/// The longest reason kept in the audit log.
const REASON_MAX: usize = 500;

/// A new contact as staff typed it, parsed.
enum NewContact {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl NewContact {
    fn masked(&self) -> String {
        match self {
            NewContact::Phone(p) => p.masked(),
            NewContact::Email(e) => e.masked(),
        }
    }
}

fn reason_problem(reason: &str) -> Option<&'static str> {
    let reason = reason.trim();
    if reason.is_empty() {
        Some(
            "Give a reason for the change (for example how you verified the caller); it goes in \
             the audit log.",
        )
    } else if reason.chars().count() > REASON_MAX || reason.chars().any(char::is_control) {
        Some("The reason is longer than 500 characters or holds a control character.")
    } else {
        None
    }
}

impl StaffActions<'_> {
    /// Replaces the (mobile) phone on record.
    pub async fn change_phone(&self, typed: &str, reason: &str) -> Result<StaffAnswer> {
        if typed.chars().count() > 64 {
            return Ok(StaffAnswer::Refused(
                Refusal::Invalid,
                "The new phone number is too long.".into(),
            ));
        }
        match PhoneNumber::parse(typed) {
            Ok(p) => self.change(NewContact::Phone(p), reason).await,
            Err(e) => Ok(StaffAnswer::Refused(
                Refusal::Invalid,
                format!("The new phone number {e}."),
            )),
        }
    }

    /// Replaces the email on record.
    pub async fn change_email(&self, typed: &str, reason: &str) -> Result<StaffAnswer> {
        if typed.trim().is_empty() {
            return Ok(StaffAnswer::Refused(
                Refusal::Invalid,
                "Type the new email address.".into(),
            ));
        }
        if typed.chars().count() > 254 {
            return Ok(StaffAnswer::Refused(
                Refusal::Invalid,
                "The new email address is longer than 254 characters.".into(),
            ));
        }
        match EmailAddress::parse(typed) {
            Ok(e) => self.change(NewContact::Email(e), reason).await,
            Err(_) => Ok(StaffAnswer::Refused(
                Refusal::Invalid,
                "The new email is not an email address: it needs a name, an @ and a domain, \
                 like name@example.com."
                    .into(),
            )),
        }
    }

    async fn change(&self, new: NewContact, reason: &str) -> Result<StaffAnswer> {
        if let Some(problem) = reason_problem(reason) {
            return Ok(StaffAnswer::Refused(Refusal::Invalid, problem.into()));
        }
        let reason = reason.trim();
        let (r, c) = match self.target().await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        let old = c.fields.clone();
        let mut fields = c.fields.clone();
        let (what, old_masked) = match &new {
            NewContact::Phone(p) => {
                if old.phone.as_deref() == Some(p.as_str()) {
                    return Ok(StaffAnswer::Refused(
                        Refusal::Invalid,
                        "That is already the phone on record.".into(),
                    ));
                }
                fields.phone = Some(p.as_str().to_string());
                ("phone", old.phone_on_record().map(|p| p.masked()))
            }
            NewContact::Email(e) => {
                if old
                    .email
                    .as_deref()
                    .is_some_and(|o| o.eq_ignore_ascii_case(e.as_str()))
                {
                    return Ok(StaffAnswer::Refused(
                        Refusal::Invalid,
                        "That is already the email on record.".into(),
                    ));
                }
                fields.email = Some(e.as_str().to_string());
                ("email", old.email_on_record().map(|e| e.masked()))
            }
        };
        let now = r.now();
        let mut tx = self.st.store.begin_write().await?;
        contractors::update(&mut tx, c.id, &fields, now).await?;
        // Before the notices: they carry no secret, and must not be dropped with the secrets.
        let voided = accounts::revoke_secrets(&mut tx, c.id, now).await?;
        let told = r.queue_contact_notices(&mut tx, &c, &new, now).await?;
        if let NewContact::Email(e) = &new {
            // After the notice to the old address: one that bounced is told nothing.
            for address in old.email.iter().map(String::as_str).chain([e.as_str()]) {
                email_undeliverable::clear(&mut *tx, address).await?;
            }
        }
        let detail = format!(
            "{what} on record changed from {} to {}; reason: {reason}; {voided} pending \
             secret(s) voided; told: {}",
            old_masked.unwrap_or_else(|| "(none)".into()),
            new.masked(),
            if told.is_empty() {
                "nobody (no other contact on record)".to_string()
            } else {
                told.join(", ")
            },
        );
        r.audit(&mut tx, &c, "contact_changed", Channel::Staff, detail, now)
            .await?;
        r.commit_and_wake(tx).await?;
        Ok(StaffAnswer::Done(match new {
            NewContact::Phone(_) => Notice::PhoneChanged,
            NewContact::Email(_) => Notice::EmailChanged,
        }))
    }
}

impl Recovery<'_> {
    /// Tells the contractor's old contacts (the phone and the email on record before the
    /// change) that one changed: the masked destinations told.
    async fn queue_contact_notices(
        &self,
        tx: &mut Tx,
        before: &Contractor,
        new: &NewContact,
        now: Millis,
    ) -> Result<Vec<String>> {
        let phone_changed = matches!(new, NewContact::Phone(_));
        let new_masked = new.masked();
        let username = self.username_of(before);
        let fields = messages::ContactChangedFields {
            name: &before.fields.contact_name,
            city: &self.st.settings.city.name,
            username: &username,
            phone_changed,
            new_masked: &new_masked,
            staff_phone: self.st.settings.staff_phone.as_deref(),
        };
        let mut told = Vec::new();
        if let Some(email) = before.fields.email_on_record() {
            let mail = messages::contact_changed_email(self.lang, &fields)?;
            // The old address is off the record now: queued without the contractor, or the
            // worker (which sends only to contacts on record) would drop the notice.
            let owner = (phone_changed).then_some(before.id);
            let from = &self.st.settings.mail.from;
            if queue_email(tx, from, &email, mail, owner, None, now)
                .await?
                .is_some()
            {
                told.push(email.masked());
            }
        }
        if self.st.settings.twilio.sms_enabled
            && let Some(phone) = before.fields.phone_on_record()
        {
            let body = messages::contact_changed_sms(self.lang, &fields)?;
            let owner = (!phone_changed).then_some(before.id);
            if queue_sms(
                tx,
                &phone,
                messages::CONTACT_CHANGED,
                body,
                owner,
                None,
                now,
            )
            .await?
            .is_some()
            {
                told.push(phone.masked());
            }
        }
        Ok(told)
    }
}
