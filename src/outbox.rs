//! The outbox worker: delivers queued messages, at least once, in order of due time.
//!
//! Each message is claimed under a lease; a worker that crashes mid-delivery simply lets the
//! lease run out and the next worker (or instance) takes the message again. Transient failures
//! are retried with exponential backoff and jitter; a permanent failure, too many tries, or a
//! secret that expired while waiting dead-letters the message and opens a ticket, in one
//! transaction. Bodies are cleared once a message is sent or dead, and recipients are masked in
//! every log line. Email goes out over SMTP, text messages and callback calls through Twilio's
//! REST API; a text that holds a secret asks Twilio to drop it once the secret has expired
//! (`ValidityPeriod`). Texts and calls are counted against the daily caps ([`caps`]) right
//! before they go; one refused by a cap is dead-lettered with a ticket, not held: what it
//! carries is a short-lived secret or a notice that is stale by the next day, and a queue that
//! drains when the cap resets would hand a pumping attack its backlog.

mod caps;
mod email;

use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use rand::RngExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::clock::{Millis, SharedClock, duration_ms};
use crate::config::OutboxSettings;
use crate::domain::contact::Contact;
use crate::domain::email::{EmailAddress, mask_address};
use crate::domain::ids::{ContractorId, MessageId, TicketId};
use crate::domain::phone::PhoneNumber;
use crate::domain::ticket::TicketKind;
use crate::mail::{ComposedEmail, DeliveryError, EmailTransport};
use crate::metrics::SharedMetrics;
use crate::store::outbox::{self as queue, Channel, NewMessage, QueuedMessage};
use crate::store::tickets::{self, NewTicket};
use crate::store::{Store, Tx};
use crate::store::{email_undeliverable, sms_opt_outs};
use crate::twilio::{
    CallTransport, OutgoingCall, OutgoingSms, SmsTransport, is_callback_path, validity_seconds,
};

pub use crate::config::SendCaps;
pub use caps::{Cap, Counted};

/// Queues an email in the caller's transaction. The Message-ID is fixed now, so every retry
/// of the message carries the same one and the receiving side can tell duplicates. `None`
/// (nothing queued) when a delivery report said the address cannot receive mail: Helpline
/// sends it nothing until the email on record changes or staff clear it.
pub async fn queue_email(
    tx: &mut Tx,
    from: &Mailbox,
    to: &EmailAddress,
    email: ComposedEmail,
    contractor_id: Option<ContractorId>,
    secret_expires_at: Option<Millis>,
    now: Millis,
) -> Result<Option<MessageId>, sqlx::Error> {
    if email_undeliverable::is_undeliverable(&mut **tx, to.as_str()).await? {
        tracing::info!(
            to = %to.masked(),
            template = email.template,
            "not queued: the address cannot receive mail (it bounced)"
        );
        return Ok(None);
    }
    let domain = from.email.domain();
    let message_id = format!("<{}@{}>", uuid::Uuid::new_v4(), domain);
    queue::enqueue(
        tx,
        &NewMessage {
            channel: Channel::Email,
            template: email.template,
            contractor_id,
            recipient: to.to_string(),
            subject: email.subject,
            body_text: email.text,
            body_html: Some(email.html),
            message_id,
            secret_expires_at,
            in_reply_to: email.in_reply_to,
        },
        now,
    )
    .await
    .map(Some)
}

/// Queues a text message in the caller's transaction. `body` is the whole text; it is kept
/// only until the message is sent or dead-lettered, and never logged. `None` (nothing queued)
/// when the number texted STOP: Helpline sends it no text at all until it texts START.
pub async fn queue_sms(
    tx: &mut Tx,
    to: &PhoneNumber,
    template: &'static str,
    body: String,
    contractor_id: Option<ContractorId>,
    secret_expires_at: Option<Millis>,
    now: Millis,
) -> Result<Option<MessageId>, sqlx::Error> {
    if sms_opt_outs::is_stopped(&mut **tx, to.as_str()).await? {
        tracing::info!(to = %to.masked(), template, "not queued: the number texted STOP");
        return Ok(None);
    }
    queue::enqueue(
        tx,
        &NewMessage {
            channel: Channel::Sms,
            template,
            contractor_id,
            recipient: to.to_string(),
            subject: String::new(),
            body_text: body,
            body_html: None,
            message_id: format!("sms-{}", uuid::Uuid::new_v4()),
            secret_expires_at,
            in_reply_to: None,
        },
        now,
    )
    .await
    .map(Some)
}

/// The `template` of a callback call (the outbox row's name for it).
pub const CALLBACK: &str = "callback";

/// A callback's TwiML path that is not a path on this server.
#[derive(Debug, Clone, thiserror::Error)]
#[error("a callback's TwiML path must be a path on this server (`/twilio/voice/…`)")]
pub struct NotALocalPath;

/// Queues a phone call to `to` in the caller's transaction. Once answered, the call fetches
/// the TwiML at `url_path` (`/twilio/voice/callback?c=<conversation key>`), a path under the
/// public URL, with a POST that Twilio signs; its end is reported to `/twilio/voice/status`,
/// which closes the conversation named by the path's `c` parameter. A call whose secret
/// (`secret_expires_at`) has expired is never placed. The path is kept (it is not a secret:
/// only Twilio's signed requests reach it) so staff and the status callback can find it.
#[allow(clippy::too_many_arguments)]
pub async fn queue_call(
    tx: &mut Tx,
    to: &PhoneNumber,
    template: &'static str,
    url_path: &str,
    contractor_id: Option<ContractorId>,
    secret_expires_at: Option<Millis>,
    now: Millis,
) -> Result<MessageId, sqlx::Error> {
    if !is_callback_path(url_path) {
        return Err(sqlx::Error::Encode(Box::new(NotALocalPath)));
    }
    queue::enqueue(
        tx,
        &NewMessage {
            channel: Channel::Voice,
            template,
            contractor_id,
            recipient: to.to_string(),
            subject: url_path.to_string(),
            body_text: String::new(),
            body_html: None,
            message_id: format!("call-{}", uuid::Uuid::new_v4()),
            secret_expires_at,
            in_reply_to: None,
        },
        now,
    )
    .await
}

/// What one pass of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Sent {
        id: MessageId,
    },
    Retry {
        id: MessageId,
        at: Millis,
    },
    Dead {
        id: MessageId,
        ticket: TicketId,
    },
    /// Not sent: the recipient is no longer a contact on record, or texted STOP.
    Dropped {
        id: MessageId,
    },
    /// The lease was lost to another worker before the result could be recorded.
    LeaseLost {
        id: MessageId,
    },
}

/// Delivers the outbox.
#[derive(Debug, Clone)]
pub struct Worker {
    store: Store,
    clock: SharedClock,
    settings: OutboxSettings,
    email: Arc<dyn EmailTransport>,
    from: Mailbox,
    /// `Reply-To` of every email (the help address); the From address when `None`.
    reply_to: Option<Mailbox>,
    /// Twilio, when SMS is enabled; without it every text is dead-lettered.
    sms: Option<Arc<dyn SmsTransport>>,
    /// Twilio, when voice is enabled; without it every call is dead-lettered.
    calls: Option<Arc<dyn CallTransport>>,
    /// The daily caps on texts and calls out.
    caps: SendCaps,
    metrics: SharedMetrics,
    /// Names this worker in leases: unique per process and task.
    owner: String,
    wake: Arc<Notify>,
}

impl Worker {
    /// Every handle the worker delivers with; `sms` is `None` when SMS is not enabled.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Store,
        clock: SharedClock,
        settings: OutboxSettings,
        email: Arc<dyn EmailTransport>,
        from: Mailbox,
        metrics: SharedMetrics,
        wake: Arc<Notify>,
        sms: Option<Arc<dyn SmsTransport>>,
    ) -> Self {
        Self {
            store,
            clock,
            settings,
            email,
            from,
            reply_to: None,
            sms,
            calls: None,
            caps: SendCaps::default(),
            metrics,
            owner: format!("worker-{}", uuid::Uuid::new_v4()),
            wake,
        }
    }

    /// Places callback calls with `calls` (`None`: calls are dead-lettered).
    pub fn with_calls(mut self, calls: Option<Arc<dyn CallTransport>>) -> Self {
        self.calls = calls;
        self
    }

    /// Sends every email with `Reply-To: reply_to` (the help address), so an answer reaches
    /// the help line even when From is a no-reply sender.
    pub fn with_reply_to(mut self, reply_to: Mailbox) -> Self {
        self.reply_to = Some(reply_to);
        self
    }

    /// Caps texts and calls out at `caps` (the defaults otherwise).
    pub fn with_caps(mut self, caps: SendCaps) -> Self {
        self.caps = caps;
        self
    }

    /// Claims and handles one due message; `None` when nothing is due.
    pub async fn run_once(&self) -> Result<Option<Outcome>, sqlx::Error> {
        let now = self.clock.now_ms();
        let lease_until = now + duration_ms(self.settings.lease);
        let Some(msg) = queue::claim_due(self.store.pool(), &self.owner, now, lease_until).await?
        else {
            return Ok(None);
        };
        let span = tracing::info_span!(
            "deliver",
            outbox_id = msg.id.0,
            channel = %msg.channel,
            template = %msg.template,
            to = %mask_address(&msg.recipient),
            attempt = msg.attempts + 1,
        );
        self.handle(msg).instrument(span).await.map(Some)
    }

    async fn handle(&self, msg: QueuedMessage) -> Result<Outcome, sqlx::Error> {
        let now = self.clock.now_ms();
        if msg.secret_expires_at.is_some_and(|t| t <= now) {
            return self
                .dead_letter(
                    &msg,
                    false,
                    "the secret in it expired before it could be delivered",
                )
                .await;
        }
        // The contact may have changed since the message was queued: it goes only to a phone
        // or email still on record.
        if let Some(contractor_id) = msg.contractor_id {
            let on_record = crate::store::contractors::by_id(self.store.pool(), contractor_id)
                .await?
                .is_some_and(|c| {
                    Contact::parse(&msg.recipient).is_some_and(|to| c.fields.on_record(&to))
                });
            if !on_record {
                let reason = "dropped: the recipient is no longer a contact on record";
                if !queue::mark_dropped(self.store.pool(), msg.id, &self.owner, reason).await? {
                    return Ok(Outcome::LeaseLost { id: msg.id });
                }
                self.metrics.delivery(&msg.channel, "dropped");
                tracing::info!("{reason}");
                return Ok(Outcome::Dropped { id: msg.id });
            }
        }
        let channel = msg.channel.parse::<Channel>();
        // The number may have texted STOP since the text was queued: it gets no text at all.
        if matches!(channel, Ok(Channel::Sms))
            && sms_opt_outs::is_stopped(self.store.pool(), &msg.recipient).await?
        {
            let reason = "dropped: the number texted STOP";
            if !queue::mark_dropped(self.store.pool(), msg.id, &self.owner, reason).await? {
                return Ok(Outcome::LeaseLost { id: msg.id });
            }
            self.metrics.delivery(&msg.channel, "dropped");
            tracing::info!("{reason}");
            return Ok(Outcome::Dropped { id: msg.id });
        }
        // The address may have bounced since the email was queued: it gets nothing more.
        if matches!(channel, Ok(Channel::Email))
            && email_undeliverable::is_undeliverable(self.store.pool(), &msg.recipient).await?
        {
            let reason = "dropped: the address cannot receive mail (it bounced)";
            if !queue::mark_dropped(self.store.pool(), msg.id, &self.owner, reason).await? {
                return Ok(Outcome::LeaseLost { id: msg.id });
            }
            self.metrics.delivery(&msg.channel, "dropped");
            tracing::info!("{reason}");
            return Ok(Outcome::Dropped { id: msg.id });
        }
        // Texts and calls cost money per message: counted against the caps right before they
        // go (one that cannot go, for want of a transport, is not counted).
        let via_twilio = match channel {
            Ok(Channel::Sms) => self.sms.is_some(),
            Ok(Channel::Voice) => self.calls.is_some(),
            _ => false,
        };
        if via_twilio {
            match caps::count(&self.store, self.caps, &msg, &self.owner, now).await? {
                Counted::Within => {}
                Counted::LeaseLost => return Ok(Outcome::LeaseLost { id: msg.id }),
                Counted::Refused(cap) => return self.refuse(&msg, cap).await,
            }
        }
        // The provider's id for the message, when it gives one (Twilio's sid).
        let result: Result<Option<String>, DeliveryError> = match channel {
            Ok(Channel::Email) => match self.build_email(&msg) {
                Ok(m) => self.email.send(m).await.map(|()| None),
                Err(e) => Err(DeliveryError::Permanent(e)),
            },
            Ok(Channel::Sms) => self.send_sms(&msg, now).await.map(Some),
            Ok(Channel::Voice) => self.place_call(&msg).await.map(Some),
            _ => Err(DeliveryError::Permanent(format!(
                "no transport for channel {}",
                msg.channel
            ))),
        };
        match result {
            Ok(provider_id) => {
                let done = self.clock.now_ms();
                if !queue::mark_sent(
                    self.store.pool(),
                    msg.id,
                    &self.owner,
                    done,
                    provider_id.as_deref(),
                )
                .await?
                {
                    return Ok(Outcome::LeaseLost { id: msg.id });
                }
                self.metrics.delivery(&msg.channel, "sent");
                tracing::info!("delivered");
                Ok(Outcome::Sent { id: msg.id })
            }
            Err(DeliveryError::Permanent(e)) => {
                self.dead_letter(&msg, true, &mask_in(&e, &msg.recipient))
                    .await
            }
            Err(DeliveryError::Transient(e)) => {
                let e = mask_in(&e, &msg.recipient);
                let tries = msg.attempts + 1;
                if tries >= i64::from(self.settings.max_attempts) {
                    return self
                        .dead_letter(&msg, true, &format!("gave up after {tries} tries: {e}"))
                        .await;
                }
                let at = self.clock.now_ms() + self.backoff(tries);
                if !queue::reschedule(self.store.pool(), msg.id, &self.owner, at, &e).await? {
                    return Ok(Outcome::LeaseLost { id: msg.id });
                }
                self.metrics.delivery(&msg.channel, "retry");
                tracing::warn!(error = %e, retry_in_ms = at - now, "delivery failed; will retry");
                Ok(Outcome::Retry { id: msg.id, at })
            }
        }
    }

    /// Exponential backoff with equal jitter: half the delay fixed, half random.
    fn backoff(&self, tries: i64) -> Millis {
        let base = duration_ms(self.settings.backoff_base).max(1);
        let cap = duration_ms(self.settings.backoff_max).max(base);
        let exp = u32::try_from(tries.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
        let delay = base.saturating_mul(1i64 << exp).min(cap);
        let half = delay / 2;
        half + rand::rng().random_range(0..=half.max(0))
    }

    async fn dead_letter(
        &self,
        msg: &QueuedMessage,
        counted_attempt: bool,
        reason: &str,
    ) -> Result<Outcome, sqlx::Error> {
        let summary = format!(
            "Could not deliver the {} to {}",
            what_it_is(msg),
            mask_address(&msg.recipient)
        );
        let case = (TicketKind::Undeliverable, summary, reason.to_string());
        self.bury(msg, counted_attempt, case, "dead").await
    }

    /// Dead-letters a text or call a cap refused, with a ticket saying which cap.
    async fn refuse(&self, msg: &QueuedMessage, cap: Cap) -> Result<Outcome, sqlx::Error> {
        self.metrics.cap_refused(&msg.channel, cap.as_str());
        let to = mask_address(&msg.recipient);
        let (limit, reason) = match cap {
            Cap::Destination => (
                self.caps.per_destination_per_day,
                format!("{to} has had its texts and calls for the day"),
            ),
            Cap::Day => (
                self.caps.per_day,
                "the help line has sent its texts and calls for the day".to_string(),
            ),
        };
        let summary = format!(
            "Not sent: the {} to {to} (daily cap reached)",
            what_it_is(msg)
        );
        let detail = format!(
            "Not sent: {reason} (at most {limit} in 24 hours). Caps guard against SMS pumping \
             and toll fraud; many of these at once mean someone may be running up the bill. \
             Reach the contractor another way if they are waiting."
        );
        tracing::warn!(
            cap = cap.as_str(),
            limit,
            "refused by the daily cap on texts and calls"
        );
        let case = (TicketKind::SendCapReached, summary, detail);
        self.bury(msg, false, case, "refused").await
    }

    /// Marks the message dead and opens its ticket (kind, summary, detail), in one transaction.
    async fn bury(
        &self,
        msg: &QueuedMessage,
        counted_attempt: bool,
        (kind, summary, detail): (TicketKind, String, String),
        result: &str,
    ) -> Result<Outcome, sqlx::Error> {
        let now = self.clock.now_ms();
        let mut tx = self.store.begin_write().await?;
        if !queue::mark_dead(&mut tx, msg.id, &self.owner, counted_attempt, &detail).await? {
            tx.rollback().await?;
            return Ok(Outcome::LeaseLost { id: msg.id });
        }
        let ticket = tickets::open(
            &mut tx,
            &NewTicket {
                kind,
                contractor_id: msg.contractor_id,
                channel: msg.channel.parse().unwrap_or(Channel::Email),
                summary,
                detail,
                outbox_id: Some(msg.id),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.metrics.delivery(&msg.channel, result);
        tracing::warn!(ticket = ticket.0, kind = %kind, "dead-lettered");
        Ok(Outcome::Dead { id: msg.id, ticket })
    }

    /// Places a callback call; the transport joins the path to the public URL.
    async fn place_call(&self, msg: &QueuedMessage) -> Result<String, DeliveryError> {
        let Some(calls) = &self.calls else {
            return Err(DeliveryError::Permanent(
                "voice calls are not enabled".into(),
            ));
        };
        let to = PhoneNumber::parse(&msg.recipient)
            .map_err(|_| DeliveryError::Permanent("the recipient is not a phone number".into()))?;
        if !is_callback_path(&msg.subject) {
            return Err(DeliveryError::Permanent(
                "the call's TwiML path is not a path on this server".into(),
            ));
        }
        calls
            .place(OutgoingCall {
                to: to.to_string(),
                path: msg.subject.clone(),
            })
            .await
    }

    /// Sends a text. A secret inside limits how long Twilio may hold it: the whole seconds it
    /// has left at `now`.
    async fn send_sms(&self, msg: &QueuedMessage, now: Millis) -> Result<String, DeliveryError> {
        let Some(sms) = &self.sms else {
            return Err(DeliveryError::Permanent("SMS is not enabled".into()));
        };
        let to = PhoneNumber::parse(&msg.recipient)
            .map_err(|_| DeliveryError::Permanent("the recipient is not a phone number".into()))?;
        let Some(body) = msg.body_text.clone().filter(|b| !b.is_empty()) else {
            return Err(DeliveryError::Permanent("the text message is empty".into()));
        };
        sms.send(OutgoingSms {
            to: to.to_string(),
            body,
            validity_seconds: msg.secret_expires_at.map(|t| validity_seconds(t, now)),
        })
        .await
    }

    /// Delivers until `stop` is cancelled. A message being delivered when the stop comes is
    /// finished first.
    pub async fn run(self, stop: CancellationToken) {
        tracing::info!(owner = %self.owner, "outbox worker started");
        loop {
            if stop.is_cancelled() {
                break;
            }
            let idle = match self.run_once().await {
                Ok(Some(_)) => continue,
                Ok(None) => self.idle_time().await,
                Err(e) => {
                    tracing::error!(error = %e, "outbox worker cannot reach the store");
                    self.settings.poll
                }
            };
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = self.wake.notified() => {}
                _ = tokio::time::sleep(idle) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// How long to sleep: until the next message is due, at most one poll interval.
    async fn idle_time(&self) -> Duration {
        match queue::next_due(self.store.pool()).await {
            Ok(Some(due)) => {
                let wait = (due - self.clock.now_ms()).max(10);
                Duration::from_millis(u64::try_from(wait).unwrap_or(0)).min(self.settings.poll)
            }
            _ => self.settings.poll,
        }
    }
}

/// "temporary password text", "callback call", "reset link email": what staff read.
fn what_it_is(msg: &QueuedMessage) -> String {
    let kind = match msg.channel.as_str() {
        "sms" => "text",
        "voice" => "call",
        other => other,
    };
    format!("{} {kind}", msg.template.replace('_', " "))
}

/// Replaces the full recipient in provider error text (servers echo it) with its mask.
fn mask_in(error: &str, recipient: &str) -> String {
    if recipient.is_empty() {
        return error.to_string();
    }
    error.replace(recipient, &mask_address(recipient))
}
