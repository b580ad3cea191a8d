//! The voice flow's actions, each a call of the recovery service, and the words a prompt's
//! slots are filled with. What a caller keyed in reaches the service and the store only; it
//! is never logged.

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::spell::spell;
use super::voice::{CallState, VoiceError};
use crate::app::AppState;
use crate::domain::channel::Channel;
use crate::domain::conversation::{Check, Checks, ConversationKey};
use crate::domain::ids::{ContractorId, TicketId};
use crate::domain::language::Lang;
use crate::domain::phone::PhoneNumber;
use crate::flows::{Action, ActionOutcome, OnRecord, Slot, Slots};
use crate::guard::Source;
use crate::recovery::callback::CallbackOutcome;
use crate::recovery::phone_line::{CallContext, mask_number};
use crate::recovery::{Destination, SendOutcome, Verified};

/// What the call learned, kept between webhooks (inside the conversation's state).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CallFacts {
    /// The caller ID as Twilio gave it (a claim, not proof).
    pub from: String,
    /// STIR/SHAKEN's verdict on it.
    pub stir: Option<String>,
    /// The contractor or license number keyed in.
    pub number: Option<String>,
    /// Once verified: the email on record, masked.
    pub email: Option<String>,
    /// Once verified, and when texts are on: the mobile on record, masked.
    pub mobile: Option<String>,
    /// Once verified, and when calls are on: the phone on record for a call back, masked.
    #[serde(default)]
    pub callback: Option<String>,
    /// On a call back: its conversation key (`cb-…`), which its webhooks' URLs carry because
    /// the call's own CallSid names nothing here.
    #[serde(default)]
    pub via: Option<String>,
    /// On a call back: the temporary password was made (it is derived again to be read; it
    /// is never stored).
    #[serde(default)]
    pub secret_issued: bool,
    /// Where the secret just went, as said to the caller, and for how many minutes it works.
    pub destination: Option<String>,
    pub minutes: Option<u64>,
    /// The caller's recorded message.
    pub recording: Option<String>,
    /// The call's ticket, once staff were asked in.
    pub ticket: Option<TicketId>,
}

impl CallFacts {
    pub fn new(from: &str, stir: Option<&str>) -> CallFacts {
        CallFacts {
            from: from.chars().take(32).collect(),
            stir: stir.map(|s| s.chars().take(64).collect()),
            ..CallFacts::default()
        }
    }

    /// What the caller may choose among: only what is on record, only once verified.
    pub fn on_record(&self) -> OnRecord {
        OnRecord {
            mobile: self.mobile.is_some(),
            email: self.email.is_some(),
            phone: self.callback.is_some(),
        }
    }

    fn verified(&mut self, v: &Verified) {
        self.email = v.email.clone();
        self.mobile = v.phone.clone();
        self.callback = v.callback.clone();
    }
}

/// One action's run: the app, the call's language, and what it may change.
pub(super) struct Call<'a> {
    pub st: &'a AppState,
    pub lang: Lang,
    pub facts: &'a mut CallFacts,
    pub contractor: &'a mut Option<ContractorId>,
    pub checks: &'a mut Checks,
    pub mismatches: &'a mut u32,
}

/// The outcome of a transfer to staff, from Twilio's `DialCallStatus`.
pub(super) fn dial_outcome(answered: bool) -> ActionOutcome {
    if answered {
        ActionOutcome::Answered
    } else {
        ActionOutcome::NoAnswer
    }
}

impl Call<'_> {
    pub async fn run(
        &mut self,
        action: Action,
        accepted: Option<&str>,
    ) -> Result<ActionOutcome, VoiceError> {
        let recovery = self.st.recovery_in(self.lang);
        Ok(match action {
            Action::RememberNumber => {
                let typed = accepted.unwrap_or_default().to_string();
                *self.contractor = recovery.contractor_for_number(&typed).await?;
                *self.checks = Checks::NONE;
                if self.contractor.is_some() {
                    self.checks.insert(Check::Number);
                }
                self.facts.number = Some(typed);
                ActionOutcome::Ok
            }
            Action::CallerId => {
                let found = match *self.contractor {
                    Some(c) => {
                        recovery
                            .verify_caller_id(c, &self.facts.from, self.facts.stir.as_deref())
                            .await?
                    }
                    None => None,
                };
                match found {
                    Some(v) => {
                        self.checks.insert(Check::Phone);
                        self.facts.verified(&v);
                        ActionOutcome::Verified
                    }
                    None => ActionOutcome::AskPhone,
                }
            }
            Action::VerifyPhone => {
                let number = self.facts.number.clone().unwrap_or_default();
                let phone = accepted.unwrap_or_default();
                let source = Source::CallingNumber(self.facts.from.clone());
                match recovery.verify_identity(&number, phone, &source).await? {
                    Some(v) => {
                        *self.contractor = Some(v.contractor_id);
                        *self.checks = Checks::of(&[Check::Number, Check::Phone]);
                        self.facts.verified(&v);
                        ActionOutcome::Verified
                    }
                    None => {
                        *self.mismatches += 1;
                        ActionOutcome::Refused
                    }
                }
            }
            Action::SendSms => self.send(Destination::Sms).await?,
            Action::SendEmail => self.send(Destination::Email).await?,
            Action::Callback => self.callback().await?,
            Action::ReadSecret => self.read_secret().await?,
            Action::Escalate => {
                if staff_answering(self.st) {
                    ActionOutcome::Dial
                } else {
                    ActionOutcome::Record
                }
            }
            Action::Ticket => {
                match (self.facts.ticket, self.facts.recording.clone()) {
                    (Some(ticket), Some(recording)) => {
                        recovery.add_recording(ticket, &recording).await?;
                    }
                    (Some(_), None) => {}
                    (None, recording) => {
                        let context = self.context(recording);
                        self.facts.ticket = Some(recovery.escalate_call(&context).await?);
                    }
                }
                ActionOutcome::Ok
            }
            Action::DialStaff
            | Action::SmsReset
            | Action::SmsHelp
            | Action::SmsStop
            | Action::SmsStart => return Err(VoiceError::NotOnThisChannel("phone line", action)),
        })
    }

    /// Sends to the chosen contact on record, only for a verified caller.
    async fn send(&mut self, to: Destination) -> Result<ActionOutcome, VoiceError> {
        let (Some(contractor), true) = (*self.contractor, self.checks.contains(Check::Phone))
        else {
            return Ok(ActionOutcome::NotSent);
        };
        let recovery = self.st.recovery_in(self.lang);
        match recovery
            .send_recovery(contractor, to, Channel::Voice)
            .await?
        {
            SendOutcome::Sent { to: masked } => {
                let words = self.st.flows.words();
                let (key, tail, lifetime) = match to {
                    Destination::Sms => (
                        "voice_dest_mobile",
                        spaced(&last_digits(&masked, 4)),
                        self.st.settings.temporary_password_lifetime,
                    ),
                    Destination::Email => (
                        "voice_dest_email",
                        masked
                            .split_once('@')
                            .map_or(String::new(), |(_, d)| d.to_string()),
                        self.st.settings.reset_link_lifetime,
                    ),
                };
                let lead = words.render(self.lang, key, &Slots::new());
                self.facts.destination = Some(format!("{lead} {tail}"));
                self.facts.minutes = Some(lifetime.as_secs() / 60);
                Ok(ActionOutcome::Sent)
            }
            SendOutcome::NoDestination | SendOutcome::TooSoon => Ok(ActionOutcome::NotSent),
        }
    }

    /// Queues a call back to the phone on record, only for a verified caller. The call back
    /// is a conversation of its own, starting at the flow's `callback` entry.
    async fn callback(&mut self) -> Result<ActionOutcome, VoiceError> {
        let (Some(contractor), true) = (*self.contractor, self.checks.contains(Check::Phone))
        else {
            return Ok(ActionOutcome::NotSent);
        };
        let first = self
            .st
            .flows
            .voice()
            .begin("callback", self.lang, OnRecord::NOTHING)?;
        let state = CallState {
            cursor: first.cursor,
            seq: 0,
            facts: CallFacts::default(),
            last: String::new(),
        };
        let recovery = self.st.recovery_in(self.lang);
        match recovery
            .place_callback(contractor, &serde_json::to_string(&state)?)
            .await?
        {
            CallbackOutcome::Placed(placed) => {
                let lead = self.words("voice_dest_phone");
                let tail = spaced(&last_digits(&placed.to, 4));
                self.facts.destination = Some(format!("{lead} {tail}"));
                let lifetime = self.st.settings.temporary_password_lifetime;
                self.facts.minutes = Some(lifetime.as_secs() / 60);
                Ok(ActionOutcome::Placed)
            }
            CallbackOutcome::NoDestination | CallbackOutcome::TooSoon => Ok(ActionOutcome::NotSent),
        }
    }

    /// Someone on the phone on record pressed 1 on a call back: its temporary password is
    /// made (once per call back) for the next prompt to read.
    async fn read_secret(&mut self) -> Result<ActionOutcome, VoiceError> {
        let Some(key) = self.facts.via.as_deref().and_then(ConversationKey::plain) else {
            return Ok(ActionOutcome::NotSent);
        };
        if self.facts.secret_issued {
            return Ok(ActionOutcome::Ok);
        }
        let recovery = self.st.recovery_in(self.lang);
        match recovery.issue_callback_password(&key).await? {
            Some(lifetime) => {
                self.facts.secret_issued = true;
                self.facts.minutes = Some(lifetime.as_secs() / 60);
                Ok(ActionOutcome::Ok)
            }
            None => Ok(ActionOutcome::NotSent),
        }
    }

    fn words(&self, key: &str) -> String {
        self.st.flows.words().render(self.lang, key, &Slots::new())
    }

    fn context(&self, recording: Option<String>) -> CallContext {
        context(
            *self.contractor,
            *self.checks,
            *self.mismatches,
            self.facts,
            recording,
        )
    }
}

/// What staff get in the call's ticket.
pub(super) fn context(
    contractor: Option<ContractorId>,
    checks: Checks,
    mismatches: u32,
    facts: &CallFacts,
    recording: Option<String>,
) -> CallContext {
    let reason = if mismatches > 0 {
        format!("the caller could not be verified ({mismatches} mismatches)")
    } else if checks.contains(Check::Phone) {
        "a verified caller asked for staff".to_string()
    } else {
        "the caller asked for staff or did not answer".to_string()
    };
    CallContext {
        contractor,
        callback_number: facts.from.clone(),
        number_entered: facts.number.as_deref().map(mask_number),
        checks: checks.to_string(),
        mismatches,
        reason,
        recording,
    }
}

/// Whether a transfer to staff can be tried now: a staff line is configured and, when the
/// city set `[staff] hours`, it is open now in the city's time zone (holidays closed).
pub(super) fn staff_answering(st: &AppState) -> bool {
    st.hours.answering(&st.settings, st.clock.now_ms())
}

/// The values prompts may use, in `lang`. On a call back whose password was made, the
/// password itself, spelled: this answer then must not be kept (see `CallState::last`).
pub(super) fn slots(st: &AppState, lang: Lang, facts: &CallFacts) -> Slots {
    let mut s = Slots::new().with(Slot::City, st.settings.city.name.clone());
    if let (true, Some(key)) = (
        facts.secret_issued,
        facts.via.as_deref().and_then(ConversationKey::plain),
    ) {
        let secret = st.recovery.in_lang(lang).callback_password(&key);
        s.set(
            Slot::Secret,
            spell(st.flows.words(), lang, secret.expose_secret()),
        );
    }
    if let Some(n) = &facts.number {
        s.set(Slot::Digits, spaced(n));
    }
    if let Some(d) = &facts.destination {
        s.set(Slot::Destination, d.clone());
    }
    if let Some(m) = facts.minutes {
        s.set(Slot::Minutes, m.to_string());
    }
    match st.hours.text(&st.settings, lang) {
        Some(h) => s.set(Slot::OfficeHours, h),
        None => s.set(
            Slot::OfficeHours,
            st.flows
                .words()
                .render(lang, "voice_hours_unset", &Slots::new()),
        ),
    }
    if let Some(line) = st
        .settings
        .twilio
        .from
        .as_deref()
        .and_then(|f| PhoneNumber::parse(f).ok())
    {
        s.set(Slot::LineNumber, line.national());
    }
    s
}

/// Digits read one by one: "1, 9, 0, 0".
fn spaced(digits: &str) -> String {
    digits
        .chars()
        .map(String::from)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The last `n` digits of a masked number.
fn last_digits(masked: &str, n: usize) -> String {
    let digits: Vec<char> = masked.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(n)..].iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digits_are_read_one_by_one_and_masks_keep_their_tail() {
        assert_eq!(spaced("1900"), "1, 9, 0, 0");
        assert_eq!(spaced(""), "");
        assert_eq!(last_digits("***-***-2075", 4), "2075");
        assert_eq!(last_digits("12", 4), "12");
    }
}
