//! A contact on record: where a secret may go. A phone is E.164 and an email normalised, so
//! "is this the contractor's contact?" is one comparison of parsed values, answered by
//! `RosterFields::on_record` in the store.

use super::email::EmailAddress;
use super::phone::PhoneNumber;

/// A parsed phone number or email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contact {
    Phone(PhoneNumber),
    Email(EmailAddress),
}

impl Contact {
    /// A message's recipient as stored in the outbox (an E.164 number or an address), or
    /// `None` when it is neither.
    pub fn parse(recipient: &str) -> Option<Contact> {
        if recipient.contains('@') {
            EmailAddress::parse(recipient).ok().map(Contact::Email)
        } else {
            PhoneNumber::parse(recipient).ok().map(Contact::Phone)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_parse_as_what_they_are() {
        assert!(matches!(
            Contact::parse("+13035550142"),
            Some(Contact::Phone(_))
        ));
        assert!(matches!(
            Contact::parse("Pat@Example.com"),
            Some(Contact::Email(_))
        ));
        assert_eq!(Contact::parse("not a contact"), None);
        assert_eq!(Contact::parse(""), None);
    }
}
