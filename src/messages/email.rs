//! Emails: a subject, a plain-text body and an HTML body per message and language, so every
//! mail client shows something readable. Names and links are escaped in the HTML only.

use askama::Template;

use super::Lang;
use crate::mail::ComposedEmail;

/// `template` name of the reset-link email (kept in the outbox row).
pub const RESET_LINK: &str = "reset_link";
/// `template` name of the "your password was changed" notice.
pub const PASSWORD_CHANGED: &str = "password_changed";
/// `template` name of the account set-up email.
pub const ACCOUNT_SETUP: &str = "account_setup";
/// `template` name of the notice that a texted temporary password did not arrive.
pub const SMS_UNDELIVERED: &str = "sms_undelivered";
/// `template` name of the answer to an emailed reset request that sent no link itself.
pub const RESET_REQUEST_RECEIVED: &str = "reset_request_received";
/// `template` name of the acknowledgment of an email to the help line.
pub const EMAIL_RECEIVED: &str = "email_received";

/// How a password came to be changed, worded per language by `email/how_changed.txt`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HowChanged {
    /// The forced change after signing in with a temporary password.
    FirstSignIn,
    /// Through a single-use reset link.
    ResetLink,
    /// When the account was set up ("Setup an Account").
    AccountSetup,
}

impl HowChanged {
    pub const ALL: [HowChanged; 3] = [
        HowChanged::FirstSignIn,
        HowChanged::ResetLink,
        HowChanged::AccountSetup,
    ];

    /// A stable code for logs and audit details.
    pub fn code(self) -> &'static str {
        match self {
            HowChanged::FirstSignIn => "first_sign_in",
            HowChanged::ResetLink => "reset_link",
            HowChanged::AccountSetup => "account_setup",
        }
    }
}

message_fields! {
    /// A single-use link to choose a new password, sent to the email on record.
    #[derive(Debug, Clone, Copy)]
    pub struct ResetLinkFields<'a> {
        /// The contact name on the roster.
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        pub link: &'a str,
        /// How long the link works.
        pub minutes: u64,
    }
    templates {
        ResetLinkSubjectEn = "messages/en/email/reset_link.subject.txt",
        ResetLinkTextEn = "messages/en/email/reset_link.txt",
        ResetLinkHtmlEn = "messages/en/email/reset_link.html",
        ResetLinkSubjectEs = "messages/es/email/reset_link.subject.txt",
        ResetLinkTextEs = "messages/es/email/reset_link.txt",
        ResetLinkHtmlEs = "messages/es/email/reset_link.html",
    }
}

message_fields! {
    /// The notice that follows a password change, with a "this wasn't me" link.
    #[derive(Debug, Clone, Copy)]
    pub struct PasswordChangedFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        pub how: HowChanged,
        pub not_me_link: &'a str,
    }
    templates {
        PasswordChangedSubjectEn = "messages/en/email/password_changed.subject.txt",
        PasswordChangedTextEn = "messages/en/email/password_changed.txt",
        PasswordChangedHtmlEn = "messages/en/email/password_changed.html",
        PasswordChangedSubjectEs = "messages/es/email/password_changed.subject.txt",
        PasswordChangedTextEs = "messages/es/email/password_changed.txt",
        PasswordChangedHtmlEs = "messages/es/email/password_changed.html",
    }
}

message_fields! {
    /// A single-use link to choose the first password of an account being set up.
    #[derive(Debug, Clone, Copy)]
    pub struct AccountSetupFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        pub link: &'a str,
        /// How long the link works.
        pub minutes: u64,
    }
    templates {
        AccountSetupSubjectEn = "messages/en/email/account_setup.subject.txt",
        AccountSetupTextEn = "messages/en/email/account_setup.txt",
        AccountSetupHtmlEn = "messages/en/email/account_setup.html",
        AccountSetupSubjectEs = "messages/es/email/account_setup.subject.txt",
        AccountSetupTextEs = "messages/es/email/account_setup.txt",
        AccountSetupHtmlEs = "messages/es/email/account_setup.html",
    }
}

message_fields! {
    /// A texted temporary password did not arrive: where to turn instead. Never the secret.
    #[derive(Debug, Clone, Copy)]
    pub struct SmsUndeliveredFields<'a> {
        pub name: &'a str,
        pub city: &'a str,
        pub username: &'a str,
        /// The last four digits of the phone the text went to.
        pub phone_ending: &'a str,
        /// The portal's "Forgot password" page.
        pub forgot_link: &'a str,
        /// The staff line as people write it, when configured.
        pub staff_phone: Option<&'a str>,
        /// When staff answer, when configured.
        pub office_hours: Option<&'a str>,
    }
    templates {
        SmsUndeliveredSubjectEn = "messages/en/email/sms_undelivered.subject.txt",
        SmsUndeliveredTextEn = "messages/en/email/sms_undelivered.txt",
        SmsUndeliveredHtmlEn = "messages/en/email/sms_undelivered.html",
        SmsUndeliveredSubjectEs = "messages/es/email/sms_undelivered.subject.txt",
        SmsUndeliveredTextEs = "messages/es/email/sms_undelivered.txt",
        SmsUndeliveredHtmlEs = "messages/es/email/sms_undelivered.html",
    }
}

message_fields! {
    /// The answer to "RESET n" by email when no link went with it (a sender not on record, an
    /// unknown number, a link sent too recently): the same words whatever the reason.
    #[derive(Debug, Clone, Copy)]
    pub struct ResetRequestReceivedFields<'a> {
        pub city: &'a str,
        /// How long a reset link works.
        pub minutes: u64,
        /// The portal's "Forgot password" page.
        pub forgot_link: &'a str,
    }
    templates {
        ResetRequestReceivedSubjectEn = "messages/en/email/reset_request_received.subject.txt",
        ResetRequestReceivedTextEn = "messages/en/email/reset_request_received.txt",
        ResetRequestReceivedHtmlEn = "messages/en/email/reset_request_received.html",
        ResetRequestReceivedSubjectEs = "messages/es/email/reset_request_received.subject.txt",
        ResetRequestReceivedTextEs = "messages/es/email/reset_request_received.txt",
        ResetRequestReceivedHtmlEs = "messages/es/email/reset_request_received.html",
    }
}

message_fields! {
    /// The acknowledgment of an email to the help line that staff will answer.
    #[derive(Debug, Clone, Copy)]
    pub struct EmailReceivedFields<'a> {
        pub city: &'a str,
        /// The portal's "Forgot password" page.
        pub forgot_link: &'a str,
        /// When staff answer, when configured.
        pub office_hours: Option<&'a str>,
    }
    templates {
        EmailReceivedSubjectEn = "messages/en/email/email_received.subject.txt",
        EmailReceivedTextEn = "messages/en/email/email_received.txt",
        EmailReceivedHtmlEn = "messages/en/email/email_received.html",
        EmailReceivedSubjectEs = "messages/es/email/email_received.subject.txt",
        EmailReceivedTextEs = "messages/es/email/email_received.txt",
        EmailReceivedHtmlEs = "messages/es/email/email_received.html",
    }
}

/// Renders one email from its three templates. The subject is folded onto one line.
pub(super) fn compose<'f, F, S, T, H>(
    template: &'static str,
    fields: &'f F,
) -> Result<ComposedEmail, askama::Error>
where
    S: Template + From<&'f F>,
    T: Template + From<&'f F>,
    H: Template + From<&'f F>,
{
    let subject = S::from(fields).render()?;
    Ok(ComposedEmail {
        template,
        subject: subject.split_whitespace().collect::<Vec<_>>().join(" "),
        text: T::from(fields).render()?,
        html: H::from(fields).render()?,
        in_reply_to: None,
    })
}

email_fn! {
    /// The reset-link email.
    pub fn reset_link_email(ResetLinkFields) = RESET_LINK:
        en(ResetLinkSubjectEn, ResetLinkTextEn, ResetLinkHtmlEn),
        es(ResetLinkSubjectEs, ResetLinkTextEs, ResetLinkHtmlEs)
}

email_fn! {
    /// The "your password was changed" email.
    pub fn password_changed_email(PasswordChangedFields) = PASSWORD_CHANGED:
        en(PasswordChangedSubjectEn, PasswordChangedTextEn, PasswordChangedHtmlEn),
        es(PasswordChangedSubjectEs, PasswordChangedTextEs, PasswordChangedHtmlEs)
}

email_fn! {
    /// The account set-up email.
    pub fn account_setup_email(AccountSetupFields) = ACCOUNT_SETUP:
        en(AccountSetupSubjectEn, AccountSetupTextEn, AccountSetupHtmlEn),
        es(AccountSetupSubjectEs, AccountSetupTextEs, AccountSetupHtmlEs)
}

email_fn! {
    /// The email that says a texted temporary password did not arrive.
    pub fn sms_undelivered_email(SmsUndeliveredFields) = SMS_UNDELIVERED:
        en(SmsUndeliveredSubjectEn, SmsUndeliveredTextEn, SmsUndeliveredHtmlEn),
        es(SmsUndeliveredSubjectEs, SmsUndeliveredTextEs, SmsUndeliveredHtmlEs)
}

email_fn! {
    /// The answer to an emailed reset request that sent no link itself.
    pub fn reset_request_received_email(ResetRequestReceivedFields) = RESET_REQUEST_RECEIVED:
        en(ResetRequestReceivedSubjectEn, ResetRequestReceivedTextEn, ResetRequestReceivedHtmlEn),
        es(ResetRequestReceivedSubjectEs, ResetRequestReceivedTextEs, ResetRequestReceivedHtmlEs)
}

email_fn! {
    /// The acknowledgment of an email to the help line.
    pub fn email_received_email(EmailReceivedFields) = EMAIL_RECEIVED:
        en(EmailReceivedSubjectEn, EmailReceivedTextEn, EmailReceivedHtmlEn),
        es(EmailReceivedSubjectEs, EmailReceivedTextEs, EmailReceivedHtmlEs)
}

#[cfg(test)]
mod tests;
