//! Messages caused by staff acting on an account from a ticket: a temporary password by email
//! on record, the notice to the old contact when staff change a phone or email on record, and
//! the notice to an applicant whose registration staff rejected. Only the first holds a
//! secret; the notices never do. Composed like every other message (`email::compose`).

use askama::Template;

use super::Lang;
use super::email::compose;
use crate::mail::ComposedEmail;

/// `template` name of the email carrying a temporary password staff sent.
pub const TEMPORARY_PASSWORD_EMAIL: &str = "temporary_password_email";
/// `template` name of the notice to the old contact after a contact change.
pub const CONTACT_CHANGED: &str = "contact_changed";
/// `template` name of the notice of a rejected registration.
pub const REGISTRATION_REJECTED: &str = "registration_rejected";

message_fields! {
    /// A temporary password by email to the address on record. No `Debug`: it holds the secret.
    #[derive(Clone, Copy)]
    pub struct TemporaryPasswordEmailFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        pub temporary_password: &'a str,
        pub minutes: u64,
        pub staff_phone: Option<&'a str>,
    }
    templates {
        TemporaryPasswordEmailSubjectEn = "messages/en/email/temporary_password_email.subject.txt",
        TemporaryPasswordEmailTextEn = "messages/en/email/temporary_password_email.txt",
        TemporaryPasswordEmailHtmlEn = "messages/en/email/temporary_password_email.html",
        TemporaryPasswordEmailSubjectEs = "messages/es/email/temporary_password_email.subject.txt",
        TemporaryPasswordEmailTextEs = "messages/es/email/temporary_password_email.txt",
        TemporaryPasswordEmailHtmlEs = "messages/es/email/temporary_password_email.html",
    }
}

email_fn! {
    /// The email carrying a temporary password staff sent to the address on record.
    pub fn temporary_password_email(TemporaryPasswordEmailFields) = TEMPORARY_PASSWORD_EMAIL:
        en(TemporaryPasswordEmailSubjectEn, TemporaryPasswordEmailTextEn, TemporaryPasswordEmailHtmlEn),
        es(TemporaryPasswordEmailSubjectEs, TemporaryPasswordEmailTextEs, TemporaryPasswordEmailHtmlEs)
}

message_fields! {
    /// The phone or email on record changed: told to the old one, with the new one masked.
    #[derive(Debug, Clone, Copy)]
    pub struct ContactChangedFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        /// The phone changed (else the email).
        pub phone_changed: bool,
        /// The new contact, masked.
        pub new_masked: &'a str,
        /// The Building Division's number, when the city set one.
        pub staff_phone: Option<&'a str>,
    }
    templates {
        ContactChangedSubjectEn = "messages/en/email/contact_changed.subject.txt",
        ContactChangedTextEn = "messages/en/email/contact_changed.txt",
        ContactChangedHtmlEn = "messages/en/email/contact_changed.html",
        ContactChangedSubjectEs = "messages/es/email/contact_changed.subject.txt",
        ContactChangedTextEs = "messages/es/email/contact_changed.txt",
        ContactChangedHtmlEs = "messages/es/email/contact_changed.html",
        ContactChangedSmsEn = "messages/en/sms/contact_changed.txt",
        ContactChangedSmsEs = "messages/es/sms/contact_changed.txt",
    }
}

email_fn! {
    /// The email to the old address after the email on record changed.
    pub fn contact_changed_email(ContactChangedFields) = CONTACT_CHANGED:
        en(ContactChangedSubjectEn, ContactChangedTextEn, ContactChangedHtmlEn),
        es(ContactChangedSubjectEs, ContactChangedTextEs, ContactChangedHtmlEs)
}

/// The text to the old phone after the phone on record changed.
pub fn contact_changed_sms(
    lang: Lang,
    fields: &ContactChangedFields<'_>,
) -> Result<String, askama::Error> {
    let body = match lang {
        Lang::En => ContactChangedSmsEn::from(fields).render()?,
        Lang::Es => ContactChangedSmsEs::from(fields).render()?,
    };
    Ok(body.trim().to_string())
}

message_fields! {
    /// Staff rejected a registration: told to the applicant's email.
    #[derive(Debug, Clone, Copy)]
    pub struct RegistrationRejectedFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub license: &'a str,
        pub staff_phone: Option<&'a str>,
    }
    templates {
        RegistrationRejectedSubjectEn = "messages/en/email/registration_rejected.subject.txt",
        RegistrationRejectedTextEn = "messages/en/email/registration_rejected.txt",
        RegistrationRejectedHtmlEn = "messages/en/email/registration_rejected.html",
        RegistrationRejectedSubjectEs = "messages/es/email/registration_rejected.subject.txt",
        RegistrationRejectedTextEs = "messages/es/email/registration_rejected.txt",
        RegistrationRejectedHtmlEs = "messages/es/email/registration_rejected.html",
    }
}

email_fn! {
    /// The notice that a registration was not approved.
    pub fn registration_rejected_email(RegistrationRejectedFields) = REGISTRATION_REJECTED:
        en(RegistrationRejectedSubjectEn, RegistrationRejectedTextEn, RegistrationRejectedHtmlEn),
        es(RegistrationRejectedSubjectEs, RegistrationRejectedTextEs, RegistrationRejectedHtmlEs)
}

#[cfg(test)]
mod tests {
    use super::super::{SmsEncoding, sms_segments};
    use super::*;

    fn changed(phone_changed: bool) -> ContactChangedFields<'static> {
        ContactChangedFields {
            name: "Pat <Roof & Co>",
            city: "Westminster",
            username: "C-1001",
            phone_changed,
            new_masked: "***-***-0199",
            staff_phone: Some("(303) 555-0100"),
        }
    }

    #[test]
    fn every_staff_notice_is_translated_and_says_what_it_must() {
        for (lang, not_you) in [(Lang::En, "not you"), (Lang::Es, "no fue usted")] {
            for phone in [true, false] {
                let m = contact_changed_email(lang, &changed(phone)).unwrap();
                assert_eq!(m.template, CONTACT_CHANGED);
                assert!(m.text.contains("***-***-0199"), "{}", m.text);
                assert!(m.text.contains(not_you), "{}", m.text);
                assert!(m.text.contains("(303) 555-0100"), "{}", m.text);
                assert!(m.html.contains("Pat &#60;Roof") || m.html.contains("Pat &lt;Roof"));
                assert!(!m.subject.contains('\n'));
                let sms = contact_changed_sms(lang, &changed(phone)).unwrap();
                assert!(sms.starts_with("Westminster: "), "{sms}");
                assert!(!sms.contains('\n'));
                let (encoding, segments) = sms_segments(&sms);
                assert_eq!(encoding, SmsEncoding::Gsm7, "{sms}");
                assert!(segments <= 2, "{sms}");
            }
            let temp = temporary_password_email(
                lang,
                &TemporaryPasswordEmailFields {
                    name: "Pat",
                    city: "Westminster",
                    username: "C-1001",
                    temporary_password: "Hq7k-3Wmx",
                    minutes: 60,
                    staff_phone: None,
                },
            )
            .unwrap();
            assert!(temp.text.contains("Hq7k-3Wmx") && temp.html.contains("Hq7k-3Wmx"));
            assert!(!temp.subject.contains("Hq7k-3Wmx"), "never in the subject");
            let rejected = registration_rejected_email(
                lang,
                &RegistrationRejectedFields {
                    name: "Pat",
                    city: "Westminster",
                    license: "B-1",
                    staff_phone: None,
                },
            )
            .unwrap();
            assert!(rejected.text.contains("B-1"));
        }
        let en = contact_changed_email(Lang::En, &changed(true)).unwrap();
        let es = contact_changed_email(Lang::Es, &changed(true)).unwrap();
        assert_ne!(en.text, es.text);
    }
}
