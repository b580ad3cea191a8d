//! An email as it goes out: From, Reply-To (the help address), the stored Message-ID,
//! In-Reply-To/References when it answers one, `Auto-Submitted`, and text and HTML parts.

use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

use super::Worker;
use crate::store::outbox::QueuedMessage;

impl Worker {
    pub(super) fn build_email(&self, msg: &QueuedMessage) -> Result<Message, String> {
        let to: Mailbox = msg
            .recipient
            .parse()
            .map_err(|_| "the recipient is not an email address".to_string())?;
        let text = msg.body_text.clone().unwrap_or_default();
        let builder = Message::builder()
            .from(self.from.clone())
            .reply_to(self.reply_to.clone().unwrap_or_else(|| self.from.clone()))
            .to(to)
            .subject(msg.subject.clone())
            .message_id(Some(msg.message_id.clone()))
            .date(crate::clock::system_time(self.clock.now_ms()));
        // Every message Helpline sends is automatic (RFC 3834): well-behaved auto-responders
        // do not answer it, and Helpline's own inbound side never answers one (no loops).
        let builder = match &msg.in_reply_to {
            Some(id) => builder
                .in_reply_to(id.clone())
                .references(id.clone())
                .header(AutoSubmitted("auto-replied")),
            None => builder.header(AutoSubmitted("auto-generated")),
        };
        let built = match &msg.body_html {
            Some(html) => builder.multipart(MultiPart::alternative_plain_html(text, html.clone())),
            None => builder.body(text),
        };
        built.map_err(|e| format!("cannot build the message: {e}"))
    }
}

/// The `Auto-Submitted` header (RFC 3834) of every email Helpline sends.
#[derive(Debug, Clone, Copy)]
struct AutoSubmitted(&'static str);

impl lettre::message::header::Header for AutoSubmitted {
    fn name() -> lettre::message::header::HeaderName {
        lettre::message::header::HeaderName::new_from_ascii_str("Auto-Submitted")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        match s.trim() {
            "auto-replied" => Ok(AutoSubmitted("auto-replied")),
            "auto-generated" => Ok(AutoSubmitted("auto-generated")),
            other => Err(format!("not a value Helpline sends: {other}").into()),
        }
    }

    fn display(&self) -> lettre::message::header::HeaderValue {
        lettre::message::header::HeaderValue::new(Self::name(), self.0.to_string())
    }
}
