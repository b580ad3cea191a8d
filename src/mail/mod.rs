//! Email out: delivering composed messages over SMTP with lettre, or into a folder of `.eml`
//! files for `demo`. The wording comes from [`crate::messages`].

pub mod transport;

pub use transport::{DeliveryError, EmailTransport, FolderTransport, SmtpTransport};

/// A rendered email, ready for the outbox: what [`crate::messages`] produces.
#[derive(Debug, Clone)]
pub struct ComposedEmail {
    /// Which message this is (`reset_link`, `password_changed`, `account_setup`).
    pub template: &'static str,
    pub subject: String,
    pub text: String,
    pub html: String,
    /// The Message-ID (`<…>`, checked by `domain::email_in::MessageId`) of the email this one
    /// answers: it is sent with In-Reply-To, References and `Auto-Submitted: auto-replied`.
    pub in_reply_to: Option<String>,
}

/// Checks that a lettre SMTP URL parses, without echoing it (it may hold a password).
pub fn check_smtp_url(url: &str) -> Result<(), String> {
    lettre::AsyncSmtpTransport::<lettre::Tokio1Executor>::from_url(url)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "is not a usable SMTP URL such as smtp://host:25 or smtps://user:pass@host ({e})"
            )
        })
}

/// Whether a lettre SMTP URL asks for TLS (`smtps://`, or `smtp://` with `tls=required` or
/// `tls=opportunistic`).
pub fn uses_tls(url: &str) -> bool {
    transport::tls_mode(url).is_some()
}
