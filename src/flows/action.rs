//! The closed set of things a flow may ask the channel adapter to do, and what each can answer.
//! A flow names an action by its snake_case name; the adapter runs it (through the recovery
//! service) and feeds the answer back as an [`ActionOutcome`]. Validation uses
//! [`Action::outcomes`] to demand a way on for every answer.

use std::fmt;
use std::str::FromStr;

use super::FlowKind;

/// Something the adapter does on a flow's behalf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Action {
    /// Voice: the digits just collected are the contractor or license number; keep them for the
    /// call (unknown numbers too: nothing tells the caller). → `ok`
    RememberNumber,
    /// Voice: the caller ID equals the phone on record and STIR/SHAKEN attests it with `A`.
    /// → `verified`, else `ask_phone`
    CallerId,
    /// Voice: the digits just collected are the phone on record. Unknown number, wrong phone and
    /// locked account are all `refused`. → `verified` / `refused`
    VerifyPhone,
    /// Voice: a temporary password by SMS to the mobile on record. → `sent` / `not_sent`
    SendSms,
    /// Voice: a reset link to the email on record. → `sent` / `not_sent`
    SendEmail,
    /// Voice: place a call to the phone on record that reads a temporary password.
    /// → `placed` / `not_sent`
    Callback,
    /// Voice, on that callback call: issue the temporary password and fill the `{secret}` slot
    /// (read in groups, letters spelled phonetically). → `ok`
    ReadSecret,
    /// Voice: staff answer now (office hours) or not. → `dial` / `record`
    Escalate,
    /// Voice: transfer the caller to the staff line (`<Dial>` with a timeout); the outcome comes
    /// with Twilio's dial callback. → `answered` / `no_answer`
    DialStaff,
    /// Voice: open (or add to) the call's ticket with its context. → `ok`
    Ticket,
    /// SMS: RESET and a number; a temporary password to the mobile on record when the texting
    /// number is that mobile. → `sent` / `not_sent` / `refused`
    SmsReset,
    /// SMS: HELP. → `ok`
    SmsHelp,
    /// SMS: STOP, remembered. → `ok`
    SmsStop,
    /// SMS: START, remembered. → `ok`
    SmsStart,
}

/// What an action answered; routed by the state's `on` table under [`ActionOutcome::as_str`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ActionOutcome {
    Ok,
    Verified,
    AskPhone,
    Refused,
    Sent,
    NotSent,
    Placed,
    Dial,
    Record,
    Answered,
    NoAnswer,
}

impl ActionOutcome {
    pub const ALL: [ActionOutcome; 11] = [
        ActionOutcome::Ok,
        ActionOutcome::Verified,
        ActionOutcome::AskPhone,
        ActionOutcome::Refused,
        ActionOutcome::Sent,
        ActionOutcome::NotSent,
        ActionOutcome::Placed,
        ActionOutcome::Dial,
        ActionOutcome::Record,
        ActionOutcome::Answered,
        ActionOutcome::NoAnswer,
    ];

    /// The name an `on` table uses.
    pub fn as_str(self) -> &'static str {
        match self {
            ActionOutcome::Ok => "ok",
            ActionOutcome::Verified => "verified",
            ActionOutcome::AskPhone => "ask_phone",
            ActionOutcome::Refused => "refused",
            ActionOutcome::Sent => "sent",
            ActionOutcome::NotSent => "not_sent",
            ActionOutcome::Placed => "placed",
            ActionOutcome::Dial => "dial",
            ActionOutcome::Record => "record",
            ActionOutcome::Answered => "answered",
            ActionOutcome::NoAnswer => "no_answer",
        }
    }
}

impl fmt::Display for ActionOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Action {
    pub const ALL: [Action; 14] = [
        Action::RememberNumber,
        Action::CallerId,
        Action::VerifyPhone,
        Action::SendSms,
        Action::SendEmail,
        Action::Callback,
        Action::ReadSecret,
        Action::Escalate,
        Action::DialStaff,
        Action::Ticket,
        Action::SmsReset,
        Action::SmsHelp,
        Action::SmsStop,
        Action::SmsStart,
    ];

    /// The name a flow file uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::RememberNumber => "remember_number",
            Action::CallerId => "caller_id",
            Action::VerifyPhone => "verify_phone",
            Action::SendSms => "send_sms",
            Action::SendEmail => "send_email",
            Action::Callback => "callback",
            Action::ReadSecret => "read_secret",
            Action::Escalate => "escalate",
            Action::DialStaff => "dial_staff",
            Action::Ticket => "ticket",
            Action::SmsReset => "sms_reset",
            Action::SmsHelp => "sms_help",
            Action::SmsStop => "sms_stop",
            Action::SmsStart => "sms_start",
        }
    }

    /// Every outcome the action can answer; each needs a way on in the state's `on` table.
    pub fn outcomes(self) -> &'static [ActionOutcome] {
        use ActionOutcome as O;
        match self {
            Action::RememberNumber
            | Action::Ticket
            | Action::SmsHelp
            | Action::SmsStop
            | Action::SmsStart => &[O::Ok],
            Action::CallerId => &[O::Verified, O::AskPhone],
            Action::VerifyPhone => &[O::Verified, O::Refused],
            Action::SendSms | Action::SendEmail => &[O::Sent, O::NotSent],
            Action::Callback => &[O::Placed, O::NotSent],
            // Not sent: the call back is no longer live or the account was frozen meanwhile.
            Action::ReadSecret => &[O::Ok, O::NotSent],
            Action::Escalate => &[O::Dial, O::Record],
            Action::DialStaff => &[O::Answered, O::NoAnswer],
            Action::SmsReset => &[O::Sent, O::NotSent, O::Refused],
        }
    }

    /// The flow (voice or SMS) whose adapter implements the action.
    pub fn kind(self) -> FlowKind {
        match self {
            Action::SmsReset | Action::SmsHelp | Action::SmsStop | Action::SmsStart => {
                FlowKind::Sms
            }
            _ => FlowKind::Voice,
        }
    }

    /// The outcomes after which a secret is on its way (or being read): the prompt that follows
    /// must state the secret's lifetime (the `{minutes}` slot).
    pub fn secret_outcomes(self) -> &'static [ActionOutcome] {
        use ActionOutcome as O;
        match self {
            Action::SendSms | Action::SendEmail | Action::SmsReset => &[O::Sent],
            Action::Callback => &[O::Placed],
            Action::ReadSecret => &[O::Ok],
            _ => &[],
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of [`Action::ALL`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownAction(pub String);

impl fmt::Display for UnknownAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let known: Vec<&str> = Action::ALL.iter().map(|a| a.as_str()).collect();
        write!(
            f,
            "unknown action '{}' (the actions are: {})",
            self.0,
            known.join(", ")
        )
    }
}

impl FromStr for Action {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| UnknownAction(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_outcomes_are_known() {
        for a in Action::ALL {
            assert_eq!(a.as_str().parse::<Action>(), Ok(a));
            assert!(!a.outcomes().is_empty(), "{a}");
            for o in a.secret_outcomes() {
                assert!(a.outcomes().contains(o), "{a} {o}");
            }
        }
        let err = "reset_everything".parse::<Action>().unwrap_err();
        assert!(err.to_string().contains("reset_everything"), "{err}");
        assert!(err.to_string().contains("verify_phone"), "{err}");
    }
}
