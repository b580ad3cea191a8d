//! What Twilio's status callbacks mean for a contractor: a text that did not arrive or a
//! callback nobody answered becomes a ticket, and a temporary password that did not arrive is
//! followed by an email (never with the secret) pointing to "Forgot password" and the staff
//! line. A call's end closes its conversation.
//!
//! Each report is recorded on the outbox row of Twilio's sid in one conditional statement
//! that only moves the row forward (`store::outbox::record_delivery`); what follows from it
//! (ticket, email) is written in the same transaction, so a replayed or parallel callback
//! opens one ticket and sends one email.

use super::*;
use crate::domain::conversation::ConversationKey;
use crate::domain::delivery::{CallStatus, MessageStatus, ReportedStatus, error_hint};
use crate::outbox::CALLBACK;
use crate::store::outbox::{self as queue, DeliveryReport, Recorded, ReportedMessage};

/// `MessageStatus` callback of a text, as the channel read it.
#[derive(Debug, Clone, Copy)]
pub struct MessageReport<'a> {
    /// Twilio's `SM…` sid, as the outbox kept it.
    pub message_sid: &'a str,
    pub status: MessageStatus,
    /// Twilio's error code, digits only (`crate::domain::delivery::error_code`).
    pub error_code: Option<&'a str>,
}

/// `CallStatus` callback of a call, as the channel read it.
#[derive(Debug, Clone, Copy)]
pub struct CallReport<'a> {
    pub call_sid: &'a str,
    pub status: CallStatus,
    /// `CallDuration`, seconds, for a call that ended.
    pub duration_seconds: Option<u32>,
}

/// What a report did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportOutcome {
    /// No text or call Helpline sent has this sid (an inbound call, another app's message).
    Unknown,
    /// Already recorded (a replay), or older than what is recorded (out of order).
    Unchanged,
    /// Recorded; nothing else to do.
    Recorded,
    /// Recorded and handed to staff; `notice` says whether the contractor was emailed.
    Escalated { ticket: TicketId, notice: bool },
}

/// What a call's status did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOutcome {
    /// What it did to a callback Helpline placed.
    pub callback: ReportOutcome,
    /// Conversations it closed: the call's own (an inbound call keyed by its CallSid) and a
    /// callback's (named by `c` in its TwiML path).
    pub closed: u32,
}

impl RecoveryService {
    /// Records a text's status. `failed` or `undelivered` opens a ticket; when the text was
    /// a temporary password and an email is on record, the contractor is emailed where to
    /// turn instead, in their language.
    pub async fn record_message_status(&self, r: &MessageReport<'_>) -> Result<ReportOutcome> {
        let now = self.clock.now_ms();
        let replaces = r.status.earlier();
        let report = DeliveryReport {
            channel: Channel::Sms,
            provider_id: r.message_sid,
            status: r.status.as_str(),
            replaces: &replaces,
            delivered_at: r.status.is_delivered().then_some(now),
            error_code: r.error_code,
        };
        let mut tx = self.store.begin_write().await?;
        let moved = match queue::record_delivery(&mut tx, &report).await? {
            Recorded::Moved(m) => m,
            other => {
                tx.rollback().await?;
                return Ok(not_moved(&other));
            }
        };
        if !r.status.is_failure() {
            tx.commit().await?;
            return Ok(ReportOutcome::Recorded);
        }
        let contractor = match moved.contractor_id {
            Some(id) => contractors::by_id(self.store.pool(), id).await?,
            None => None,
        };
        let lang = self.language_of(contractor.as_ref()).await?;
        let recovery = self.in_lang(lang);
        let mut notice = None;
        if moved.template == "temporary_password"
            && let Some(c) = &contractor
            && let Some(email) = c.fields.email_on_record()
        {
            let phone = PhoneNumber::parse(&moved.recipient).ok();
            let staff = self
                .settings
                .staff_phone
                .as_deref()
                .and_then(|p| PhoneNumber::parse(p).ok())
                .map(|p| p.national());
            let mail = messages::sms_undelivered_email(
                lang,
                &messages::SmsUndeliveredFields {
                    name: &c.fields.contact_name,
                    city: &self.settings.city.name,
                    username: &recovery.username_of(c),
                    phone_ending: phone.as_ref().map_or("", |p| p.last_four()),
                    forgot_link: &recovery.link("forgot"),
                    staff_phone: staff.as_deref(),
                    office_hours: self.settings.staff_office_hours.as_deref(),
                },
            )?;
            recovery
                .queue_to(&mut tx, c, Outgoing::Email { to: &email, mail }, None, now)
                .await?;
            notice = Some(email.masked());
        }
        let case = undelivered_case(&moved, r, contractor.as_ref(), notice.as_deref());
        let ticket = recovery.escalate(&mut tx, case, now).await?;
        recovery.commit_and_wake(tx).await?;
        tracing::info!(
            message_sid = r.message_sid,
            status = r.status.as_str(),
            error_code = r.error_code,
            ticket = ticket.0,
            emailed = notice.is_some(),
            "a text did not arrive"
        );
        Ok(ReportOutcome::Escalated {
            ticket,
            notice: notice.is_some(),
        })
    }

    /// Records a call's status. For a callback Helpline placed: busy, no answer or failed
    /// opens a ticket. Once the call is over, the conversation keyed by its CallSid (an
    /// inbound call) and the callback's conversation (the `c` of its TwiML path) are closed.
    pub async fn record_call_status(&self, r: &CallReport<'_>) -> Result<CallOutcome> {
        let now = self.clock.now_ms();
        let replaces = r.status.earlier();
        let report = DeliveryReport {
            channel: Channel::Voice,
            provider_id: r.call_sid,
            status: r.status.as_str(),
            replaces: &replaces,
            delivered_at: r.status.was_answered().then_some(now),
            error_code: None,
        };
        let mut tx = self.store.begin_write().await?;
        let (callback, its_conversation) = match queue::record_delivery(&mut tx, &report).await? {
            Recorded::Moved(m) if r.status.is_unanswered() => {
                // Tickets are for staff: their words are the queue's, not the contractor's.
                let ticket = self
                    .in_lang(Lang::En)
                    .escalate(&mut tx, unanswered_case(&m, r), now)
                    .await?;
                tx.commit().await?;
                let key = conversation_of(&m);
                (
                    ReportOutcome::Escalated {
                        ticket,
                        notice: false,
                    },
                    key,
                )
            }
            Recorded::Moved(m) => {
                tx.commit().await?;
                (ReportOutcome::Recorded, conversation_of(&m))
            }
            other => {
                tx.rollback().await?;
                (not_moved(&other), None)
            }
        };
        let mut closed = 0;
        if r.status.is_final() {
            let conversations = self.conversations();
            let own = ConversationKey::plain(r.call_sid);
            for key in [own, its_conversation].into_iter().flatten() {
                if conversations.use_up(Channel::Voice, &key).await?.is_some() {
                    closed += 1;
                }
            }
        }
        tracing::info!(
            call_sid = r.call_sid,
            status = r.status.as_str(),
            duration_seconds = r.duration_seconds,
            callback = ?callback,
            closed,
            "call status"
        );
        Ok(CallOutcome { callback, closed })
    }

    /// The contractor's language for messages (the last one they used), English if unknown.
    async fn language_of(&self, c: Option<&Contractor>) -> Result<Lang> {
        Ok(match c {
            Some(c) => contractors::language(self.store.pool(), c.id)
                .await?
                .map_or(Lang::En, |code| Lang::from_stored(&code)),
            None => Lang::En,
        })
    }
}

fn not_moved(r: &Recorded) -> ReportOutcome {
    match r {
        Recorded::Unknown => ReportOutcome::Unknown,
        _ => ReportOutcome::Unchanged,
    }
}

/// The conversation a callback's TwiML path names (`…?c=<key>`), if any.
fn conversation_of(m: &ReportedMessage) -> Option<ConversationKey> {
    if m.template != CALLBACK {
        return None;
    }
    let query = m.subject.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "c")
        .and_then(|(_, v)| ConversationKey::plain(&v))
}

/// "temporary password text": what staff read.
fn what(m: &ReportedMessage, kind: &str) -> String {
    format!("{} {kind}", m.template.replace('_', " "))
}

fn masked(recipient: &str) -> String {
    PhoneNumber::parse(recipient).map_or_else(|_| mask_address(recipient), |p| p.masked())
}

fn undelivered_case(
    m: &ReportedMessage,
    r: &MessageReport<'_>,
    contractor: Option<&Contractor>,
    emailed: Option<&str>,
) -> Escalation {
    let to = masked(&m.recipient);
    let error = match r.error_code {
        Some(code) => match error_hint(code) {
            Some(hint) => format!(" (Twilio error {code}: {hint})"),
            None => format!(" (Twilio error {code})"),
        },
        None => String::new(),
    };
    let mut detail = vec![format!(
        "Twilio reported the {} to {to} as {}{error}. It was not sent again.",
        what(m, "text"),
        r.status.as_str()
    )];
    detail.push(match (emailed, contractor) {
        (Some(address), _) => format!(
            "The contractor was emailed at {address} that the text did not arrive, pointed to \
             Forgot password and the staff line (the email holds no password)."
        ),
        (None, Some(_)) if m.template == "temporary_password" => {
            "No email on record: nothing else was sent. Reach the contractor another way \
             (a callback, or the alternate phone on record)."
                .to_string()
        }
        _ => "Nothing else was sent.".to_string(),
    });
    Escalation {
        kind: TicketKind::SmsUndelivered,
        contractor: m.contractor_id,
        channel: Channel::Sms,
        summary: format!("The {} to {to} did not arrive", what(m, "text")),
        detail: detail.join("\n"),
    }
}

fn unanswered_case(m: &ReportedMessage, r: &CallReport<'_>) -> Escalation {
    let to = masked(&m.recipient);
    Escalation {
        kind: TicketKind::CallbackUnanswered,
        contractor: m.contractor_id,
        channel: Channel::Voice,
        summary: format!("Callback not answered: {to} ({})", r.status.words()),
        detail: format!(
            "Helpline called {to} back (the {}) and Twilio reported: {}. Nothing was read out. \
             Call the contractor back, or they can call the help line again.",
            what(m, "call"),
            r.status.words()
        ),
    }
}
