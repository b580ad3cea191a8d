//! Delivery of a built message: lettre's pooled async SMTP transport, or its file transport
//! for a folder of `.eml` files. Behind a trait so the outbox worker does not care which.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::time::Duration;

use lettre::transport::smtp::PoolConfig;
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
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)?
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(
                PoolConfig::new()
                    .max_size(pool_size)
                    .idle_timeout(Duration::from_secs(60)),
            )
            .build();
        Ok(Self(transport))
    }
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
