//! Every message Helpline sends a contractor, in each supported [`Lang`], from askama templates
//! under `templates/messages/{en,es}/`: emails (`email/NAME.subject.txt`, `NAME.txt`,
//! `NAME.html`) and text messages (`sms/NAME.txt`).
//!
//! Callers pass the language and typed fields and get back text ready for the outbox; the
//! wording lives only in the templates. `.txt` templates are not escaped (askama escapes by
//! extension), `.html` ones are. Text messages are kept to two segments, checked by
//! [`sms_segments`] in the tests. Nothing here does I/O.

pub use crate::domain::language::Lang;

/// Declares a message's fields once, and one askama template struct per template file holding
/// a copy of them (so templates say `{{ city }}`, not `{{ fields.city }}`).
macro_rules! message_fields {
    (
        $(#[$meta:meta])*
        pub struct $fields:ident<$lt:lifetime> $body:tt
        templates { $( $tmpl:ident = $path:tt ),+ $(,)? }
    ) => {
        message_fields!(@fields [$(#[$meta])*] $fields $lt $body);
        $( message_fields!(@template $tmpl $path $fields $lt $body); )+
    };
    (@fields [$($meta:tt)*] $fields:ident $lt:lifetime
        { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)? }) => {
        $($meta)*
        pub struct $fields<$lt> { $( $(#[$fmeta])* pub $field: $ty ),* }
    };
    (@template $tmpl:ident $path:tt $fields:ident $lt:lifetime
        { $( $(#[$fmeta:meta])* pub $field:ident : $ty:ty ),* $(,)? }) => {
        // A template reads only the fields it words (a subject, say, just the city).
        #[allow(dead_code)]
        #[derive(askama::Template)]
        #[template(path = $path)]
        struct $tmpl<$lt> { $( $field: $ty ),* }

        impl<$lt> From<&$fields<$lt>> for $tmpl<$lt> {
            fn from(f: &$fields<$lt>) -> Self {
                Self { $( $field: f.$field ),* }
            }
        }
    };
}

/// Writes the function that renders one email in the contractor's language from its six
/// templates (subject, text and HTML, English and Spanish; see `email::compose`).
macro_rules! email_fn {
    (
        $(#[$meta:meta])*
        pub fn $name:ident($fields:ident) = $template:ident:
            en($subject_en:ident, $text_en:ident, $html_en:ident),
            es($subject_es:ident, $text_es:ident, $html_es:ident)
    ) => {
        $(#[$meta])*
        pub fn $name(
            lang: Lang,
            fields: &$fields<'_>,
        ) -> Result<ComposedEmail, askama::Error> {
            match lang {
                Lang::En => compose::<_, $subject_en, $text_en, $html_en>($template, fields),
                Lang::Es => compose::<_, $subject_es, $text_es, $html_es>($template, fields),
            }
        }
    };
}

mod catalogue;
mod email;
mod email_notices;
mod email_threads;
mod segments;
mod sms;
mod staff_alerts;
mod staff_notices;

pub use catalogue::{Catalog, ERROR_CODES};
pub use email::{
    ACCOUNT_SETUP, AccountSetupFields, EMAIL_RECEIVED, EmailReceivedFields, HowChanged,
    PASSWORD_CHANGED, PasswordChangedFields, RESET_LINK, RESET_REQUEST_RECEIVED, ResetLinkFields,
    ResetRequestReceivedFields, SMS_UNDELIVERED, SmsUndeliveredFields, account_setup_email,
    email_received_email, password_changed_email, reset_link_email, reset_request_received_email,
    sms_undelivered_email,
};
pub use email_notices::{
    TEMPORARY_PASSWORD_SENT, TemporaryPasswordSentFields, temporary_password_sent_email,
};
pub use email_threads::{
    NOT_ME_RECEIVED, NotMeReceivedFields, STAFF_REPLY, StaffReplyFields, not_me_received_email,
    staff_reply_email,
};
pub use segments::{SmsEncoding, gsm7_fold, sms_segments};
pub use sms::{
    PasswordChangedSmsFields, TemporaryPasswordFields, password_changed_sms, temporary_password_sms,
};
pub use staff_alerts::{
    QUEUE_DIGEST, QueueDigestFields, URGENT_TICKET, UrgentTicketFields, queue_digest_email,
    urgent_ticket_email,
};
pub use staff_notices::{
    CONTACT_CHANGED, ContactChangedFields, REGISTRATION_REJECTED, RegistrationRejectedFields,
    TEMPORARY_PASSWORD_EMAIL, TemporaryPasswordEmailFields, contact_changed_email,
    contact_changed_sms, registration_rejected_email, temporary_password_email,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::{Path, PathBuf};

    fn files_under(root: &Path) -> BTreeSet<PathBuf> {
        fn walk(root: &Path, dir: &Path, out: &mut BTreeSet<PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    walk(root, &path, out);
                } else {
                    out.insert(path.strip_prefix(root).unwrap().to_path_buf());
                }
            }
        }
        let mut out = BTreeSet::new();
        walk(root, root, &mut out);
        out
    }

    #[test]
    fn every_template_exists_in_every_language() {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/messages");
        let en = files_under(&base.join("en"));
        assert!(en.len() >= 11, "{en:?}");
        for lang in Lang::ALL {
            let other = files_under(&base.join(lang.code()));
            assert_eq!(
                en.symmetric_difference(&other).collect::<Vec<_>>(),
                Vec::<&PathBuf>::new(),
                "templates in one of en and {} only",
                lang.code()
            );
        }
    }

    /// Every message, rendered with the same fields: (what, rendered text) pairs.
    fn everything(lang: Lang) -> Vec<(String, String)> {
        let mut out = Vec::new();
        let mut email = |what: &str, m: crate::mail::ComposedEmail| {
            out.push((format!("{what} subject"), m.subject));
            out.push((format!("{what} text"), m.text));
            out.push((format!("{what} html"), m.html));
        };
        let reset = ResetLinkFields {
            name: "Pat Alvarez",
            city: "Westminster",
            username: "C-1001",
            link: "https://help.example.gov/reset/abc",
            minutes: 60,
        };
        email("reset_link", reset_link_email(lang, &reset).unwrap());
        let setup = AccountSetupFields {
            name: "Pat Alvarez",
            city: "Westminster",
            username: "C-1001",
            link: "https://help.example.gov/setup/abc",
            minutes: 60,
        };
        email("account_setup", account_setup_email(lang, &setup).unwrap());
        for how in HowChanged::ALL {
            let changed = PasswordChangedFields {
                name: "Pat Alvarez",
                city: "Westminster",
                username: "C-1001",
                how,
                not_me_link: "https://help.example.gov/not-me/abc",
            };
            email(
                &format!("password_changed {how:?}"),
                password_changed_email(lang, &changed).unwrap(),
            );
        }
        let undelivered = SmsUndeliveredFields {
            name: "Pat Alvarez",
            city: "Westminster",
            username: "C-1001",
            phone_ending: "2075",
            forgot_link: "https://help.example.gov/forgot",
            staff_phone: Some("(303) 555-0199"),
            office_hours: Some("8–5"),
        };
        email(
            "sms_undelivered",
            sms_undelivered_email(lang, &undelivered).unwrap(),
        );
        let temp = TemporaryPasswordFields {
            city: "Westminster",
            temporary_password: "Hq7k-3Wmx",
            username: "C-1001",
            minutes: 10,
        };
        out.push((
            "temporary_password sms".into(),
            temporary_password_sms(lang, &temp).unwrap(),
        ));
        let changed = PasswordChangedSmsFields {
            city: "Westminster",
            not_me_link: "https://help.example.gov/not-me/abc",
        };
        out.push((
            "password_changed sms".into(),
            password_changed_sms(lang, &changed).unwrap(),
        ));
        out
    }

    #[test]
    fn every_message_is_translated() {
        let en = everything(Lang::En);
        let es = everything(Lang::Es);
        assert_eq!(en.len(), es.len());
        assert_eq!(en.len(), 3 * 6 + 2);
        for ((what, en), (_, es)) in en.iter().zip(&es) {
            assert!(!en.trim().is_empty(), "{what} is empty in English");
            assert!(!es.trim().is_empty(), "{what} is empty in Spanish");
            assert_ne!(en, es, "{what} is the same in English and Spanish");
        }
    }

    #[test]
    fn no_message_leaves_a_template_tag_or_a_trailing_newline_in_a_subject() {
        for lang in Lang::ALL {
            for (what, text) in everything(lang) {
                assert!(
                    !text.contains("{{") && !text.contains("{%"),
                    "{what}: {text}"
                );
                if what.ends_with("subject") || what.ends_with("sms") {
                    assert!(!text.contains('\n'), "{what}: {text:?}");
                    assert_eq!(text.trim(), text, "{what}");
                }
            }
        }
    }
}
