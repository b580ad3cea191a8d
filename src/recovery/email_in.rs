//! What the email channel asks of the recovery service: the outcome of one email to the help
//! line, read and classified by `domain::email_in`.
//!
//! - Automatic mail (out-of-office, lists, robots, Helpline's own messages) is never answered:
//!   no mail loop can start here.
//! - A bounce marks each failed address that is an email on record undeliverable
//!   (`store::email_undeliverable`: nothing more is sent to it) and opens a ticket so staff
//!   fix the contact; it is never answered either.
//! - "RESET n" / "CLAVE n" from the email on record of contractor `n` (with DMARC or DKIM
//!   passing for its domain when the receiving server says) sends a reset link to that email
//!   through [`Recovery::send_reset_link`]: the very send of the portal's "Forgot password",
//!   with the same per-account and per-destination budgets. From any other address — `From` is
//!   a claim, not proof — it gets a neutral answer that tells nothing about any account, and a
//!   ticket.
//! - Anything else becomes a ticket, with an acknowledgment.
//!
//! Answers are threaded (In-Reply-To the incoming Message-ID), marked `Auto-Submitted:
//! auto-replied` by the outbox, written in the language of the email, and go at most once an
//! hour to one sender ([`ACK_BUDGET`]), counted in the store so every instance agrees.

use super::*;
use crate::domain::email_in::{Authentication, InboundEmail, Meaning};
use crate::store::budgets::Budget;
use crate::store::email_undeliverable;

/// One automatic answer per sender per hour, at most 5 a day.
pub const ACK_BUDGET: Budget = Budget {
    every: 3600 * 1000,
    per_day: 5,
};

/// What Helpline did with an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    /// Not answered: sent by a machine, by Helpline itself, or with no usable sender; says why.
    Ignored(&'static str),
    /// A bounce: this many tickets for addresses on record.
    Bounce { tickets: usize },
    /// A reset link went to the email on record (the sender).
    ResetLinkSent,
    /// The request got the neutral answer (`replied` false when the sender had one within the
    /// hour) and, from a stranger, a ticket.
    ResetNeutral {
        replied: bool,
        ticket: Option<TicketId>,
    },
    /// A ticket for staff, and an acknowledgment unless one went within the hour.
    Ticket {
        ticket: Option<TicketId>,
        replied: bool,
    },
    /// A person's email in a thread (`email_threads`): it opened `ticket` or joined it, and
    /// got an acknowledgment unless one went within the hour.
    Thread {
        ticket: TicketId,
        opened: bool,
        replied: bool,
    },
    /// "This wasn't me" from the owner's address: the account is frozen, `ticket` is urgent.
    NotMe { ticket: TicketId },
}

impl EmailOutcome {
    /// A short name for logs and the HTTP answer.
    pub fn as_str(&self) -> &'static str {
        match self {
            EmailOutcome::Ignored(_) => "ignored",
            EmailOutcome::Bounce { .. } => "bounce",
            EmailOutcome::ResetLinkSent | EmailOutcome::ResetNeutral { .. } => "reset_request",
            EmailOutcome::Ticket { .. } => "ticket",
            EmailOutcome::Thread { opened: true, .. } => "ticket",
            EmailOutcome::Thread { opened: false, .. } => "joined_ticket",
            EmailOutcome::NotMe { .. } => "not_me",
        }
    }
}

/// The automatic answer to send, if the budget allows.
pub(super) enum Answer {
    /// "If this matches our records…".
    ResetNeutral,
    /// "We received your email".
    Received,
}

impl Recovery<'_> {
    /// Decides what one email to the help line gets (see the module docs). The recovery
    /// service's language should be the email's (`mail.lang`).
    pub async fn answer_email(&self, mail: &InboundEmail) -> Result<EmailOutcome> {
        let from = match &mail.meaning {
            Meaning::Automatic(why) => return Ok(EmailOutcome::Ignored(why)),
            Meaning::Bounce { failed } => return self.email_bounced(mail, failed).await,
            Meaning::Reset { .. } | Meaning::NotMe | Meaning::Other => match &mail.from {
                None => return Ok(EmailOutcome::Ignored("no sender address")),
                Some(from) => from,
            },
        };
        let own = &self.st.settings.mail.from.email;
        if from.as_str().eq_ignore_ascii_case(own.as_ref()) {
            return Ok(EmailOutcome::Ignored("sent by the help line itself"));
        }
        match &mail.meaning {
            // A reset request is answered by a link whether it is in a thread or not.
            Meaning::Reset { number } => self.email_reset(mail, from, number).await,
            _ => self.email_threaded(mail, from).await,
        }
    }

    async fn email_bounced(
        &self,
        mail: &InboundEmail,
        failed: &[EmailAddress],
    ) -> Result<EmailOutcome> {
        let mut opened = 0;
        for address in failed {
            for contractor in contractors::by_email(self.st.store.pool(), address).await? {
                let now = self.now();
                let mut tx = self.st.store.begin_write().await?;
                let report = mail.message_id.as_ref().map(|m| m.bracketed());
                email_undeliverable::mark(&mut *tx, address.as_str(), report.as_deref(), now)
                    .await?;
                self.escalate(
                    &mut tx,
                    Escalation {
                        kind: TicketKind::EmailBounced,
                        contractor: Some(contractor.id),
                        channel: Channel::Email,
                        summary: format!(
                            "Email to {} bounced: check the contractor's email on record",
                            address.masked()
                        ),
                        detail: format!(
                            "A delivery report says mail to the email on record ({}) failed. \
                             The address is marked undeliverable: Helpline sends it nothing, \
                             and the portal and kiosk offer a text or a call instead, until \
                             the email on record changes (roster import) or staff clear the \
                             mark.\nReport: {}",
                            address.masked(),
                            mail.message_id
                                .as_ref()
                                .map_or_else(|| "(no Message-ID)".into(), |m| m.bracketed())
                        ),
                    },
                    now,
                )
                .await?;
                tx.commit().await?;
                opened += 1;
            }
        }
        Ok(EmailOutcome::Bounce { tickets: opened })
    }

    async fn email_reset(
        &self,
        mail: &InboundEmail,
        from: &EmailAddress,
        number: &str,
    ) -> Result<EmailOutcome> {
        let source = Source::SenderAddress(from.as_str().to_ascii_lowercase());
        if !self.st.guard.allow_source(&source) {
            return Ok(EmailOutcome::Ignored("the sender sent too many"));
        }
        let named = self.contractor_by_any_number(number).await?;
        let sender = Contact::Email(from.clone());
        // A forged From can only make the link go to the real owner's inbox; when the
        // receiving server checked the domain and it failed, the sender is a stranger anyway.
        let trusted = mail.authentication != Authentication::Fail;
        if let Some(contractor) = named
            .as_ref()
            .filter(|c| trusted && c.fields.on_record(&sender))
        {
            self.remember_language(contractor).await?;
            if let SendOutcome::Sent { .. } = self
                .send_reset_link(contractor, Channel::Email, LinkKind::Reset)
                .await?
            {
                return Ok(EmailOutcome::ResetLinkSent);
            }
            // Sent too recently (or frozen): the neutral words, no ticket.
            let replied = self
                .answer_once(mail, from, Answer::ResetNeutral, None)
                .await?
                .0;
            return Ok(EmailOutcome::ResetNeutral {
                replied,
                ticket: None,
            });
        }
        let why = if named.is_some() && !trusted {
            "its domain failed DMARC/DKIM at the receiving server"
        } else {
            "the sender is not the email on record of that number, or the number is unknown"
        };
        let case = Escalation {
            kind: TicketKind::EmailReceived,
            contractor: named.as_ref().map(|c| c.id),
            channel: Channel::Email,
            summary: format!("Reset requested by email from {}", from.masked()),
            detail: format!(
                "An email asked for a reset link; none was sent: {why}. The sender got the \
                 neutral answer.\n{}",
                staff_view(mail, from)
            ),
        };
        let (replied, ticket) = self
            .answer_once(mail, from, Answer::ResetNeutral, Some(case))
            .await?;
        Ok(EmailOutcome::ResetNeutral { replied, ticket })
    }

    /// Opens `case` (if any) and queues `answer` to `from` when the sender's hourly budget
    /// allows, in one transaction: the ticket and the answer commit together.
    async fn answer_once(
        &self,
        mail: &InboundEmail,
        from: &EmailAddress,
        answer: Answer,
        case: Option<Escalation>,
    ) -> Result<(bool, Option<TicketId>)> {
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let ticket = match case {
            Some(case) => Some(self.escalate(&mut tx, case, now).await?),
            None => None,
        };
        if let Some(ticket) = ticket {
            self.record_received(&mut tx, mail, from, ticket, now)
                .await?;
        }
        let queued = self.queue_answer(&mut tx, mail, from, answer, now).await?;
        if let (Some(ticket), Some(out)) = (ticket, queued) {
            self.record_sent(&mut tx, ticket, out, "Helpline", "", now)
                .await?;
        }
        let replied = queued.is_some();
        self.commit_and_wake(tx).await?;
        Ok((replied, ticket))
    }

    /// Queues `answer` to `from`, threaded, when the sender's hourly budget allows: the
    /// outbox row, or `None` when an answer went within the hour.
    pub(super) async fn queue_answer(
        &self,
        tx: &mut Tx,
        mail: &InboundEmail,
        from: &EmailAddress,
        answer: Answer,
        now: Millis,
    ) -> Result<Option<crate::domain::ids::MessageId>> {
        let key = format!(
            "email_answer:to:{}",
            &token_digest(&from.as_str().to_ascii_lowercase())[..32]
        );
        if !budgets::spend(tx, &key, ACK_BUDGET, now).await? {
            return Ok(None);
        }
        let (city, forgot_link) = (&self.st.settings.city.name, self.link("forgot"));
        let mut composed = match answer {
            Answer::ResetNeutral => messages::reset_request_received_email(
                self.lang,
                &messages::ResetRequestReceivedFields {
                    city,
                    minutes: self.st.settings.reset_link_lifetime.as_secs() / 60,
                    forgot_link: &forgot_link,
                },
            )?,
            Answer::Received => {
                let hours = self.st.hours.text(&self.st.settings, self.lang);
                messages::email_received_email(
                    self.lang,
                    &messages::EmailReceivedFields {
                        city,
                        forgot_link: &forgot_link,
                        office_hours: hours.as_deref(),
                    },
                )?
            }
        };
        composed.in_reply_to = mail.message_id.as_ref().map(|m| m.bracketed());
        // To the sender as written, not a contact on record: no contractor id, so the
        // worker does not drop it for not being on record. It carries no secret. Nothing is
        // queued to an address that bounced (`None`, as when the budget is spent).
        Ok(queue_email(
            tx,
            &self.st.settings.mail.from,
            from,
            composed,
            None,
            None,
            now,
        )
        .await?)
    }
}

/// What staff read of an email: the masked sender, the subject, the Message-ID (for a
/// threaded answer) and the text without quoted parts.
pub(super) fn staff_view(mail: &InboundEmail, from: &EmailAddress) -> String {
    format!(
        "From: {}\nSubject: {}\nMessage-ID: {}\nLanguage: {}\n\n{}",
        from.masked(),
        mail.subject,
        mail.message_id
            .as_ref()
            .map_or_else(|| "(none)".into(), |m| m.bracketed()),
        mail.lang.code(),
        mail.text
    )
}
