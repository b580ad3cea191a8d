//! Where a request came from or a message goes: one name per channel, written to the audit
//! log, tickets and links. The strings are the stored form; nothing else spells them.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// The portal pages in a browser.
    Web,
    /// The walk-up kiosk ("I can't log in").
    Kiosk,
    /// The phone line.
    Voice,
    /// Text messages.
    Sms,
    /// Email, in or out.
    Email,
    /// Building Division staff, on the staff pages.
    Staff,
    /// Building Division staff through the JSON API (`/api/v1/`, bearer tokens).
    Api,
    /// The command line (roster import, `staff add`, `demo`).
    Cli,
}

impl Channel {
    pub const ALL: [Channel; 8] = [
        Channel::Web,
        Channel::Kiosk,
        Channel::Voice,
        Channel::Sms,
        Channel::Email,
        Channel::Staff,
        Channel::Api,
        Channel::Cli,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Web => "web",
            Channel::Kiosk => "kiosk",
            Channel::Voice => "voice",
            Channel::Sms => "sms",
            Channel::Email => "email",
            Channel::Staff => "staff",
            Channel::Api => "api",
            Channel::Cli => "cli",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored channel name that Helpline does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown channel '{0}'")]
pub struct UnknownChannel(pub String);

impl FromStr for Channel {
    type Err = UnknownChannel;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| UnknownChannel(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_reads_back_from_its_name() {
        for c in Channel::ALL {
            assert_eq!(c.to_string().parse::<Channel>(), Ok(c));
        }
        assert!("fax".parse::<Channel>().is_err());
    }
}
