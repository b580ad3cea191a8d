//! The portal's password rules, in the city guides' words: 6 to 25 characters, at least one
//! digit, one lower case letter, one upper case letter and one special character.

/// One broken rule; its `Display` is the sentence shown next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordRule {
    #[error("must be at least 6 characters")]
    TooShort,
    #[error("must be at most 25 characters")]
    TooLong,
    #[error("must contain at least one digit")]
    NoDigit,
    #[error("must contain at least one lower case letter")]
    NoLower,
    #[error("must contain at least one upper case letter")]
    NoUpper,
    #[error("must contain at least one special character, such as ! or #")]
    NoSpecial,
}

pub const MIN_LEN: usize = 6;
pub const MAX_LEN: usize = 25;

/// Every portal rule the candidate breaks, in the order the guides list them.
pub fn broken_rules(candidate: &str) -> Vec<PasswordRule> {
    let mut broken = Vec::new();
    let len = candidate.chars().count();
    if len < MIN_LEN {
        broken.push(PasswordRule::TooShort);
    }
    if len > MAX_LEN {
        broken.push(PasswordRule::TooLong);
    }
    if !candidate.chars().any(|c| c.is_ascii_digit()) {
        broken.push(PasswordRule::NoDigit);
    }
    if !candidate.chars().any(char::is_lowercase) {
        broken.push(PasswordRule::NoLower);
    }
    if !candidate.chars().any(char::is_uppercase) {
        broken.push(PasswordRule::NoUpper);
    }
    if !candidate
        .chars()
        .any(|c| !c.is_alphanumeric() && !c.is_whitespace() && !c.is_control())
    {
        broken.push(PasswordRule::NoSpecial);
    }
    broken
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edge_lengths() {
        assert_eq!(broken_rules("aB1!x"), vec![PasswordRule::TooShort]);
        assert!(broken_rules("aB1!xy").is_empty());
        assert!(broken_rules(&format!("aB1!{}", "x".repeat(21))).is_empty());
        assert_eq!(
            broken_rules(&format!("aB1!{}", "x".repeat(22))),
            vec![PasswordRule::TooLong]
        );
    }

    #[test]
    fn each_rule_is_named() {
        assert_eq!(
            broken_rules("abcdef!"),
            vec![PasswordRule::NoDigit, PasswordRule::NoUpper]
        );
        assert_eq!(broken_rules("ABCDE1!"), vec![PasswordRule::NoLower]);
        assert_eq!(broken_rules("Abcde12"), vec![PasswordRule::NoSpecial]);
    }
}
