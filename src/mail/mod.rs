//! Email out: composing messages from askama templates (a text and an HTML body each) and
//! delivering them over SMTP with lettre, or into a folder of `.eml` files for `demo`.

pub mod compose;
pub mod transport;

pub use compose::{ComposedEmail, PasswordChanged, ResetLink};
pub use transport::{DeliveryError, EmailTransport, FolderTransport, SmtpTransport};

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
