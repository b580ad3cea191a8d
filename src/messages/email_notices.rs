//! The email that tells a contractor a temporary password went to their phone: an
//! independent channel, so someone who took over the phone (or the call back) is noticed,
//! with "this wasn't me". It never holds the secret. Kept apart from `email.rs` to keep that
//! file short; composed the same way.

use super::Lang;
use super::email::compose;
use crate::mail::ComposedEmail;

/// `template` name of the notice that a temporary password was issued.
pub const TEMPORARY_PASSWORD_SENT: &str = "temporary_password_sent";

message_fields! {
    /// A temporary password went to the phone on record: where, and "this wasn't me".
    #[derive(Debug, Clone, Copy)]
    pub struct TemporaryPasswordSentFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        /// The last digits of the phone it went to.
        pub phone_ending: &'a str,
        /// Read aloud on a call back rather than texted.
        pub by_call: bool,
        pub not_me_link: &'a str,
    }
    templates {
        TemporaryPasswordSentSubjectEn = "messages/en/email/temporary_password_sent.subject.txt",
        TemporaryPasswordSentTextEn = "messages/en/email/temporary_password_sent.txt",
        TemporaryPasswordSentHtmlEn = "messages/en/email/temporary_password_sent.html",
        TemporaryPasswordSentSubjectEs = "messages/es/email/temporary_password_sent.subject.txt",
        TemporaryPasswordSentTextEs = "messages/es/email/temporary_password_sent.txt",
        TemporaryPasswordSentHtmlEs = "messages/es/email/temporary_password_sent.html",
    }
}

email_fn! {
    /// The "a temporary password was sent to your phone" email.
    pub fn temporary_password_sent_email(TemporaryPasswordSentFields) = TEMPORARY_PASSWORD_SENT:
        en(TemporaryPasswordSentSubjectEn, TemporaryPasswordSentTextEn, TemporaryPasswordSentHtmlEn),
        es(TemporaryPasswordSentSubjectEs, TemporaryPasswordSentTextEs, TemporaryPasswordSentHtmlEs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(lang: Lang, by_call: bool) -> ComposedEmail {
        temporary_password_sent_email(
            lang,
            &TemporaryPasswordSentFields {
                name: "Pat <Roof & Co>",
                city: "Westminster",
                username: "C-1001",
                phone_ending: "0142",
                by_call,
                not_me_link: "https://help.westminster.example.gov/not-me/fedcba98",
            },
        )
        .unwrap()
    }

    #[test]
    fn says_where_it_went_and_offers_this_was_not_me_in_both_languages() {
        for (lang, texted, called, not_me) in [
            (
                Lang::En,
                "sent by text message",
                "read aloud on a call",
                "wasn't you",
            ),
            (
                Lang::Es,
                "mensaje de texto",
                "leyó en una llamada",
                "no fue usted",
            ),
        ] {
            let m = notice(lang, false);
            assert_eq!(m.template, TEMPORARY_PASSWORD_SENT);
            assert!(m.text.contains(texted), "{}", m.text);
            assert!(m.text.contains("0142"), "{}", m.text);
            assert!(m.text.contains(not_me), "{}", m.text);
            assert!(m.text.contains("/not-me/fedcba98"), "{}", m.text);
            assert!(
                m.html
                    .contains("href=\"https://help.westminster.example.gov/not-me/fedcba98\"")
            );
            assert!(
                m.html.contains("Pat &#60;Roof &#38; Co&#62;")
                    || m.html.contains("Pat &lt;Roof &amp; Co&gt;"),
                "{}",
                m.html
            );
            assert!(!m.subject.contains('\n'));
            assert!(notice(lang, true).text.contains(called));
        }
    }

    /// Every email template, in both languages, with distinctive secret values: the link
    /// tokens never reach the subject (subjects show in lock screens, list views and logs), and
    /// every message has a text part and an HTML part.
    #[test]
    fn every_email_template_keeps_secrets_out_of_the_subject_and_has_both_parts() {
        use crate::messages::*;
        const TOKEN: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f0secret";
        let link = format!("https://help.westminster.example.gov/reset/{TOKEN}");
        let not_me = format!("https://help.westminster.example.gov/not-me/{TOKEN}");
        let (city, name, username) = ("Westminster", "Pat Alvarez", "C-1001");
        for lang in [Lang::En, Lang::Es] {
            let mut all = vec![
                reset_link_email(
                    lang,
                    &ResetLinkFields {
                        name,
                        city,
                        username,
                        link: &link,
                        minutes: 45,
                    },
                ),
                account_setup_email(
                    lang,
                    &AccountSetupFields {
                        name,
                        city,
                        username,
                        link: &link,
                        minutes: 45,
                    },
                ),
                sms_undelivered_email(
                    lang,
                    &SmsUndeliveredFields {
                        name,
                        city,
                        username,
                        phone_ending: "2075",
                        forgot_link: &link,
                        staff_phone: Some("303-555-0100"),
                        office_hours: Some("8-5"),
                    },
                ),
                reset_request_received_email(
                    lang,
                    &ResetRequestReceivedFields {
                        city,
                        minutes: 45,
                        forgot_link: &link,
                    },
                ),
                email_received_email(
                    lang,
                    &EmailReceivedFields {
                        city,
                        forgot_link: &link,
                        office_hours: None,
                    },
                ),
                temporary_password_sent_email(
                    lang,
                    &TemporaryPasswordSentFields {
                        name,
                        city,
                        username,
                        phone_ending: "2075",
                        by_call: false,
                        not_me_link: &not_me,
                    },
                ),
            ];
            for how in HowChanged::ALL {
                all.push(password_changed_email(
                    lang,
                    &PasswordChangedFields {
                        name,
                        city,
                        username,
                        how,
                        not_me_link: &not_me,
                    },
                ));
            }
            assert_eq!(all.len(), 9);
            for m in all {
                let m = m.unwrap();
                assert!(!m.subject.contains(TOKEN), "{}: {}", m.template, m.subject);
                assert!(
                    !m.subject.contains("https://"),
                    "{}: {}",
                    m.template,
                    m.subject
                );
                assert!(!m.subject.is_empty(), "{}", m.template);
                assert!(!m.text.trim().is_empty(), "{}: text part", m.template);
                assert!(m.html.contains("<html"), "{}: HTML part", m.template);
                assert!(!m.text.contains("<p>"), "{}: text is text", m.template);
            }
        }
    }
}
