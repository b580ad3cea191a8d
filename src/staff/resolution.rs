//! How a ticket was settled: a closed set of codes staff choose from, stored by name in
//! `tickets.resolution`, so reports can count them.

/// Why staff resolved a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Resolution {
    PasswordSent,
    ResetLinkSent,
    ContactUpdated,
    RegistrationDecided,
    Unlocked,
    Answered,
    Duplicate,
    NoResponse,
    /// Anything else: a note must say what.
    Other,
}

impl Resolution {
    pub const ALL: [Resolution; 9] = [
        Resolution::PasswordSent,
        Resolution::ResetLinkSent,
        Resolution::ContactUpdated,
        Resolution::RegistrationDecided,
        Resolution::Unlocked,
        Resolution::Answered,
        Resolution::Duplicate,
        Resolution::NoResponse,
        Resolution::Other,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::PasswordSent => "password_sent",
            Resolution::ResetLinkSent => "reset_link_sent",
            Resolution::ContactUpdated => "contact_updated",
            Resolution::RegistrationDecided => "registration_decided",
            Resolution::Unlocked => "unlocked",
            Resolution::Answered => "answered",
            Resolution::Duplicate => "duplicate",
            Resolution::NoResponse => "no_response",
            Resolution::Other => "other",
        }
    }

    /// The code as staff read it.
    pub fn words(self) -> &'static str {
        match self {
            Resolution::PasswordSent => "Temporary password sent",
            Resolution::ResetLinkSent => "Reset link sent",
            Resolution::ContactUpdated => "Contact on record updated",
            Resolution::RegistrationDecided => "Registration approved or rejected",
            Resolution::Unlocked => "Account unlocked",
            Resolution::Answered => "Question answered",
            Resolution::Duplicate => "Duplicate of another ticket",
            Resolution::NoResponse => "No response from the contractor",
            Resolution::Other => "Other (say what in the note)",
        }
    }

    /// The code of a stored or submitted name (exactly as written).
    pub fn parse(name: &str) -> Option<Resolution> {
        Self::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Only `other` needs a note to say what happened.
    pub fn needs_note(self) -> bool {
        self == Resolution::Other
    }
}

impl std::fmt::Display for Resolution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_only_other_needs_a_note() {
        for r in Resolution::ALL {
            assert_eq!(Resolution::parse(r.as_str()), Some(r));
            assert!(!r.words().is_empty());
        }
        assert_eq!(Resolution::parse("Answered"), None);
        assert_eq!(Resolution::parse(""), None);
        assert!(Resolution::Other.needs_note());
        assert!(!Resolution::Answered.needs_note());
    }
}
