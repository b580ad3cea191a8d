//! "Setup an Account": a roster match only chooses where on record a setup link goes.

use super::*;

impl Recovery<'_> {
    /// "Setup an Account". A license on the roster whose phone or email matches gets a
    /// single-use setup link at the email on record (or a temporary password at the mobile on
    /// record); the password typed here is discarded and nobody is signed in. Anything else is
    /// kept for staff with a ticket, and counts as a failed identity check.
    pub async fn register(
        &self,
        form: &RegistrationForm,
        source: &Source,
    ) -> Result<std::result::Result<RegistrationOutcome, Vec<FieldError>>> {
        let mut errors = Vec::new();
        let required = [
            ("license_number", &form.license_number),
            ("business_name", &form.business_name),
            ("contact_name", &form.contact_name),
            ("phone", &form.phone),
            ("email", &form.email),
        ];
        for (field, value) in required {
            if value.trim().is_empty() {
                errors.push(FieldError::new(field, "required"));
            } else if value.chars().count() > 200 {
                errors.push(FieldError::new(field, "too_long_field"));
            }
        }
        let phone = PhoneNumber::parse(&form.phone).ok();
        if !form.phone.trim().is_empty() && phone.is_none() {
            errors.push(FieldError::new("phone", "invalid_phone"));
        }
        let email = EmailAddress::parse(&form.email).ok();
        if !form.email.trim().is_empty() && email.is_none() {
            errors.push(FieldError::new("email", "invalid_email"));
        }
        let policy = form.workers_comp_policy.trim();
        let expires = form.workers_comp_expires.trim();
        if !policy.is_empty() || !expires.is_empty() {
            if policy.is_empty() {
                errors.push(FieldError::new("workers_comp_policy", "required"));
            }
            match parse_date(expires) {
                None if expires.is_empty() => {
                    errors.push(FieldError::new("workers_comp_expires", "required"))
                }
                None => errors.push(FieldError::new("workers_comp_expires", "invalid_date")),
                Some(day) if day_ms(day) <= self.now() => {
                    errors.push(FieldError::new("workers_comp_expires", "expired_date"))
                }
                Some(_) => {}
            }
        }
        let license = form.license_number.trim();
        errors.extend(self.check_password_form(&form.password, license, Some(license), true));
        let (Some(phone), Some(email)) = (phone, email) else {
            return Ok(Err(errors));
        };
        if !errors.is_empty() {
            return Ok(Err(errors));
        }
        if !self.st.guard.allow_source(source) {
            return Ok(Err(vec![FieldError::new("license_number", "try_later")]));
        }

        // A registration is an identity check (license plus a contact on record) and counts
        // on the same counter as the kiosk's, so it cannot be used to guess phones.
        let contractor = self.contractor_by_any_number(license).await?;
        let subject = self.subject(Factor::Identity, license, contractor.as_ref());
        let waiting = matches!(
            self.st.guard.account_state(&subject).await?,
            AccountState::Waiting { .. }
        );
        let matched = contractor.filter(|c| {
            !waiting
                && (c.fields.on_record(&Contact::Phone(phone.clone()))
                    || c.fields.on_record(&Contact::Email(email.clone())))
        });
        match matched {
            Some(c) => {
                self.st.guard.record_success(&subject).await?;
                self.remember_language(&c).await?;
                // The password typed on the form is discarded: a match only chooses where on
                // record the setup link (or temporary password) goes.
                let (sent, by) = if c.fields.email.is_some() {
                    (
                        self.send_reset_link(&c, Channel::Web, LinkKind::Setup)
                            .await?,
                        Destination::Email,
                    )
                } else {
                    (
                        self.send_temporary_password(&c, Channel::Web).await?,
                        Destination::Sms,
                    )
                };
                match sent {
                    SendOutcome::Sent { to } => {
                        return Ok(Ok(RegistrationOutcome::SetupSent { to, by }));
                    }
                    SendOutcome::TooSoon => return Ok(Ok(RegistrationOutcome::SetupTooSoon)),
                    // Frozen, or nothing on record to send to: staff take it.
                    SendOutcome::NoDestination => {}
                }
            }
            None if !waiting => {
                self.st.guard.record_failure(&subject).await?;
            }
            None => {}
        }
        let ticket = self
            .store_registration(form, license, &phone, &email)
            .await?;
        Ok(Ok(RegistrationOutcome::Pending { ticket }))
    }

    /// Keeps a registration for staff (the password and answer hashed) and opens its ticket.
    pub(super) async fn store_registration(
        &self,
        form: &RegistrationForm,
        license: &str,
        phone: &PhoneNumber,
        email: &EmailAddress,
    ) -> Result<TicketId> {
        let policy = form.workers_comp_policy.trim();
        let expires = form.workers_comp_expires.trim();
        let hash = self.st.hasher.hash(&form.password.password).await?;
        let answer_hash = self.hash_answer(&form.password).await?;
        let question = form.password.question.clone().unwrap_or_default();
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let reg = registrations::insert(
            &mut tx,
            &NewRegistration {
                license_number: license,
                business_name: form.business_name.trim(),
                contact_name: form.contact_name.trim(),
                phone: phone.as_str(),
                email: email.as_str(),
                workers_comp_policy: (!policy.is_empty()).then_some(policy),
                workers_comp_expires: (!expires.is_empty()).then_some(expires),
                password_hash: &hash,
                security_question: &question,
                security_answer_hash: &answer_hash,
            },
            now,
        )
        .await?;
        let ticket = self
            .escalate(
                &mut tx,
                Escalation {
                    kind: TicketKind::Registration,
                    contractor: None,
                    channel: Channel::Web,
                    summary: format!(
                        "New contractor registration: license {license}, {}",
                        form.business_name.trim()
                    ),
                    detail: format!(
                        "Registration #{reg}: contact {}, phone {}, email {}. No roster entry with \
                     this license and contact.",
                        form.contact_name.trim(),
                        phone.masked(),
                        email.masked()
                    ),
                },
                now,
            )
            .await?;
        registrations::link_ticket(&mut tx, reg, ticket).await?;
        tx.commit().await?;
        Ok(ticket)
    }
}

/// `YYYY-MM-DD` as (year, month, day), checked.
fn parse_date(s: &str) -> Option<(i64, u32, u32)> {
    let mut parts = s.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1900..=9999).contains(&y) || !(1..=12).contains(&m) {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    (d >= 1 && d <= days[(m - 1) as usize]).then_some((y, m, d))
}

/// The end of that day (UTC) in milliseconds: a policy is valid through its expiry date.
fn day_ms((y, m, d): (i64, u32, u32)) -> Millis {
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    (days + 1) * 86_400_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("2026-02-29"), None);
        assert_eq!(parse_date("2028-02-29"), Some((2028, 2, 29)));
        assert_eq!(parse_date("2026-13-01"), None);
        assert_eq!(parse_date("tomorrow"), None);
        // 1970-01-01 ends at one day.
        assert_eq!(day_ms((1970, 1, 1)), 86_400_000);
        assert_eq!(day_ms((2026, 1, 5)), 1_767_657_600_000);
    }
}
