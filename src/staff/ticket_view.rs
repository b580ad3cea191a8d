//! One ticket as staff read it (the ticket page, and the JSON API): the ticket, the
//! contractor on record, one timeline in time order, and the contractor's other tickets.
//!
//! Never a secret: messages Helpline sent are shown by what they were (template in words),
//! where they went (masked) and how delivery went; never their body or subject, which may hold
//! a temporary password or a reset link. The ticket's detail is shown as the escalation wrote
//! it (numbers keyed in are masked there), its recorded message and transcription as entries
//! of their own.

use serde::Serialize;

use super::{Resolution, Result};
use crate::clock::Millis;
use crate::domain::delivery::error_hint;
use crate::domain::email::mask_address;
use crate::domain::ids::{MessageId, TicketId};
use crate::domain::office_hours::OfficeHours;
use crate::domain::sla::{self, SlaState, TicketClock};
use crate::domain::ticket::TicketKind;
use crate::store::ticket_desk::{self, MessageRow};
use crate::store::{Store, contractors, threads};

/// A ticket with everything the ticket page shows (also the JSON API's answer, whose
/// OpenAPI schema is derived here).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    #[schema(value_type = i64)]
    pub id: TicketId,
    pub kind: String,
    pub kind_words: String,
    pub status: String,
    pub priority: String,
    pub channel: String,
    pub summary: String,
    pub assigned_to: Option<i64>,
    pub assignee: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub resolution: Option<String>,
    pub resolution_words: Option<String>,
    pub resolved_at: Option<Millis>,
    pub resolved_by: Option<String>,
    /// When the current wait on the contractor began (the SLA clock is paused).
    pub waiting_since: Option<Millis>,
    /// Business milliseconds of the waits that ended.
    pub waited_ms: Millis,
    /// Business milliseconds counted against the ticket now.
    pub business_age_ms: Millis,
    pub contractor: Option<ContractorOnRecord>,
    pub timeline: Vec<TimelineEntry>,
    pub other_tickets: Vec<OtherTicket>,
}

/// The contractor as the roster has them: staff call them back on these.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ContractorOnRecord {
    pub contractor_number: String,
    pub license_number: Option<String>,
    pub business_name: String,
    pub contact_name: String,
    /// Contacts masked (`***-***-2075`, `p***@example.com`): enough to compare with what a
    /// caller says, not to read out.
    pub phone: Option<String>,
    pub alt_phone: Option<String>,
    pub email: Option<String>,
}

/// What a timeline entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// What the escalation wrote: call steps, checks passed or failed.
    Detail,
    /// The caller's recorded message (a link).
    Recording,
    Transcription,
    EmailIn,
    EmailOut,
    SmsIn,
    SmsOut,
    Note,
    Resolved,
    Reopened,
    Frozen,
    Account,
    Waiting,
    /// A message Helpline sent the contractor that is not an entry of its own.
    Message,
    /// Any other stored kind.
    Other,
}

impl EntryKind {
    fn of_event(kind: &str) -> EntryKind {
        match kind {
            "email_in" => EntryKind::EmailIn,
            "email_out" => EntryKind::EmailOut,
            "sms_in" => EntryKind::SmsIn,
            "sms_out" => EntryKind::SmsOut,
            "note" => EntryKind::Note,
            "resolved" => EntryKind::Resolved,
            "reopened" => EntryKind::Reopened,
            "frozen" => EntryKind::Frozen,
            "account" => EntryKind::Account,
            "waiting" => EntryKind::Waiting,
            _ => EntryKind::Other,
        }
    }

    /// The entry's heading as staff read it.
    pub fn words(self) -> &'static str {
        match self {
            EntryKind::Detail => "Ticket opened",
            EntryKind::Recording => "Recorded message",
            EntryKind::Transcription => "Transcription",
            EntryKind::EmailIn => "Email received",
            EntryKind::EmailOut => "Email sent",
            EntryKind::SmsIn => "Text received",
            EntryKind::SmsOut => "Text sent",
            EntryKind::Note => "Note",
            EntryKind::Resolved => "Resolved",
            EntryKind::Reopened => "Reopened",
            EntryKind::Frozen => "Account frozen",
            EntryKind::Account => "Account action",
            EntryKind::Waiting => "Waiting on the contractor",
            EntryKind::Message => "Message to the contractor",
            EntryKind::Other => "Event",
        }
    }
}

/// One entry, in time order.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimelineEntry {
    pub at: Millis,
    pub kind: EntryKind,
    pub heading: String,
    /// Who: a staff member's name, a sender's address, `Helpline`; empty when nobody.
    pub author: String,
    pub text: String,
    /// A recording's link.
    pub url: Option<String>,
    /// The message this entry sent, with its delivery.
    pub message: Option<MessageView>,
}

/// A message Helpline queued: never its body.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MessageView {
    #[schema(value_type = i64)]
    pub id: MessageId,
    pub channel: String,
    pub template: String,
    pub template_words: String,
    /// Masked.
    pub to: String,
    /// `pending`, `sent` or `dead`.
    pub status: String,
    /// The provider's last report (`delivered`, `undelivered`, …).
    pub delivery_status: Option<String>,
    pub delivered_at: Option<Millis>,
    pub error_code: Option<String>,
    pub error_hint: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OtherTicket {
    #[schema(value_type = i64)]
    pub id: TicketId,
    pub kind: String,
    pub kind_words: String,
    pub status: String,
    pub created_at: Millis,
}

impl TicketView {
    /// The SLA state now, with `limit_hours` business hours before it is overdue.
    pub fn sla(&self, hours: Option<&OfficeHours>, now: Millis, limit_hours: u32) -> SlaState {
        sla::sla(hours, self.clock(), now, limit_hours)
    }

    fn clock(&self) -> TicketClock {
        TicketClock {
            created_at: self.created_at,
            waiting_since: self.waiting_since,
            waited_ms: self.waited_ms,
            open: self.status == "open",
        }
    }

    pub fn is_open(&self) -> bool {
        self.status == "open"
    }

    pub fn is_resolved(&self) -> bool {
        self.status == "resolved"
    }
}

/// A template's name in words.
pub fn template_words(template: &str) -> String {
    match template {
        "temporary_password" => "Temporary password".into(),
        "temporary_password_sent" => "Notice: a temporary password was sent".into(),
        "reset_link" => "Password reset link".into(),
        "account_setup" => "Account setup link".into(),
        "password_changed" => "Notice: password changed".into(),
        "callback" => "Callback call".into(),
        "staff_reply" => "Staff reply".into(),
        "email_received" => "\"We received your email\"".into(),
        "reset_request_received" => "\"We received your reset request\"".into(),
        "not_me_received" => "\"This wasn't me\" received".into(),
        "sms_undelivered" => "Notice: a text was not delivered".into(),
        other => {
            let mut words = other.replace('_', " ");
            if let Some(first) = words.get(..1) {
                words.replace_range(..1, &first.to_uppercase());
            }
            words
        }
    }
}

fn message_view(m: &MessageRow) -> MessageView {
    MessageView {
        id: m.id,
        channel: m.channel.clone(),
        template: m.template.clone(),
        template_words: template_words(&m.template),
        to: mask_address(&m.recipient),
        status: m.status.clone(),
        delivery_status: m.delivery_status.clone(),
        delivered_at: m.delivered_at,
        error_code: m.error_code.clone(),
        error_hint: m
            .error_code
            .as_deref()
            .and_then(error_hint)
            .map(str::to_string),
    }
}

fn kind_words(kind: &str) -> String {
    TicketKind::parse(kind).map_or_else(|| kind.to_string(), |k| k.staff_words().to_string())
}

/// The ticket `id` as staff read it, `None` when there is none. `hours` are the staff office
/// hours its business age is counted in (every hour when `None`).
pub async fn ticket_view(
    store: &Store,
    id: TicketId,
    now: Millis,
    hours: Option<&OfficeHours>,
) -> Result<Option<TicketView>> {
    let pool = store.pool();
    let Some(t) = ticket_desk::ticket(pool, id).await? else {
        return Ok(None);
    };
    let contractor = match t.contractor_id {
        Some(c) => contractors::by_id(pool, c).await?,
        None => None,
    };
    let mut timeline = detail_entries(t.created_at, &t.detail);
    let outbox_id = ticket_desk::outbox_of(pool, id).await?;
    let until = t.resolved_at.unwrap_or(now);
    let mut messages =
        ticket_desk::messages(pool, id, outbox_id, t.contractor_id, t.created_at, until).await?;
    for e in threads::timeline(pool, id).await? {
        let kind = EntryKind::of_event(&e.kind);
        let message = e.outbox_id.and_then(|out| {
            let at = messages.iter().position(|m| m.id == out)?;
            Some(message_view(&messages.remove(at)))
        });
        timeline.push(TimelineEntry {
            at: e.at,
            kind,
            heading: kind.words().to_string(),
            author: e.author,
            text: e.text,
            url: None,
            message,
        });
    }
    for m in &messages {
        let view = message_view(m);
        timeline.push(TimelineEntry {
            at: m.created_at,
            kind: EntryKind::Message,
            heading: format!("{}: {}", EntryKind::Message.words(), view.template_words),
            author: "Helpline".into(),
            text: String::new(),
            url: None,
            message: Some(view),
        });
    }
    // Stable: entries at the same instant keep the order they were written in.
    timeline.sort_by_key(|e| e.at);
    let other_tickets = match t.contractor_id {
        Some(c) => ticket_desk::other_tickets(pool, c, id)
            .await?
            .into_iter()
            .map(|o| OtherTicket {
                id: o.id,
                kind_words: kind_words(&o.kind),
                kind: o.kind,
                status: o.status,
                created_at: o.created_at,
            })
            .collect(),
        None => Vec::new(),
    };
    let mut view = TicketView {
        id: t.id,
        kind_words: kind_words(&t.kind),
        kind: t.kind,
        status: t.status,
        priority: t.priority,
        channel: t.channel,
        summary: t.summary,
        assigned_to: t.assigned_to,
        assignee: t.assignee,
        created_at: t.created_at,
        updated_at: t.updated_at,
        resolution_words: t
            .resolution
            .as_deref()
            .and_then(Resolution::parse)
            .map(|r| r.words().to_string()),
        resolution: t.resolution,
        resolved_at: t.resolved_at,
        resolved_by: t.resolver,
        waiting_since: t.waiting_since,
        waited_ms: t.waited_ms,
        business_age_ms: 0,
        contractor: contractor.map(|c| ContractorOnRecord {
            contractor_number: c.fields.contractor_number,
            license_number: c.fields.license_number,
            business_name: c.fields.business_name,
            contact_name: c.fields.contact_name,
            phone: c.fields.phone.as_deref().map(mask_address),
            alt_phone: c.fields.alt_phone.as_deref().map(mask_address),
            email: c.fields.email.as_deref().map(mask_address),
        }),
        timeline,
        other_tickets,
    };
    view.business_age_ms = sla::sla(hours, view.clock(), now, u32::MAX).age_ms;
    Ok(Some(view))
}

/// The detail as entries: the escalation's lines as one, each recorded message and
/// transcription (appended later by the phone line) as its own.
fn detail_entries(at: Millis, detail: &str) -> Vec<TimelineEntry> {
    let entry = |kind: EntryKind, text: String, url: Option<String>| TimelineEntry {
        at,
        kind,
        heading: kind.words().to_string(),
        author: String::new(),
        text,
        url,
        message: None,
    };
    let mut lines = Vec::new();
    let mut extra = Vec::new();
    for line in detail.lines() {
        if let Some(url) = line.strip_prefix("Message: ") {
            let url = url.trim().to_string();
            extra.push(entry(EntryKind::Recording, url.clone(), Some(url)));
        } else if let Some(words) = line.strip_prefix("Transcription: ") {
            extra.push(entry(EntryKind::Transcription, words.trim().into(), None));
        } else {
            lines.push(line);
        }
    }
    let mut out = vec![entry(EntryKind::Detail, lines.join("\n"), None)];
    out.extend(extra);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recordings_and_transcriptions_are_entries_of_their_own() {
        let detail = "Call back: +13035550100\nChecks passed: number\nMessage: \
                      https://api.twilio.com/rec/RE1\nTranscription: please call me";
        let e = detail_entries(5, detail);
        assert_eq!(e.len(), 3);
        assert_eq!(e[0].kind, EntryKind::Detail);
        assert_eq!(e[0].text, "Call back: +13035550100\nChecks passed: number");
        assert_eq!(e[1].kind, EntryKind::Recording);
        assert_eq!(e[1].url.as_deref(), Some("https://api.twilio.com/rec/RE1"));
        assert_eq!(e[2].text, "please call me");
    }

    #[test]
    fn templates_read_as_words() {
        assert_eq!(template_words("temporary_password"), "Temporary password");
        assert_eq!(template_words("new_thing"), "New thing");
        assert_eq!(template_words(""), "");
    }
}
