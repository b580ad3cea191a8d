//! What a case in the staff queue is about, and how urgent that makes it. The store keeps the
//! kind and priority as their names; the words staff read are the queue's own.

/// Why Helpline could not settle a case itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TicketKind {
    /// A registration that matched no roster entry: staff check the license.
    Registration,
    /// A contractor reports a credential change they did not make; the account is frozen.
    NotMe,
    /// A message could not be delivered after every retry.
    Undeliverable,
    /// A help line call staff must take over: the caller asked, could not be verified, or
    /// said nothing; with the call's context and any message left.
    PhoneCall,
    /// Twilio took a text but reported it `failed` or `undelivered`.
    SmsUndelivered,
    /// A callback Helpline placed was busy, not answered, or failed.
    CallbackUnanswered,
    /// A text or call was not sent: the daily cap on texts and calls (to one number, or in
    /// all) was reached. Several at once may mean someone is pumping the line.
    SendCapReached,
    /// An email to the help line bounced back for an address on record: staff fix the
    /// contact (the contractor cannot get reset links or notices there).
    EmailBounced,
    /// A person emailed the help line: a question, or a reset request from an address that is
    /// not the one on record. Staff read it and answer.
    EmailReceived,
}

/// How soon staff should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Urgent,
    Normal,
}

impl TicketKind {
    pub const ALL: [TicketKind; 9] = [
        TicketKind::Registration,
        TicketKind::NotMe,
        TicketKind::Undeliverable,
        TicketKind::PhoneCall,
        TicketKind::SmsUndelivered,
        TicketKind::CallbackUnanswered,
        TicketKind::SendCapReached,
        TicketKind::EmailBounced,
        TicketKind::EmailReceived,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Registration => "registration",
            TicketKind::NotMe => "not_me",
            TicketKind::Undeliverable => "undeliverable",
            TicketKind::PhoneCall => "phone_call",
            TicketKind::SmsUndelivered => "sms_undelivered",
            TicketKind::CallbackUnanswered => "callback_unanswered",
            TicketKind::SendCapReached => "send_cap_reached",
            TicketKind::EmailBounced => "email_bounced",
            TicketKind::EmailReceived => "email_received",
        }
    }

    /// The reason as staff read it in the queue.
    pub fn staff_words(self) -> &'static str {
        match self {
            TicketKind::Registration => "Unmatched registration",
            TicketKind::NotMe => "\"This wasn't me\"",
            TicketKind::Undeliverable => "Delivery failed",
            TicketKind::PhoneCall => "Phone call for staff",
            TicketKind::SmsUndelivered => "Text not delivered",
            TicketKind::CallbackUnanswered => "Callback not answered",
            TicketKind::SendCapReached => "Daily send limit reached",
            TicketKind::EmailBounced => "Email bounced",
            TicketKind::EmailReceived => "Email question",
        }
    }

    /// The kind of a stored name.
    pub fn parse(name: &str) -> Option<TicketKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Written once: a possible account takeover is urgent, the rest is normal. A reached
    /// send cap stays normal on purpose: during a pumping attack there may be many, and they
    /// must not bury a takeover report.
    pub fn priority(self) -> Priority {
        match self {
            TicketKind::NotMe => Priority::Urgent,
            TicketKind::Registration
            | TicketKind::Undeliverable
            | TicketKind::PhoneCall
            | TicketKind::SmsUndelivered
            | TicketKind::CallbackUnanswered
            | TicketKind::SendCapReached
            | TicketKind::EmailBounced
            | TicketKind::EmailReceived => Priority::Normal,
        }
    }
}

impl Priority {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Priority::Urgent => "urgent",
            Priority::Normal => "normal",
        }
    }
}

impl std::fmt::Display for TicketKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_only_a_takeover_is_urgent() {
        for k in TicketKind::ALL {
            assert_eq!(TicketKind::parse(k.as_str()), Some(k));
        }
        assert_eq!(TicketKind::parse("nope"), None);
        assert_eq!(TicketKind::NotMe.priority(), Priority::Urgent);
        assert_eq!(TicketKind::Registration.priority(), Priority::Normal);
    }
}
