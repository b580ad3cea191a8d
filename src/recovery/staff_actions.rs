//! Account actions staff take from a ticket: send a reset link or a temporary password to a
//! contact on record, check a caller's security answer, unlock and unfreeze. Contact changes
//! are in `staff_contacts`, registration decisions in `staff_registrations`.
//!
//! Staff choose *where on record* a secret goes; they never see it. Each action is audited
//! with the staff member's name, and the ticket's timeline gets an `account` entry saying what
//! was done (never a secret), in the same transaction as the action. Staff mistakes are
//! answers ([`StaffAnswer::Refused`] with a sentence for the page), not errors.

use super::*;
use crate::store::email_undeliverable;
use crate::store::staff::StaffMember;
use crate::store::threads::{self, EventKind, NewEvent};

/// Who acts, and from which ticket: every audit line and timeline entry names them.
#[derive(Debug, Clone, Copy)]
pub struct StaffActor<'a> {
    pub member: &'a StaffMember,
    pub ticket: TicketId,
}

/// What the ticket page says after an action that worked (a code in the redirect, words on
/// the page). None of them holds a secret or a full contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    ResetSent,
    TemporaryTexted,
    TemporaryEmailed,
    AnswerMatches,
    AnswerDiffers,
    PhoneChanged,
    EmailChanged,
    Approved,
    Rejected,
    Unlocked,
    NothingLocked,
    Unfrozen,
}

impl Notice {
    const ALL: [Notice; 12] = [
        Notice::ResetSent,
        Notice::TemporaryTexted,
        Notice::TemporaryEmailed,
        Notice::AnswerMatches,
        Notice::AnswerDiffers,
        Notice::PhoneChanged,
        Notice::EmailChanged,
        Notice::Approved,
        Notice::Rejected,
        Notice::Unlocked,
        Notice::NothingLocked,
        Notice::Unfrozen,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Notice::ResetSent => "reset_sent",
            Notice::TemporaryTexted => "temporary_texted",
            Notice::TemporaryEmailed => "temporary_emailed",
            Notice::AnswerMatches => "answer_matches",
            Notice::AnswerDiffers => "answer_differs",
            Notice::PhoneChanged => "phone_changed",
            Notice::EmailChanged => "email_changed",
            Notice::Approved => "approved",
            Notice::Rejected => "rejected",
            Notice::Unlocked => "unlocked",
            Notice::NothingLocked => "nothing_locked",
            Notice::Unfrozen => "unfrozen",
        }
    }

    pub fn from_code(code: &str) -> Option<Notice> {
        Notice::ALL.into_iter().find(|n| n.code() == code)
    }

    /// The words staff read.
    pub fn text(self) -> &'static str {
        match self {
            Notice::ResetSent => "A reset link was sent to the email on record.",
            Notice::TemporaryTexted => {
                "A temporary password was texted to the phone on record. You cannot see it: \
                 the contractor reads it on their phone."
            }
            Notice::TemporaryEmailed => {
                "A temporary password was emailed to the address on record. You cannot see it: \
                 the contractor reads it in their email."
            }
            Notice::AnswerMatches => "Security answer: matches.",
            Notice::AnswerDiffers => "Security answer: does not match.",
            Notice::PhoneChanged => {
                "The phone on record was changed. The old phone was told, and earlier reset \
                 links and temporary passwords no longer work."
            }
            Notice::EmailChanged => {
                "The email on record was changed. The old address was told, and earlier reset \
                 links and temporary passwords no longer work."
            }
            Notice::Approved => {
                "Registration approved: the contractor can sign in on the portal with their \
                 license number and the password they chose."
            }
            Notice::Rejected => "Registration rejected: the applicant was emailed a notice.",
            Notice::Unlocked => "Account unlocked: the contractor can try to sign in again.",
            Notice::NothingLocked => "The account was not locked: nothing to clear.",
            Notice::Unfrozen => "Account unfrozen: sign-ins and sends work again.",
        }
    }
}

/// Why staff's request was not carried out; each maps to one HTTP status in the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NoTicket,
    /// The ticket names no contractor (or no registration, for a decision).
    NoContractor,
    /// A field is wrong or missing.
    Invalid,
    /// The state does not allow it (frozen, undeliverable, already decided).
    Conflict,
    /// A budget or counter says wait.
    TooMany,
}

/// What an action came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffAnswer {
    Done(Notice),
    Refused(Refusal, String),
}

fn refused(why: Refusal, text: impl Into<String>) -> Result<StaffAnswer> {
    Ok(StaffAnswer::Refused(why, text.into()))
}

/// Where staff send a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StaffSend {
    /// A single-use reset link to the email on record.
    ResetLink,
    /// A temporary password by text to the phone on record.
    TemporaryBySms,
    /// A temporary password by email to the address on record.
    TemporaryByEmail,
}

/// What the ticket page shows about the account (masked), and which actions apply.
#[derive(Debug, Clone, Default)]
pub struct AccountFacts {
    pub contractor: Option<ContractorFacts>,
    pub registration: Option<RegistrationFacts>,
}

#[derive(Debug, Clone, Default)]
pub struct ContractorFacts {
    pub number: String,
    pub business: String,
    pub email: Option<String>,
    pub email_undeliverable: bool,
    pub phone: Option<String>,
    pub texts_stopped: bool,
    pub sms_enabled: bool,
    /// The security question, worded in English, when one is set.
    pub question: Option<String>,
    pub frozen: bool,
    /// The password or identity counter makes the contractor wait.
    pub locked: bool,
    /// Too many wrong security answers were checked lately.
    pub checks_waiting: bool,
}

#[derive(Debug, Clone, Default)]
pub struct RegistrationFacts {
    pub license: String,
    pub business: String,
    pub contact: String,
    pub phone: String,
    pub email: String,
    pub status: String,
}

/// Staff acting on the account of one ticket.
#[derive(Debug, Clone, Copy)]
pub struct StaffActions<'a> {
    pub(super) st: &'a RecoveryService,
    pub(super) by: StaffActor<'a>,
}

impl RecoveryService {
    /// The account actions of `by.ticket`, carried out by `by.member`.
    pub fn staff_actions<'a>(&'a self, by: StaffActor<'a>) -> StaffActions<'a> {
        StaffActions { st: self, by }
    }
}

impl Recovery<'_> {
    /// The audit line of a staff action (actor `staff:ID`, the name in the detail) and the
    /// ticket's timeline entry, in the caller's transaction. Neither holds a secret.
    pub(super) async fn staff_audit(
        &self,
        tx: &mut Tx,
        by: StaffActor<'_>,
        subject: &str,
        action: &str,
        detail: String,
        now: Millis,
    ) -> Result<()> {
        audit::append(
            tx,
            &AuditEvent {
                actor: &format!("staff:{}", by.member.id),
                action,
                subject,
                channel: Channel::Staff,
                detail: format!("{detail} (by {} on ticket #{})", by.member.name, by.ticket),
            },
            now,
        )
        .await?;
        let text = format!("{}: {detail}", action.replace('_', " "));
        threads::add_event(
            tx,
            &NewEvent {
                ticket: by.ticket,
                kind: EventKind::Account,
                author: &by.member.name,
                text: &text,
                message_id: None,
                outbox_id: None,
            },
            now,
        )
        .await?;
        Ok(())
    }
}

impl<'a> StaffActions<'a> {
    fn pool(&self) -> &sqlx::AnyPool {
        self.st.store.pool()
    }

    /// The recovery service in `lang`, acting as this staff member.
    pub(super) fn recovery(&self, lang: Lang) -> Recovery<'a> {
        Recovery {
            st: self.st,
            lang,
            staff: Some(self.by),
        }
    }

    /// The ticket's contractor and the service in their language, or the refusal.
    pub(super) async fn target(
        &self,
    ) -> Result<std::result::Result<(Recovery<'a>, Contractor), StaffAnswer>> {
        let Some(found) = tickets::contractor_of(self.pool(), self.by.ticket).await? else {
            return Ok(Err(StaffAnswer::Refused(
                Refusal::NoTicket,
                format!("There is no ticket #{}.", self.by.ticket),
            )));
        };
        let contractor = match found {
            Some(id) => contractors::by_id(self.pool(), id).await?,
            None => None,
        };
        let Some(contractor) = contractor else {
            return Ok(Err(StaffAnswer::Refused(
                Refusal::NoContractor,
                format!(
                    "Ticket #{} names no contractor, so there is no account to act on. Find the \
                     contractor in the roster and work from a ticket that names them.",
                    self.by.ticket
                ),
            )));
        };
        let lang = contractors::language(self.pool(), contractor.id)
            .await?
            .map_or(Lang::En, |code| Lang::from_stored(&code));
        Ok(Ok((self.recovery(lang), contractor)))
    }

    /// What the panel shows; `None` when there is no such ticket.
    pub async fn facts(&self) -> Result<Option<AccountFacts>> {
        let Some(found) = tickets::contractor_of(self.pool(), self.by.ticket).await? else {
            return Ok(None);
        };
        let mut facts = AccountFacts::default();
        if let Some(id) = found
            && let Some(c) = contractors::by_id(self.pool(), id).await?
        {
            facts.contractor = Some(self.contractor_facts(&c).await?);
        }
        facts.registration = registrations::by_ticket(self.pool(), self.by.ticket)
            .await?
            .map(|r| RegistrationFacts {
                phone: PhoneNumber::parse(&r.phone).map_or_else(|_| "***".into(), |p| p.masked()),
                email: mask_address(&r.email),
                license: r.license_number,
                business: r.business_name,
                contact: r.contact_name,
                status: r.status,
            });
        Ok(Some(facts))
    }

    async fn contractor_facts(&self, c: &Contractor) -> Result<ContractorFacts> {
        let email = c.fields.email_on_record();
        let phone = c.fields.phone_on_record();
        let account = accounts::by_contractor(self.pool(), c.id).await?;
        let guard = &self.st.guard;
        let number = &c.fields.contractor_number;
        let mut locked = false;
        for factor in [Factor::Password, Factor::Identity] {
            let state = guard
                .account_state(&contractor_subject(factor, number))
                .await?;
            locked |= matches!(state, AccountState::Waiting { .. });
        }
        let checks = guard
            .account_state(&crate::guard::security_check_subject(number))
            .await?;
        Ok(ContractorFacts {
            number: number.clone(),
            business: c.fields.business_name.clone(),
            email_undeliverable: match &email {
                Some(e) => email_undeliverable::is_undeliverable(self.pool(), e.as_str()).await?,
                None => false,
            },
            email: email.map(|e| e.masked()),
            texts_stopped: match &phone {
                Some(p) => crate::store::sms_opt_outs::is_stopped(self.pool(), p.as_str()).await?,
                None => false,
            },
            phone: phone.map(|p| p.masked()),
            sms_enabled: self.st.settings.twilio.sms_enabled,
            question: account
                .as_ref()
                .filter(|a| a.security_answer_hash.is_some())
                .and_then(|a| a.security_question.as_deref())
                .map(|q| {
                    questions::QUESTIONS
                        .iter()
                        .find(|(id, _, _)| *id == q)
                        .map_or_else(|| q.to_string(), |(_, en, _)| (*en).to_string())
                }),
            frozen: account.as_ref().is_some_and(Account::is_frozen),
            locked,
            checks_waiting: matches!(checks, AccountState::Waiting { .. }),
        })
    }

    /// Sends a reset link or a temporary password to a contact on record, within the send
    /// budgets; staff never see the secret.
    pub async fn send(&self, what: StaffSend) -> Result<StaffAnswer> {
        let (r, c) = match self.target().await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        if accounts::by_contractor(self.pool(), c.id)
            .await?
            .is_some_and(|a| a.is_frozen())
        {
            return refused(
                Refusal::Conflict,
                "The account is frozen after \"this wasn't me\": nothing can be sent until it is \
                 unfrozen. Call the contractor back on the phone on record first.",
            );
        }
        let outcome = match what {
            StaffSend::ResetLink | StaffSend::TemporaryByEmail => {
                let Some(email) = c.fields.email_on_record() else {
                    return refused(
                        Refusal::Invalid,
                        "There is no email on record for this contractor: send a temporary \
                         password by text, or update the email on record first.",
                    );
                };
                if email_undeliverable::is_undeliverable(self.pool(), email.as_str()).await? {
                    return refused(
                        Refusal::Conflict,
                        format!(
                            "Mail to the email on record ({}) bounced, so Helpline sends it \
                             nothing: send by text, or update the email on record once the \
                             contractor confirms a working address.",
                            email.masked()
                        ),
                    );
                }
                if what == StaffSend::ResetLink {
                    r.send_reset_link(&c, Channel::Staff, LinkKind::Reset)
                        .await?
                } else {
                    r.send_temporary_password_by_email(&c, &email).await?
                }
            }
            StaffSend::TemporaryBySms => {
                if !self.st.settings.twilio.sms_enabled {
                    return refused(
                        Refusal::Conflict,
                        "Texts are turned off on this Helpline: send by email instead.",
                    );
                }
                let Some(phone) = c.fields.phone_on_record() else {
                    return refused(
                        Refusal::Invalid,
                        "There is no mobile phone on record for this contractor: send by email, \
                         or update the phone on record first.",
                    );
                };
                if r.texts_stopped_to(&phone).await? {
                    return refused(
                        Refusal::Conflict,
                        format!(
                            "The phone on record ({}) texted STOP, so Helpline cannot text it \
                             until the contractor texts START to the help line: send by email \
                             instead.",
                            phone.masked()
                        ),
                    );
                }
                r.send_temporary_password(&c, Channel::Staff).await?
            }
        };
        Ok(match outcome {
            SendOutcome::Sent { .. } => StaffAnswer::Done(match what {
                StaffSend::ResetLink => Notice::ResetSent,
                StaffSend::TemporaryBySms => Notice::TemporaryTexted,
                StaffSend::TemporaryByEmail => Notice::TemporaryEmailed,
            }),
            SendOutcome::TooSoon => StaffAnswer::Refused(
                Refusal::TooMany,
                "Not sent: a secret went to this account or this destination less than 5 \
                 minutes ago, or 5 times today already. Ask the contractor to use the one \
                 already sent, wait a few minutes, or choose the other contact on record."
                    .into(),
            ),
            SendOutcome::NoDestination => StaffAnswer::Refused(
                Refusal::Conflict,
                "Not sent: the destination stopped accepting messages or the account was \
                 frozen just now. Reload the ticket and check the contacts on record."
                    .into(),
            ),
        })
    }

    /// Checks what the caller says against the security answer: matches or does not. The
    /// typed answer is never stored, logged or shown; wrong checks count on their own counter.
    pub async fn check_answer(&self, typed: &SecretString) -> Result<StaffAnswer> {
        let (r, c) = match self.target().await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        let typed = typed.expose_secret();
        if typed.trim().is_empty() {
            return refused(Refusal::Invalid, "Type the answer the caller gives.");
        }
        if typed.chars().count() > 200 || typed.chars().any(char::is_control) {
            return refused(
                Refusal::Invalid,
                "The answer is longer than 200 characters or holds a control character.",
            );
        }
        let account = accounts::by_contractor(self.pool(), c.id).await?;
        let Some(hash) = account.and_then(|a| a.security_answer_hash) else {
            return refused(
                Refusal::Conflict,
                "This contractor has not set a security question yet: verify the caller another \
                 way (call back the phone on record).",
            );
        };
        let subject = crate::guard::security_check_subject(&c.fields.contractor_number);
        if let AccountState::Waiting { .. } = self.st.guard.account_state(&subject).await? {
            return refused(
                Refusal::TooMany,
                "Too many checks of the security answer: use another way to verify the caller \
                 (call back the phone on record), or try again later.",
            );
        }
        let normal = SecretString::from(questions::normalize_answer(typed));
        let matches = self.st.hasher.verify(Some(&hash), &normal).await?;
        if !matches {
            // Its own counter: never the password's or the identity check's.
            self.st.guard.record_failure(&subject).await?;
        }
        let now = r.now();
        let mut tx = self.st.store.begin_write().await?;
        let result = if matches { "matches" } else { "does not match" };
        r.audit(
            &mut tx,
            &c,
            "security_answer_checked",
            Channel::Staff,
            format!("answer {result}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(StaffAnswer::Done(if matches {
            Notice::AnswerMatches
        } else {
            Notice::AnswerDiffers
        }))
    }

    /// Clears the password and identity lockouts of the ticket's contractor.
    pub async fn unlock(&self) -> Result<StaffAnswer> {
        let (r, c) = match self.target().await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        let now = r.now();
        let mut tx = self.st.store.begin_write().await?;
        let mut cleared = Vec::new();
        for factor in [Factor::Password, Factor::Identity] {
            let subject = contractor_subject(factor, &c.fields.contractor_number);
            let waiting = matches!(
                self.st.guard.account_state(&subject).await?,
                AccountState::Waiting { .. }
            );
            if crate::guard::clear_in(&mut tx, &subject).await? && waiting {
                cleared.push(subject);
            }
        }
        let detail = if cleared.is_empty() {
            "no lockout was active; failure counters cleared".to_string()
        } else {
            format!("lockout cleared ({})", cleared.join(", "))
        };
        r.audit(&mut tx, &c, "account_unlocked", Channel::Staff, detail, now)
            .await?;
        tx.commit().await?;
        Ok(StaffAnswer::Done(if cleared.is_empty() {
            Notice::NothingLocked
        } else {
            Notice::Unlocked
        }))
    }

    /// Lifts a "this wasn't me" freeze; `confirmed` is the page's checkbox.
    pub async fn unfreeze(&self, confirmed: bool) -> Result<StaffAnswer> {
        let (r, c) = match self.target().await? {
            Ok(found) => found,
            Err(answer) => return Ok(answer),
        };
        if !confirmed {
            return refused(
                Refusal::Invalid,
                "Tick the box to confirm you reached the contractor on the phone on record \
                 before unfreezing.",
            );
        }
        let Some(account) = accounts::by_contractor(self.pool(), c.id).await? else {
            return refused(
                Refusal::Conflict,
                "This contractor has no account to unfreeze.",
            );
        };
        let now = r.now();
        let mut tx = self.st.store.begin_write().await?;
        if !accounts::unfreeze(&mut tx, account.id, now).await? {
            tx.rollback().await?;
            return refused(Refusal::Conflict, "The account is not frozen.");
        }
        r.audit(
            &mut tx,
            &c,
            "account_unfrozen",
            Channel::Staff,
            "freeze lifted after a call back".into(),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(StaffAnswer::Done(Notice::Unfrozen))
    }
}
