//! Replies and threads: an email that answers one Helpline sent, or comes from someone who
//! wrote within the day, joins the ticket it belongs to instead of opening another; staff
//! answer from a ticket, threaded.
//!
//! What an email from a person (not a RESET request) gets, in order:
//! 1. It names (In-Reply-To/References) an email Helpline sent:
//!    - it says "this wasn't me", comes from the very address that email went to, and that
//!      address is still the contractor's email on record: the same as the link in a change
//!      notice ([`Recovery::freeze_for_not_me`]), plus an answer saying what was done. From
//!      any other address it is an ordinary reply: `From` is a claim, and freezing an account
//!      on a claim would let anyone lock a contractor out;
//!    - the email belongs to a ticket (an acknowledgment, a staff reply): the reply joins that
//!      ticket's timeline, and a resolved ticket opens again;
//!    - it belongs to none (a reset link, a notice): one ticket for the reply, kept under the
//!      thread key `reply:<outbox id>`, so later replies join it.
//! 2. It names an email that came in on a ticket: it joins that ticket.
//! 3. No thread: a sender with an open ticket opened by email in the last 24 hours joins it
//!    (thread key `sender:<digest>`): a flood from one address is one ticket.
//! 4. Otherwise a new ticket, under that sender's key.
//!
//! A thread key is claimed with one conditional write: two replies at once open one ticket;
//! the one that loses rolls back and joins. Each email joined gets at most the budgeted
//! acknowledgment ([`ACK_BUDGET`]); the acknowledgment itself belongs to the ticket, so a
//! reply to it joins too.

use super::email_in::{ACK_BUDGET, Answer, EmailOutcome, staff_view};
use super::*;
use crate::domain::email_in::{InboundEmail, Meaning};
use crate::domain::ids::MessageId as OutboxId;
use crate::store::threads::{self, EventKind, NewEvent, SentEmail};
use crate::store::ticket_desk;

/// How long a sender's open ticket takes their next emails.
const SENDER_WINDOW: Millis = 24 * 3600 * 1000;
/// How many times a lost race for a thread key is retried (each retry joins the winner).
const CLAIM_TRIES: usize = 4;

/// Which thread an email belongs to.
enum Thread {
    /// An email Helpline sent.
    Sent(SentEmail),
    /// An email that came in on this ticket.
    Received(TicketId),
    /// None: the sender's thread.
    Sender,
}

/// What a staff reply did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffReplyOutcome {
    /// Queued to this (masked) address, threaded.
    Queued { to: String, outbox: OutboxId },
    /// No such ticket.
    NoTicket,
    /// The ticket has no email to answer and its contractor no email on record.
    NoAddress,
    /// A delivery report said this (masked) address cannot receive mail: nothing was sent.
    /// Staff fix the contact (or clear the mark, `store::email_undeliverable::clear`).
    Undeliverable { to: String },
    /// Nothing to send: the text is empty.
    Empty,
}

/// Most characters of a staff reply.
pub const MAX_STAFF_REPLY: usize = 10_000;

impl Recovery<'_> {
    /// An email from a person that is not a RESET request (see the module docs).
    pub(super) async fn email_threaded(
        &self,
        mail: &InboundEmail,
        from: &EmailAddress,
    ) -> Result<EmailOutcome> {
        let thread = self.thread_of(mail).await?;
        if let (Thread::Sent(sent), Meaning::NotMe) = (&thread, &mail.meaning)
            && let Some(contractor) = self.owner_replying(sent, from).await?
        {
            return self.not_me_by_reply(mail, from, &contractor).await;
        }
        match thread {
            Thread::Sent(SentEmail {
                ticket_id: Some(ticket),
                ..
            })
            | Thread::Received(ticket) => self.join(mail, from, ticket).await,
            Thread::Sent(sent) => {
                let key = format!("reply:{}", sent.id.0);
                self.join_or_open(mail, from, &key, sent.contractor_id, None)
                    .await
            }
            Thread::Sender => {
                let key = format!(
                    "sender:{}",
                    &token_digest(&from.as_str().to_ascii_lowercase())[..32]
                );
                let known = contractors::by_email(self.st.store.pool(), from).await?;
                let window = Some(self.now() - SENDER_WINDOW);
                self.join_or_open(mail, from, &key, known.first().map(|c| c.id), window)
                    .await
            }
        }
    }

    /// The first message the email names that Helpline knows.
    async fn thread_of(&self, mail: &InboundEmail) -> Result<Thread> {
        let mut tx = self.st.store.pool().begin().await?;
        for id in &mail.references {
            if let Some(sent) = threads::sent_email(&mut tx, &id.bracketed()).await? {
                return Ok(Thread::Sent(sent));
            }
            if let Some(ticket) = threads::ticket_of_received(&mut tx, &id.bracketed()).await? {
                return Ok(Thread::Received(ticket));
            }
        }
        Ok(Thread::Sender)
    }

    /// The contractor the email went to, when the reply comes from that very address and it
    /// is still their email on record.
    async fn owner_replying(
        &self,
        sent: &SentEmail,
        from: &EmailAddress,
    ) -> Result<Option<Contractor>> {
        let Some(id) = sent.contractor_id else {
            return Ok(None);
        };
        if !sent.recipient.eq_ignore_ascii_case(from.as_str()) {
            return Ok(None);
        }
        let contractor = contractors::by_id(self.st.store.pool(), id).await?;
        Ok(contractor.filter(|c| c.fields.on_record(&Contact::Email(from.clone()))))
    }

    /// "This wasn't me" from the owner's address: freeze, void, urgent ticket, and an answer.
    async fn not_me_by_reply(
        &self,
        mail: &InboundEmail,
        from: &EmailAddress,
        contractor: &Contractor,
    ) -> Result<EmailOutcome> {
        let account = accounts::by_contractor(self.st.store.pool(), contractor.id).await?;
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let ticket = self
            .freeze_for_not_me(
                &mut tx,
                account.map(|a| a.id),
                contractor,
                Channel::Email,
                now,
            )
            .await?;
        self.record_received(&mut tx, mail, from, ticket, now)
            .await?;
        let key = format!(
            "email_not_me:to:{}",
            &token_digest(&from.as_str().to_ascii_lowercase())[..32]
        );
        let replied = budgets::spend(&mut tx, &key, ACK_BUDGET, now).await?;
        if replied {
            let mut composed = messages::not_me_received_email(
                self.lang,
                &messages::NotMeReceivedFields {
                    name: &contractor.fields.contact_name,
                    city: &self.st.settings.city.name,
                    staff_phone: self.st.settings.staff_phone.as_deref(),
                },
            )?;
            composed.in_reply_to = mail.message_id.as_ref().map(|m| m.bracketed());
            let from_box = &self.st.settings.mail.from;
            // (Nothing is queued to an address that bounced.)
            if let Some(out) = queue_email(
                &mut tx,
                from_box,
                from,
                composed,
                Some(contractor.id),
                None,
                now,
            )
            .await?
            {
                self.record_sent(&mut tx, ticket, out, "Helpline", "", now)
                    .await?;
            }
        }
        self.commit_and_wake(tx).await?;
        tracing::warn!(
            ticket = ticket.0,
            "account frozen: \"this wasn't me\" by email"
        );
        Ok(EmailOutcome::NotMe { ticket })
    }

    /// Joins an existing ticket: the timeline, a reopen, at most the budgeted acknowledgment.
    async fn join(
        &self,
        mail: &InboundEmail,
        from: &EmailAddress,
        ticket: TicketId,
    ) -> Result<EmailOutcome> {
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let replied = self.joined(&mut tx, mail, from, ticket, now).await?;
        self.commit_and_wake(tx).await?;
        Ok(EmailOutcome::Thread {
            ticket,
            opened: false,
            replied,
        })
    }

    async fn joined(
        &self,
        tx: &mut Tx,
        mail: &InboundEmail,
        from: &EmailAddress,
        ticket: TicketId,
        now: Millis,
    ) -> Result<bool> {
        self.record_received(tx, mail, from, ticket, now).await?;
        // The contractor answered: a wait on them ends and the SLA clock runs again.
        let hours = self.st.hours.hours(&self.st.settings);
        let hours = hours.as_ref();
        let text = "The contractor answered: the SLA clock runs again.";
        let author = from.as_str().to_ascii_lowercase();
        ticket_desk::end_wait(tx, ticket, hours, &author, text, now).await?;
        if threads::reopen(tx, ticket, now).await? {
            let event = NewEvent {
                ticket,
                kind: EventKind::Reopened,
                author: "Helpline",
                text: "A reply came in: the ticket is open again.",
                message_id: None,
                outbox_id: None,
            };
            threads::add_event(tx, &event, now).await?;
        }
        self.acknowledge(tx, mail, from, ticket, now).await
    }

    /// The ticket of `key` when it is open (and, with `since`, created since then); else a
    /// new ticket claimed under `key`. A lost claim rolls back and tries again, joining.
    async fn join_or_open(
        &self,
        mail: &InboundEmail,
        from: &EmailAddress,
        key: &str,
        contractor: Option<ContractorId>,
        since: Option<Millis>,
    ) -> Result<EmailOutcome> {
        for _ in 0..CLAIM_TRIES {
            let now = self.now();
            let mut tx = self.st.store.begin_write().await?;
            let previous = threads::thread_ticket(&mut tx, key).await?;
            let usable = previous.as_ref().filter(|(_, status, created)| {
                // A reply thread always continues its ticket (reopened if resolved); a
                // sender's thread only while its ticket is open and recent.
                since.is_none_or(|since| status == "open" && *created >= since)
            });
            if let Some((ticket, _, _)) = usable {
                let ticket = *ticket;
                let replied = self.joined(&mut tx, mail, from, ticket, now).await?;
                self.commit_and_wake(tx).await?;
                return Ok(EmailOutcome::Thread {
                    ticket,
                    opened: false,
                    replied,
                });
            }
            let ticket = self
                .escalate(&mut tx, staff_case(mail, from, contractor), now)
                .await?;
            let previous = previous.map(|(t, _, _)| t);
            if !threads::claim_thread(&mut tx, key, previous, ticket, now).await? {
                tx.rollback().await?;
                continue;
            }
            self.record_received(&mut tx, mail, from, ticket, now)
                .await?;
            let replied = self.acknowledge(&mut tx, mail, from, ticket, now).await?;
            self.commit_and_wake(tx).await?;
            return Ok(EmailOutcome::Thread {
                ticket,
                opened: true,
                replied,
            });
        }
        Err(RecoveryError::Store(sqlx::Error::Protocol(
            "an email thread's ticket kept changing".into(),
        )))
    }

    /// The email on the ticket's timeline.
    pub(super) async fn record_received(
        &self,
        tx: &mut Tx,
        mail: &InboundEmail,
        from: &EmailAddress,
        ticket: TicketId,
        now: Millis,
    ) -> Result<()> {
        let message_id = mail.message_id.as_ref().map(|m| m.bracketed());
        let author = from.as_str().to_ascii_lowercase();
        let event = NewEvent {
            ticket,
            kind: EventKind::EmailIn,
            author: &author,
            text: &mail.text,
            message_id: message_id.as_deref(),
            outbox_id: None,
        };
        threads::add_event(tx, &event, now).await?;
        Ok(())
    }

    /// The contractor a ticket names (`Some(None)`: none), read for a staff reply in `tx`;
    /// `None` when there is no such ticket.
    pub(super) async fn ticket_contractor(
        &self,
        tx: &mut Tx,
        ticket: TicketId,
    ) -> Result<Option<Option<Contractor>>> {
        let Some(contractor_id) = threads::ticket_contractor(tx, ticket).await? else {
            return Ok(None);
        };
        Ok(Some(match contractor_id {
            Some(id) => contractors::by_id(self.st.store.pool(), id).await?,
            None => None,
        }))
    }

    /// An email queued for a ticket: it belongs to the ticket, and is on its timeline.
    pub(super) async fn record_sent(
        &self,
        tx: &mut Tx,
        ticket: TicketId,
        out: OutboxId,
        author: &str,
        text: &str,
        now: Millis,
    ) -> Result<()> {
        threads::set_outbox_ticket(tx, out, ticket).await?;
        let event = NewEvent {
            ticket,
            kind: EventKind::EmailOut,
            author,
            text,
            message_id: None,
            outbox_id: Some(out),
        };
        threads::add_event(tx, &event, now).await?;
        Ok(())
    }

    /// The "we received your email" answer, threaded and part of the ticket, when the
    /// sender's hourly budget allows.
    async fn acknowledge(
        &self,
        tx: &mut Tx,
        mail: &InboundEmail,
        from: &EmailAddress,
        ticket: TicketId,
        now: Millis,
    ) -> Result<bool> {
        match self
            .queue_answer(tx, mail, from, Answer::Received, now)
            .await?
        {
            Some(out) => {
                self.record_sent(tx, ticket, out, "Helpline", "", now)
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// A staff member's answer on a ticket, by email: to the address the ticket's last email
    /// came from (or the contractor's email on record), In-Reply-To that email, part of the
    /// ticket (a reply to it joins the ticket), on its timeline and in the audit log with the
    /// staff member's name. In the recovery service's language.
    pub async fn staff_email_reply(
        &self,
        ticket: TicketId,
        staff_name: &str,
        text: &str,
    ) -> Result<StaffReplyOutcome> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(StaffReplyOutcome::Empty);
        }
        let text: String = text.chars().take(MAX_STAFF_REPLY).collect();
        let staff_name = signature(staff_name);
        let now = self.now();
        let mut tx = self.st.store.begin_write().await?;
        let Some(contractor) = self.ticket_contractor(&mut tx, ticket).await? else {
            tx.rollback().await?;
            return Ok(StaffReplyOutcome::NoTicket);
        };
        let last = threads::last_received(&mut tx, ticket).await?;
        let to = last
            .as_ref()
            .and_then(|(author, _)| EmailAddress::parse(author).ok())
            .or_else(|| contractor.as_ref().and_then(|c| c.fields.email_on_record()));
        let Some(to) = to else {
            tx.rollback().await?;
            return Ok(StaffReplyOutcome::NoAddress);
        };
        let mut composed = messages::staff_reply_email(
            self.lang,
            &messages::StaffReplyFields {
                city: &self.st.settings.city.name,
                staff_name: &staff_name,
                text: &text,
            },
        )?;
        composed.in_reply_to = last.and_then(|(_, id)| id);
        // The contractor's id only when it goes to their email on record: the worker drops
        // a contractor's message to an address no longer on record.
        let on_record = contractor
            .as_ref()
            .filter(|c| c.fields.on_record(&Contact::Email(to.clone())))
            .map(|c| c.id);
        let from_box = &self.st.settings.mail.from;
        let Some(out) = queue_email(&mut tx, from_box, &to, composed, on_record, None, now).await?
        else {
            tx.rollback().await?;
            return Ok(StaffReplyOutcome::Undeliverable { to: to.masked() });
        };
        self.record_sent(&mut tx, ticket, out, &staff_name, &text, now)
            .await?;
        ticket_desk::begin_wait(&mut tx, ticket, &staff_name, now).await?;
        let actor = format!("staff:{staff_name}");
        let subject = match &contractor {
            Some(c) => format!("contractor:{}", c.fields.contractor_number),
            None => format!("ticket:{}", ticket.0),
        };
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: &actor,
                action: "staff_email_reply",
                subject: &subject,
                channel: Channel::Email,
                detail: format!("ticket {} answered by email to {}", ticket.0, to.masked()),
            },
            now,
        )
        .await?;
        self.commit_and_wake(tx).await?;
        Ok(StaffReplyOutcome::Queued {
            to: to.masked(),
            outbox: out,
        })
    }
}

/// A new ticket for an email from a person.
fn staff_case(
    mail: &InboundEmail,
    from: &EmailAddress,
    contractor: Option<ContractorId>,
) -> Escalation {
    Escalation {
        kind: TicketKind::EmailReceived,
        contractor,
        channel: Channel::Email,
        summary: format!(
            "Email from {}: {}",
            from.masked(),
            if mail.subject.is_empty() {
                "(no subject)"
            } else {
                &mail.subject
            }
        ),
        detail: staff_view(mail, from),
    }
}

/// A staff member's name as a reply signs with it: no control characters, at most 100.
pub(super) fn signature(staff_name: &str) -> String {
    staff_name
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect()
}
