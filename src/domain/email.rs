//! Email addresses on record. Parsing is lettre's (RFC 5321 address rules); this adds
//! normalisation (trimmed, domain lower-cased) and masking for logs.

use std::fmt;

/// A syntactically valid email address, with its domain lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("is not an email address")]
pub struct EmailError;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim();
        let addr: lettre::Address = trimmed.parse().map_err(|_| EmailError)?;
        if !addr.domain().contains('.') && addr.domain() != "localhost" {
            return Err(EmailError);
        }
        Ok(Self(format!(
            "{}@{}",
            addr.user(),
            addr.domain().to_ascii_lowercase()
        )))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `j***@example.com`: enough for staff and logs to tell addresses apart, not to use them.
    pub fn masked(&self) -> String {
        mask_address(&self.0)
    }
}

/// Masks any address-like text; used where the recipient is only a string (the outbox).
pub fn mask_address(addr: &str) -> String {
    match addr.split_once('@') {
        Some((user, domain)) => {
            let first: String = user.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None if addr.starts_with('+') && addr.len() > 4 => {
            format!("***-***-{}", &addr[addr.len() - 4..])
        }
        None => "***".to_string(),
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_normalises() {
        assert_eq!(
            EmailAddress::parse(" Pat@Example.COM ").unwrap().as_str(),
            "Pat@example.com"
        );
        assert!(EmailAddress::parse("pat@").is_err());
        assert!(EmailAddress::parse("pat example.com").is_err());
        assert!(EmailAddress::parse("pat@nodot").is_err());
    }

    #[test]
    fn masks() {
        assert_eq!(mask_address("pat@example.com"), "p***@example.com");
        assert_eq!(mask_address("+13036582075"), "***-***-2075");
    }
}
