//! Outgoing and incoming email: the SMTP relay (or a folder of `.eml` files), the sender, the
//! relay's private CA, and the inbound webhooks' token and Mailgun signing key.

use std::path::PathBuf;

use lettre::message::Mailbox;
use secrecy::SecretString;
use serde::Deserialize;

use super::sources::Layers;
use super::{ConfigErrors, ConfigProblem, Settings};

/// This section's variables and the keys they set.
pub(super) const ENV: &[(&str, &str)] = &[
    ("HELPLINE_SMTP_URL", "mail.smtp_url"),
    ("HELPLINE_SMTP_TLS_CA_FILE", "mail.tls_ca_file"),
    ("HELPLINE_MAIL_FROM", "mail.from"),
    ("HELPLINE_MAIL_REPLY_TO", "mail.reply_to"),
    ("HELPLINE_INBOUND_TOKEN", "mail.inbound_token"),
    ("HELPLINE_MAILGUN_SIGNING_KEY", "mail.mailgun_signing_key"),
];

/// Outgoing and incoming email.
#[derive(Debug, Clone)]
pub struct MailSettings {
    /// lettre SMTP URL; `None` when mail goes to `dir` instead.
    pub smtp_url: Option<SecretString>,
    /// A folder where each message is written as an `.eml` file (development, `demo`).
    pub dir: Option<PathBuf>,
    pub from: Mailbox,
    /// Where replies go (`Reply-To` on every email sent): the help address; the From address
    /// when not set.
    pub reply_to: Mailbox,
    pub inbound_token: Option<SecretString>,
    /// Mailgun's HTTP webhook signing key: `POST /email/inbound/mailgun` is off without it.
    pub mailgun_signing_key: Option<SecretString>,
    /// Largest number of pooled SMTP connections.
    pub pool_size: u32,
    /// PEM certificate(s) of a private CA to trust, besides the public roots, for the SMTP
    /// server's certificate: a city relay whose certificate comes from an internal CA.
    pub tls_ca_file: Option<PathBuf>,
}

/// `[mail]` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMail {
    smtp_url: Option<String>,
    dir: Option<PathBuf>,
    from: Option<String>,
    reply_to: Option<String>,
    inbound_token: Option<String>,
    mailgun_signing_key: Option<String>,
    pool_size: Option<u32>,
    tls_ca_file: Option<String>,
}

pub(super) fn read(c: &mut Layers<'_>, raw: RawMail) -> Option<MailSettings> {
    let smtp_url = c.pick("mail.smtp_url", raw.smtp_url);
    if let Some(url) = &smtp_url
        && let Err(e) = crate::mail::check_smtp_url(url)
    {
        c.problem("mail.smtp_url", e);
    }
    let from_text = c
        .pick("mail.from", raw.from)
        .unwrap_or_else(|| "Helpline <helpline@localhost>".into());
    let from = from_text
        .parse::<Mailbox>()
        .map_err(|e| {
            c.problem(
                "mail.from",
                format!("'{from_text}' is not an email address ({e})"),
            )
        })
        .ok();
    let reply_to = c.pick("mail.reply_to", raw.reply_to).and_then(|text| {
        text.parse::<Mailbox>()
            .map_err(|e| {
                c.problem(
                    "mail.reply_to",
                    format!("'{text}' is not an email address ({e})"),
                )
            })
            .ok()
    });
    let pool_size = raw.pool_size.unwrap_or(4);
    if pool_size == 0 {
        c.problem("mail.pool_size", "must be at least 1");
    }
    let tls_ca_file = c
        .pick("mail.tls_ca_file", raw.tls_ca_file)
        .map(PathBuf::from);
    if let Some(path) = &tls_ca_file {
        check_ca_file(c, path, smtp_url.as_deref());
    }
    let inbound_token = c
        .pick("mail.inbound_token", raw.inbound_token)
        .map(SecretString::from);
    let mailgun_signing_key = c
        .pick("mail.mailgun_signing_key", raw.mailgun_signing_key)
        .map(SecretString::from);
    Some(MailSettings {
        smtp_url: smtp_url.map(SecretString::from),
        dir: raw.dir,
        reply_to: reply_to.or_else(|| from.clone())?,
        from: from?,
        inbound_token,
        mailgun_signing_key,
        pool_size,
        tls_ca_file,
    })
}

/// The CA file must hold a PEM certificate, and is only of use when the relay speaks TLS.
fn check_ca_file(c: &mut Layers<'_>, path: &std::path::Path, smtp_url: Option<&str>) {
    match std::fs::read(path) {
        Err(e) => c.problem(
            "mail.tls_ca_file",
            format!("cannot read {}: {e}", path.display()),
        ),
        Ok(pem) if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") => c.problem(
            "mail.tls_ca_file",
            format!("{} holds no PEM certificate", path.display()),
        ),
        Ok(_) => {}
    }
    if let Some(url) = smtp_url
        && !crate::mail::uses_tls(url)
    {
        c.problem(
            "mail.tls_ca_file",
            "is set but mail.smtp_url uses no TLS: use smtps://… or smtp://…?tls=required",
        );
    }
}

impl Settings {
    /// A problem with where mail goes, checked by `serve` (tests and `demo` set their own).
    pub fn require_mail_route(&self) -> Result<(), ConfigErrors> {
        if self.mail.smtp_url.is_none() && self.mail.dir.is_none() {
            return Err(ConfigErrors(vec![ConfigProblem {
                key: "mail.smtp_url".into(),
                message: "set an SMTP server (e.g. smtp://127.0.0.1:25) or mail.dir, a folder \
                          where messages are written as .eml files"
                    .into(),
            }]));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{load_env, load_toml};

    #[test]
    fn the_sender_and_pool_are_checked() {
        let errs = load_toml(
            "[mail]\nfrom = \"not an address\"\npool_size = 0\n",
            &[("HELPLINE_SMTP_URL", "gopher://mail")],
        )
        .unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(
            keys,
            ["mail.smtp_url", "mail.from", "mail.pool_size"],
            "{errs}"
        );
    }

    #[test]
    fn a_ca_file_needs_a_certificate_and_a_tls_url() {
        let dir = tempfile::tempdir().unwrap();
        let pem = dir.path().join("ca.pem");
        std::fs::write(&pem, "hello\n").unwrap();
        let errs = load_env(&[
            ("HELPLINE_SMTP_URL", "smtp://relay.example:25"),
            ("HELPLINE_SMTP_TLS_CA_FILE", pem.to_str().unwrap()),
        ])
        .unwrap_err();
        assert_eq!(errs.0.len(), 2, "{errs}");
        assert!(
            errs.to_string().contains("holds no PEM certificate"),
            "{errs}"
        );
        assert!(errs.to_string().contains("uses no TLS"), "{errs}");

        std::fs::write(&pem, "-----BEGIN CERTIFICATE-----\nx\n").unwrap();
        let s = load_env(&[
            ("HELPLINE_SMTP_URL", "smtps://relay.example"),
            ("HELPLINE_SMTP_TLS_CA_FILE", pem.to_str().unwrap()),
        ])
        .unwrap();
        assert_eq!(s.mail.tls_ca_file.as_deref(), Some(pem.as_path()));
    }

    #[test]
    fn replies_go_to_the_help_address_or_the_sender() {
        let s = load_env(&[("HELPLINE_MAIL_FROM", "Helpline <noreply@city.example>")]).unwrap();
        assert_eq!(s.mail.reply_to.email.to_string(), "noreply@city.example");
        let s = load_env(&[
            ("HELPLINE_MAIL_FROM", "Helpline <noreply@city.example>"),
            (
                "HELPLINE_MAIL_REPLY_TO",
                "Building help <help@city.example>",
            ),
        ])
        .unwrap();
        assert_eq!(s.mail.reply_to.email.to_string(), "help@city.example");
        let errs = load_toml("[mail]\nreply_to = \"help at city\"\n", &[]).unwrap_err();
        assert!(
            errs.to_string()
                .contains("mail.reply_to (HELPLINE_MAIL_REPLY_TO)"),
            "{errs}"
        );
    }

    #[test]
    fn serve_needs_a_relay_or_a_folder() {
        let s = load_env(&[]).unwrap();
        let errs = s.require_mail_route().unwrap_err();
        assert!(
            errs.to_string()
                .starts_with("configuration problem: mail.smtp_url (HELPLINE_SMTP_URL): set an"),
            "{errs}"
        );
        let s = load_toml("[mail]\ndir = \"mail\"\n", &[]).unwrap();
        assert!(s.require_mail_route().is_ok());
    }
}
