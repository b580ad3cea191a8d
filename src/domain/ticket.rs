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
}

/// How soon staff should look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Priority {
    Urgent,
    Normal,
}

impl TicketKind {
    pub const ALL: [TicketKind; 4] = [
        TicketKind::Registration,
        TicketKind::NotMe,
        TicketKind::Undeliverable,
        TicketKind::PhoneCall,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            TicketKind::Registration => "registration",
            TicketKind::NotMe => "not_me",
            TicketKind::Undeliverable => "undeliverable",
            TicketKind::PhoneCall => "phone_call",
        }
    }

    /// The kind of a stored name.
    pub fn parse(name: &str) -> Option<TicketKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Written once: a possible account takeover is urgent, the rest is normal.
    pub fn priority(self) -> Priority {
        match self {
            TicketKind::NotMe => Priority::Urgent,
            TicketKind::Registration | TicketKind::Undeliverable | TicketKind::PhoneCall => {
                Priority::Normal
            }
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
