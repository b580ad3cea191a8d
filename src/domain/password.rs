//! The portal's password rules, in the city guides' words: 6 to 25 characters, at least one
//! digit, one lower case letter, one upper case letter and one special character. On top of
//! them Helpline refuses common passwords (Django's list of 19,640, BSD-3-Clause, in
//! `common-passwords.txt`) and passwords containing the username, the license number or the
//! city's name.

use std::collections::HashSet;
use std::sync::OnceLock;

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

/// What a new password is checked against besides the portal rules.
#[derive(Debug, Clone, Default)]
pub struct PolicyContext<'a> {
    pub username: &'a str,
    pub license_number: Option<&'a str>,
    pub city: &'a str,
}

/// One reason a new password is refused; its `Display` is shown next to the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("{0}")]
    Rule(PasswordRule),
    #[error("is too common; choose one that is harder to guess")]
    Common,
    #[error("must not contain your username")]
    ContainsUsername,
    #[error("must not contain your license number")]
    ContainsLicense,
    #[error("must not contain the city's name")]
    ContainsCity,
}

fn common_passwords() -> &'static HashSet<&'static str> {
    static LIST: OnceLock<HashSet<&'static str>> = OnceLock::new();
    LIST.get_or_init(|| include_str!("common-passwords.txt").lines().collect())
}

/// True when the password, ignoring case, is on the common list, or is a common word with
/// digits and symbols tacked on the end ("Welcome123!").
pub fn is_common(candidate: &str) -> bool {
    let lower = candidate.to_lowercase();
    let list = common_passwords();
    if list.contains(lower.as_str()) {
        return true;
    }
    let stem = lower.trim_end_matches(|c: char| !c.is_alphabetic());
    stem.chars().count() >= 4 && list.contains(stem)
}

/// Every reason to refuse `candidate` as a new password.
pub fn problems(candidate: &str, ctx: &PolicyContext<'_>) -> Vec<PasswordProblem> {
    let mut out: Vec<PasswordProblem> = broken_rules(candidate)
        .into_iter()
        .map(PasswordProblem::Rule)
        .collect();
    let lower = candidate.to_lowercase();
    let contains = |needle: &str| {
        let needle = needle.trim().to_lowercase();
        needle.chars().count() >= 3 && lower.contains(&needle)
    };
    if contains(ctx.username) {
        out.push(PasswordProblem::ContainsUsername);
    }
    if ctx
        .license_number
        .is_some_and(|l| contains(l) && !contains(ctx.username))
    {
        out.push(PasswordProblem::ContainsLicense);
    }
    if contains(ctx.city) {
        out.push(PasswordProblem::ContainsCity);
    }
    if is_common(candidate) {
        out.push(PasswordProblem::Common);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> PolicyContext<'static> {
        PolicyContext {
            username: "C-1001",
            license_number: Some("B-884512"),
            city: "Westminster",
        }
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        assert_eq!(
            problems("Password1!", &ctx()),
            vec![PasswordProblem::Common]
        );
        assert_eq!(
            problems("Welcome123!", &ctx()),
            vec![PasswordProblem::Common]
        );
        assert_eq!(
            problems("xC-1001!aB", &ctx()),
            vec![PasswordProblem::ContainsUsername]
        );
        assert_eq!(
            problems("Zb-884512q", &ctx()),
            vec![PasswordProblem::ContainsLicense]
        );
        assert_eq!(
            problems("WESTMINSTER9!a", &ctx()),
            vec![PasswordProblem::ContainsCity]
        );
        assert!(problems("Gr4vel-Tr8ck", &ctx()).is_empty());
    }

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
