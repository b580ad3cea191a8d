//! Text messages: one template per message and language, rendered to a single line. The
//! Spanish wording avoids the accented letters outside the GSM 03.38 alphabet (á, í, ó, ú) so a
//! message stays in GSM-7 and within two segments; the tests hold every message to that.

use askama::Template;

use super::Lang;

message_fields! {
    /// A temporary password by SMS to the phone on record. No `Debug`: it holds the secret.
    #[derive(Clone, Copy)]
    pub struct TemporaryPasswordFields<'a> {
        pub city: &'a str,
        pub temporary_password: &'a str,
        pub username: &'a str,
        /// How long the temporary password works.
        pub minutes: u64,
    }
    templates {
        TemporaryPasswordEn = "messages/en/sms/temporary_password.txt",
        TemporaryPasswordEs = "messages/es/sms/temporary_password.txt",
    }
}

message_fields! {
    /// The notice that follows a password change, with a "this wasn't me" link.
    #[derive(Debug, Clone, Copy)]
    pub struct PasswordChangedSmsFields<'a> {
        pub city: &'a str,
        pub not_me_link: &'a str,
    }
    templates {
        PasswordChangedEn = "messages/en/sms/password_changed.txt",
        PasswordChangedEs = "messages/es/sms/password_changed.txt",
    }
}

fn body(template: impl Template) -> Result<String, askama::Error> {
    Ok(template.render()?.trim().to_string())
}

/// The text carrying a temporary password.
pub fn temporary_password_sms(
    lang: Lang,
    fields: &TemporaryPasswordFields<'_>,
) -> Result<String, askama::Error> {
    match lang {
        Lang::En => body(TemporaryPasswordEn::from(fields)),
        Lang::Es => body(TemporaryPasswordEs::from(fields)),
    }
}

/// The "your password was changed" text.
pub fn password_changed_sms(
    lang: Lang,
    fields: &PasswordChangedSmsFields<'_>,
) -> Result<String, askama::Error> {
    match lang {
        Lang::En => body(PasswordChangedEn::from(fields)),
        Lang::Es => body(PasswordChangedEs::from(fields)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{SmsEncoding, sms_segments};
    use super::*;

    /// Realistic long values: a 12-character temporary password (longer than today's 9), a
    /// 10-character username, a day's lifetime and a full "not me" link with a 64-hex token.
    const CITY: &str = "Westminster";
    const TEMP: &str = "Hq7k-3Wmx-Ab";
    const USERNAME: &str = "C-12345678";
    const NOT_ME: &str = "https://helpline.westminster.example.gov/not-me/\
        0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn temporary(lang: Lang) -> String {
        temporary_password_sms(
            lang,
            &TemporaryPasswordFields {
                city: CITY,
                temporary_password: TEMP,
                username: USERNAME,
                minutes: 1440,
            },
        )
        .unwrap()
    }

    fn changed(lang: Lang) -> String {
        password_changed_sms(
            lang,
            &PasswordChangedSmsFields {
                city: CITY,
                not_me_link: NOT_ME,
            },
        )
        .unwrap()
    }

    #[test]
    fn every_text_fits_two_gsm_segments_in_every_language() {
        assert!(NOT_ME.len() > 100);
        for lang in Lang::ALL {
            for body in [temporary(lang), changed(lang)] {
                let (encoding, segments) = sms_segments(&body);
                assert_eq!(encoding, SmsEncoding::Gsm7, "{}: {body}", lang.code());
                assert!(
                    segments <= 2,
                    "{} segments in {}: {body}",
                    segments,
                    lang.code()
                );
            }
        }
    }

    #[test]
    fn temporary_password_says_what_the_contractor_needs() {
        let en = temporary(Lang::En);
        assert!(en.starts_with("Westminster: "), "{en}");
        assert!(en.contains(&format!("password is {TEMP} ")), "{en}");
        assert!(en.contains(&format!("(username {USERNAME})")), "{en}");
        assert!(en.contains("works once, for 1440 minutes"), "{en}");
        assert!(
            en.contains("replaces any earlier temporary password"),
            "{en}"
        );
        assert!(
            en.contains("choose a new password when you sign in"),
            "{en}"
        );

        let es = temporary(Lang::Es);
        assert!(es.starts_with("Westminster: "), "{es}");
        assert!(
            es.contains(&format!("temporal del portal de contratistas es {TEMP} ")),
            "{es}"
        );
        assert!(es.contains(&format!("(usuario {USERNAME})")), "{es}");
        assert!(es.contains("una sola vez, durante 1440 minutos"), "{es}");
        assert!(
            es.contains("anula cualquier contraseña temporal anterior"),
            "{es}"
        );
        assert!(es.contains("debe elegir una contraseña nueva"), "{es}");
    }

    #[test]
    fn password_changed_ends_with_the_not_me_link() {
        let en = changed(Lang::En);
        assert!(en.starts_with("Westminster: the password"), "{en}");
        assert!(en.ends_with(&format!("Not you? {NOT_ME}")), "{en}");
        let es = changed(Lang::Es);
        assert!(es.starts_with("Westminster: la contraseña"), "{es}");
        assert!(es.ends_with(&format!("¿No fue usted? {NOT_ME}")), "{es}");
    }

    #[test]
    fn text_templates_do_not_html_escape() {
        let body = temporary_password_sms(
            Lang::En,
            &TemporaryPasswordFields {
                city: "Roof & <Co>",
                temporary_password: "Ab&<>'\"9",
                username: "O'Neil",
                minutes: 10,
            },
        )
        .unwrap();
        assert!(body.starts_with("Roof & <Co>: "), "{body}");
        assert!(body.contains("is Ab&<>'\"9 (username O'Neil)"), "{body}");
    }
}
