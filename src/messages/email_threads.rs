//! The emails of replies and threads (issue 11): the answer to a "this wasn't me" reply and a
//! staff member's reply from a ticket. Both in English and Spanish, text and HTML; whatever a
//! person typed (the staff member's words, a name) is escaped in the HTML by askama.

use super::Lang;
use super::email::compose;
use crate::mail::ComposedEmail;

/// `template` name of the answer to a "this wasn't me" reply.
pub const NOT_ME_RECEIVED: &str = "not_me_received";
/// `template` name of a staff member's reply from a ticket.
pub const STAFF_REPLY: &str = "staff_reply";

message_fields! {
    /// What was done after "this wasn't me" by email, and that staff will call. No secret.
    #[derive(Debug, Clone, Copy)]
    pub struct NotMeReceivedFields<'a> {
        /// The contact name on the roster.
        pub name: &'a str,
        pub city: &'a str,
        /// The staff line, when configured.
        pub staff_phone: Option<&'a str>,
    }
    templates {
        NotMeReceivedSubjectEn = "messages/en/email/not_me_received.subject.txt",
        NotMeReceivedTextEn = "messages/en/email/not_me_received.txt",
        NotMeReceivedHtmlEn = "messages/en/email/not_me_received.html",
        NotMeReceivedSubjectEs = "messages/es/email/not_me_received.subject.txt",
        NotMeReceivedTextEs = "messages/es/email/not_me_received.txt",
        NotMeReceivedHtmlEs = "messages/es/email/not_me_received.html",
    }
}

message_fields! {
    /// A staff member's words to a contractor, from a ticket.
    #[derive(Debug, Clone, Copy)]
    pub struct StaffReplyFields<'a> {
        pub city: &'a str,
        /// Who answers (shown as the signature).
        pub staff_name: &'a str,
        /// What they wrote, as written.
        pub text: &'a str,
    }
    templates {
        StaffReplySubjectEn = "messages/en/email/staff_reply.subject.txt",
        StaffReplyTextEn = "messages/en/email/staff_reply.txt",
        StaffReplyHtmlEn = "messages/en/email/staff_reply.html",
        StaffReplySubjectEs = "messages/es/email/staff_reply.subject.txt",
        StaffReplyTextEs = "messages/es/email/staff_reply.txt",
        StaffReplyHtmlEs = "messages/es/email/staff_reply.html",
    }
}

email_fn! {
    /// The answer to "this wasn't me" by email.
    pub fn not_me_received_email(NotMeReceivedFields) = NOT_ME_RECEIVED:
        en(NotMeReceivedSubjectEn, NotMeReceivedTextEn, NotMeReceivedHtmlEn),
        es(NotMeReceivedSubjectEs, NotMeReceivedTextEs, NotMeReceivedHtmlEs)
}

email_fn! {
    /// A staff member's reply from a ticket.
    pub fn staff_reply_email(StaffReplyFields) = STAFF_REPLY:
        en(StaffReplySubjectEn, StaffReplyTextEn, StaffReplyHtmlEn),
        es(StaffReplySubjectEs, StaffReplyTextEs, StaffReplyHtmlEs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_not_me_answer_says_what_was_done_in_both_languages() {
        for (lang, frozen, call) in [
            (Lang::En, "frozen the account", "will call you"),
            (Lang::Es, "congelado la cuenta", "le llamará"),
        ] {
            let m = not_me_received_email(
                lang,
                &NotMeReceivedFields {
                    name: "<Roof & Co>",
                    city: "Westminster",
                    staff_phone: Some("(303) 555-0199"),
                },
            )
            .unwrap();
            assert_eq!(m.template, "not_me_received");
            assert!(
                m.text.contains(frozen) && m.html.contains(frozen),
                "{}",
                m.text
            );
            assert!(m.text.contains(call), "{}", m.text);
            assert!(m.text.contains("(303) 555-0199"), "{}", m.text);
            assert!(!m.html.contains("<Roof"), "escaped: {}", m.html);
            assert!(!m.text.contains("http"), "no link, no secret: {}", m.text);
        }
    }

    #[test]
    fn a_staff_reply_keeps_the_words_and_escapes_them_in_html() {
        for lang in Lang::ALL {
            let m = staff_reply_email(
                lang,
                &StaffReplyFields {
                    city: "Westminster",
                    staff_name: "Dana <Staff>",
                    text: "Try again now.\n<script>alert(1)</script>",
                },
            )
            .unwrap();
            assert_eq!(m.template, "staff_reply");
            assert!(m.text.contains("Try again now.\n<script>"), "{}", m.text);
            assert!(m.text.contains("Dana <Staff>"), "{}", m.text);
            assert!(!m.html.contains("<script>"), "{}", m.html);
            assert!(!m.html.contains("Dana <Staff>"), "{}", m.html);
            assert!(!m.subject.contains('\n'));
        }
    }
}
