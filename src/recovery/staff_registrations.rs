//! Staff decide a registration that matched nobody on the roster. Approving makes the
//! contractor and the account from what the applicant chose (the password and answer were
//! hashed when they registered), so they sign in on the portal; rejecting emails them a
//! notice. One decision only: a conditional update of the registration's status, so of two
//! staff deciding at once exactly one wins and one contractor is made.

use super::staff_actions::{Notice, Refusal, StaffActions, StaffAnswer};
use super::*;
use crate::store::contractors::RosterFields;
use crate::store::registrations::Registration;

impl StaffActions<'_> {
    /// The ticket's pending registration, or the refusal.
    async fn pending_registration(&self) -> Result<std::result::Result<Registration, StaffAnswer>> {
        let pool = self.st.store.pool();
        if tickets::contractor_of(pool, self.by.ticket)
            .await?
            .is_none()
        {
            return Ok(Err(StaffAnswer::Refused(
                Refusal::NoTicket,
                format!("There is no ticket #{}.", self.by.ticket),
            )));
        }
        let Some(reg) = registrations::by_ticket(pool, self.by.ticket).await? else {
            return Ok(Err(StaffAnswer::Refused(
                Refusal::NoContractor,
                format!(
                    "Ticket #{} is not about a registration: there is nothing to approve or \
                     reject.",
                    self.by.ticket
                ),
            )));
        };
        if reg.status != "pending" {
            return Ok(Err(already(&reg.status)));
        }
        Ok(Ok(reg))
    }

    /// Approves the ticket's registration: the contractor and account are made.
    pub async fn approve_registration(&self) -> Result<StaffAnswer> {
        let reg = match self.pending_registration().await? {
            Ok(reg) => reg,
            Err(answer) => return Ok(answer),
        };
        let pool = self.st.store.pool();
        let license = reg.license_number.trim();
        let taken = match contractors::by_number(pool, license).await? {
            Some(c) => Some(c),
            None => contractors::by_identifier(pool, Identifier::LicenseNumber, license).await?,
        };
        if let Some(c) = taken {
            return Ok(StaffAnswer::Refused(
                Refusal::Conflict,
                format!(
                    "Contractor {} already has license {license} on the roster: reject this \
                     registration and help the caller recover that account instead.",
                    c.fields.contractor_number
                ),
            ));
        }
        let r = self.recovery(Lang::En);
        let now = r.now();
        let mut tx = self.st.store.begin_write().await?;
        if !registrations::decide(&mut tx, reg.id, "approved").await? {
            tx.rollback().await?;
            return Ok(StaffAnswer::Refused(
                Refusal::Conflict,
                "Another staff member decided this registration first.".into(),
            ));
        }
        // The license is the username under either city setting.
        let fields = RosterFields {
            contractor_number: license.to_string(),
            license_number: Some(license.to_string()),
            business_name: reg.business_name.clone(),
            contact_name: reg.contact_name.clone(),
            phone: Some(reg.phone.clone()),
            alt_phone: None,
            email: Some(reg.email.clone()),
        };
        let id = contractors::insert(&mut tx, &fields, now).await?;
        let account = accounts::create(&mut tx, id, &reg.password_hash, false, now).await?;
        accounts::set_password(
            &mut tx,
            account,
            &reg.password_hash,
            Some((&reg.security_question, &reg.security_answer_hash)),
            now,
        )
        .await?;
        tickets::set_contractor(&mut tx, self.by.ticket, id, now).await?;
        let contractor = Contractor {
            id,
            fields,
            created_at: now,
            updated_at: now,
        };
        r.audit(
            &mut tx,
            &contractor,
            "registration_approved",
            Channel::Staff,
            format!(
                "registration #{} approved; contractor {license} and account created",
                reg.id
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(StaffAnswer::Done(Notice::Approved))
    }

    /// Rejects the ticket's registration and emails the applicant a notice.
    pub async fn reject_registration(&self) -> Result<StaffAnswer> {
        let reg = match self.pending_registration().await? {
            Ok(reg) => reg,
            Err(answer) => return Ok(answer),
        };
        let r = self.recovery(Lang::En);
        let now = r.now();
        let mut tx = self.st.store.begin_write().await?;
        if !registrations::decide(&mut tx, reg.id, "rejected").await? {
            tx.rollback().await?;
            return Ok(StaffAnswer::Refused(
                Refusal::Conflict,
                "Another staff member decided this registration first.".into(),
            ));
        }
        let mut told = "no notice (the address on the form is not valid)".to_string();
        if let Ok(to) = EmailAddress::parse(&reg.email) {
            let mail = messages::registration_rejected_email(
                Lang::En,
                &messages::RegistrationRejectedFields {
                    name: &reg.contact_name,
                    city: &self.st.settings.city.name,
                    license: &reg.license_number,
                    staff_phone: self.st.settings.staff_phone.as_deref(),
                },
            )?;
            let from = &self.st.settings.mail.from;
            told = match crate::outbox::queue_email(&mut tx, from, &to, mail, None, None, now)
                .await?
            {
                Some(_) => format!("notice emailed to {}", to.masked()),
                None => format!("no notice: mail to {} bounced before", to.masked()),
            };
        }
        let by = self.by;
        r.staff_audit(
            &mut tx,
            by,
            &format!("registration:{}", reg.id),
            "registration_rejected",
            format!("registration #{} rejected; {told}", reg.id),
            now,
        )
        .await?;
        r.commit_and_wake(tx).await?;
        Ok(StaffAnswer::Done(Notice::Rejected))
    }
}

fn already(status: &str) -> StaffAnswer {
    StaffAnswer::Refused(
        Refusal::Conflict,
        format!("This registration was already {status}: a registration is decided once."),
    )
}
