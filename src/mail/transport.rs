//! Delivery of a built message: lettre's pooled async SMTP transport, or its file transport
//! for a folder of `.eml` files. Behind a trait so the outbox worker does not care which.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// Why a delivery failed, as the outbox needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth trying again later (connection refused, timeouts, 4xx answers, 429).
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will never succeed as it is (5xx answers, a bad address).
    #[error("permanent failure: {0}")]
    Permanent(String),
}

pub type DeliveryFuture<'a> = Pin<Box<dyn Future<Output = Result<(), DeliveryError>> + Send + 'a>>;

/// Something that delivers an email.
pub trait EmailTransport: Send + Sync + std::fmt::Debug {
    fn send(&self, message: Message) -> DeliveryFuture<'_>;
}

/// SMTP with a connection pool.
#[derive(Clone)]
pub struct SmtpTransport(AsyncSmtpTransport<Tokio1Executor>);

impl std::fmt::Debug for SmtpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SmtpTransport")
    }
}

impl SmtpTransport {
    /// Builds the pooled transport from a lettre URL (`smtp://host:port`, `smtps://…`,
    /// `smtp://…?tls=required`).
    pub fn from_url(url: &str, pool_size: u32) -> Result<Self, lettre::transport::smtp::Error> {
        Ok(Self::pooled(
            AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?,
            pool_size,
        ))
    }

    /// Like [`from_url`], also trusting the CA certificate(s) in `ca_pem` for the server's
    /// certificate (`mail.tls_ca_file`: a relay with a certificate from an internal CA). The
    /// URL must ask for TLS.
    ///
    /// [`from_url`]: SmtpTransport::from_url
    pub fn from_url_trusting(url: &str, pool_size: u32, ca_pem: &[u8]) -> Result<Self, String> {
        let (host, mode) = tls_mode(url).ok_or_else(|| {
            "mail.tls_ca_file needs an SMTP URL with TLS (smtps://… or smtp://…?tls=required)"
                .to_string()
        })?;
        let ca = Certificate::from_pem(ca_pem).map_err(|e| format!("mail.tls_ca_file: {e}"))?;
        let params = TlsParameters::builder(host)
            .add_root_certificate(ca)
            .build()
            .map_err(|e| format!("mail.tls_ca_file: {e}"))?;
        let tls = match mode {
            TlsMode::Wrapper => Tls::Wrapper(params),
            TlsMode::Required => Tls::Required(params),
            TlsMode::Opportunistic => Tls::Opportunistic(params),
        };
        let builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| e.to_string())?
            .tls(tls);
        Ok(Self::pooled(builder, pool_size))
    }

    fn pooled(builder: lettre::transport::smtp::AsyncSmtpTransportBuilder, pool_size: u32) -> Self {
        let transport = builder
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(
                PoolConfig::new()
                    .max_size(pool_size)
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build();
        Self(transport)
    }
}

/// How a lettre SMTP URL asks for TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TlsMode {
    /// `smtps://`: TLS from the first byte.
    Wrapper,
    /// `smtp://…?tls=required`: STARTTLS or fail.
    Required,
    /// `smtp://…?tls=opportunistic`: STARTTLS when offered.
    Opportunistic,
}

/// The host and the TLS mode of a lettre SMTP URL, read as lettre reads it; `None` when the
/// URL asks for no TLS (or does not parse).
pub(crate) fn tls_mode(url: &str) -> Option<(String, TlsMode)> {
    let parsed = url::Url::parse(url).ok()?;
    let host = parsed.host_str()?.to_string();
    let tls = parsed
        .query_pairs()
        .find(|(k, _)| k == "tls")
        .map(|(_, v)| v.into_owned());
    let mode = match (parsed.scheme(), tls.as_deref()) {
        ("smtps", _) => TlsMode::Wrapper,
        ("smtp", Some("required")) => TlsMode::Required,
        ("smtp", Some("opportunistic")) => TlsMode::Opportunistic,
        _ => return None,
    };
    Some((host, mode))
}

impl EmailTransport for SmtpTransport {
    fn send(&self, message: Message) -> DeliveryFuture<'_> {
        Box::pin(async move {
            self.0.send(message).await.map(|_| ()).map_err(|e| {
                if e.is_permanent() {
                    DeliveryError::Permanent(e.to_string())
                } else {
                    DeliveryError::Transient(e.to_string())
                }
            })
        })
    }
}

/// Writes each message to `DIR/<uuid>.eml`: for `demo` and development, no server needed.
#[derive(Debug, Clone)]
pub struct FolderTransport(AsyncFileTransport<Tokio1Executor>);

impl FolderTransport {
    pub fn new(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self(AsyncFileTransport::new(dir)))
    }
}

impl EmailTransport for FolderTransport {
    fn send(&self, message: Message) -> DeliveryFuture<'_> {
        Box::pin(async move {
            self.0
                .send(message)
                .await
                .map(|_| ())
                .map_err(|e| DeliveryError::Transient(e.to_string()))
        })
    }
}
