//! Phone numbers on record, normalised to E.164 so that `(303) 658-2075`, `303.658.2075`,
//! `+1 303 658 2075` and `3036582075` are the same number.
//!
//! Rosters are North American, so NANP rules are checked exactly (area code and exchange start
//! with 2–9); a number written with `+` and another country code is accepted as E.164 when it
//! has 8 to 15 digits. A full libphonenumber port was not worth its metadata for that.

use std::fmt;

/// A phone number in E.164 form (`+13036582075`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("is empty")]
    Empty,
    #[error("has characters a phone number cannot have")]
    BadCharacters,
    #[error("has {0} digits; a US number has 10 (or 11 starting with 1)")]
    WrongLength(usize),
    #[error("area code cannot start with 0 or 1")]
    BadAreaCode,
    #[error("exchange (the three digits after the area code) cannot start with 0 or 1")]
    BadExchange,
    #[error("an international number must have 8 to 15 digits after the +")]
    BadInternational,
}

impl PhoneNumber {
    /// Parses any common US form, or `+` and an international E.164 number.
    pub fn parse(input: &str) -> Result<Self, PhoneError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(PhoneError::Empty);
        }
        let plus = trimmed.starts_with('+');
        let body = if plus { &trimmed[1..] } else { trimmed };
        let mut digits = String::with_capacity(15);
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' | '(' | ')' | '\u{a0}' => {}
                _ => return Err(PhoneError::BadCharacters),
            }
        }
        if plus && !digits.starts_with('1') {
            if (8..=15).contains(&digits.len()) && !digits.starts_with('0') {
                return Ok(Self(format!("+{digits}")));
            }
            return Err(PhoneError::BadInternational);
        }
        let national = match digits.len() {
            10 => digits.as_str(),
            11 if digits.starts_with('1') => &digits[1..],
            n => return Err(PhoneError::WrongLength(n)),
        };
        let bytes = national.as_bytes();
        if matches!(bytes[0], b'0' | b'1') {
            return Err(PhoneError::BadAreaCode);
        }
        if matches!(bytes[3], b'0' | b'1') {
            return Err(PhoneError::BadExchange);
        }
        Ok(Self(format!("+1{national}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits, for messages that must not reveal the number.
    pub fn last_four(&self) -> &str {
        &self.0[self.0.len().saturating_sub(4)..]
    }

    /// The number as people write it: `(303) 555-0199` for a North American number, E.164
    /// otherwise.
    pub fn national(&self) -> String {
        match self.0.strip_prefix("+1") {
            Some(n) if n.len() == 10 => format!("({}) {}-{}", &n[..3], &n[3..6], &n[6..]),
            _ => self.0.clone(),
        }
    }

    /// The number with all but the last four digits hidden, for logs and staff.
    pub fn masked(&self) -> String {
        format!("***-***-{}", self.last_four())
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn common_us_forms_are_one_number() {
        for input in [
            "(303) 658-2075",
            "303.658.2075",
            "+1 303 658 2075",
            "3036582075",
            "1-303-658-2075",
            " 303-658-2075 ",
        ] {
            assert_eq!(
                PhoneNumber::parse(input).map(|p| p.to_string()),
                Ok("+13036582075".to_string()),
                "{input}"
            );
        }
    }

    #[test]
    fn bad_numbers_say_why() {
        assert_eq!(PhoneNumber::parse(""), Err(PhoneError::Empty));
        assert_eq!(
            PhoneNumber::parse("303-658-207"),
            Err(PhoneError::WrongLength(9))
        );
        assert_eq!(
            PhoneNumber::parse("103-658-2075"),
            Err(PhoneError::BadAreaCode)
        );
        assert_eq!(
            PhoneNumber::parse("303-158-2075"),
            Err(PhoneError::BadExchange)
        );
        assert_eq!(
            PhoneNumber::parse("303-CALL-NOW"),
            Err(PhoneError::BadCharacters)
        );
        assert_eq!(
            PhoneNumber::parse("+44 20 7946 0958").map(|p| p.to_string()),
            Ok("+442079460958".into())
        );
    }

    #[test]
    fn national_form_is_how_people_write_it() {
        let p = PhoneNumber::parse("+1 303 555 0199").unwrap();
        assert_eq!(p.national(), "(303) 555-0199");
        let p = PhoneNumber::parse("+44 20 7946 0958").unwrap();
        assert_eq!(p.national(), "+442079460958");
    }

    #[test]
    fn masking_keeps_only_last_four() {
        let p = PhoneNumber::parse("3036582075").unwrap();
        assert_eq!(p.masked(), "***-***-2075");
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_output_is_e164(s in "\\PC{0,30}") {
            if let Ok(p) = PhoneNumber::parse(&s) {
                prop_assert!(p.as_str().starts_with('+'));
                prop_assert!(p.as_str()[1..].chars().all(|c| c.is_ascii_digit()));
                prop_assert_eq!(PhoneNumber::parse(p.as_str()), Ok(p.clone()));
            }
        }

        #[test]
        fn any_valid_nanp_number_round_trips_in_every_format(
            a in 2u32..10, b in 0u32..100, c in 2u32..10, d in 0u32..100, e in 0u32..10000
        ) {
            let area = format!("{a}{b:02}");
            let exch = format!("{c}{d:02}");
            let line = format!("{e:04}");
            let want = format!("+1{area}{exch}{line}");
            for form in [
                format!("({area}) {exch}-{line}"),
                format!("{area}.{exch}.{line}"),
                format!("+1 {area} {exch} {line}"),
                format!("{area}{exch}{line}"),
            ] {
                prop_assert_eq!(PhoneNumber::parse(&form).map(|p| p.to_string()), Ok(want.clone()));
            }
        }
    }
}
