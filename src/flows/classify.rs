//! What arrived, as the state's input understands it: accepted (with its outcome and the cleaned
//! value), not understood, or nothing. Total over every string: bounded work, no indexing that
//! can fail, never a panic (a property test feeds it anything).

use super::model::{DigitString, Input, Keywords};

/// Longest key string looked at; anything longer is not understood (a 200-digit `Digits`).
const MAX_KEYS: usize = 64;
/// Longest speech or text looked at.
pub const MAX_TEXT: usize = 320;

/// What the caller or texter sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrived {
    /// Keys pressed (Twilio's `Digits`), finish key included when pressed.
    Digits(String),
    /// Recognised speech (Twilio's `SpeechResult`).
    Speech(String),
    /// The body of a text message.
    Text(String),
    /// Nothing before the timeout (also: empty `Digits`).
    Timeout,
    /// A recording was made (`<Record>` posted back).
    Recording,
}

/// The input's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Class {
    Accepted { outcome: String, value: String },
    Invalid,
    Timeout,
}

fn accepted(outcome: &str, value: &str) -> Class {
    Class::Accepted {
        outcome: outcome.to_string(),
        value: value.to_string(),
    }
}

/// Keys pressed, or words spoken or texted (trimmed).
enum Got<'a> {
    Keys(&'a str),
    Words(&'a str),
}

/// Classifies `arrived` for `input`; `offered` are the menu keys on offer right now.
pub(super) fn classify(input: &Input, arrived: &Arrived, offered: &[&str]) -> Class {
    let got = match arrived {
        Arrived::Timeout => return Class::Timeout,
        Arrived::Recording => {
            return match input {
                Input::Record { .. } => accepted("ok", ""),
                _ => Class::Invalid,
            };
        }
        Arrived::Digits(d) if d.trim().is_empty() => return Class::Timeout,
        Arrived::Digits(d) if d.len() > MAX_KEYS => return Class::Invalid,
        Arrived::Digits(d) => Got::Keys(d.trim()),
        Arrived::Speech(s) | Arrived::Text(s) if s.len() > MAX_TEXT => return Class::Invalid,
        // Nothing recognised is silence; an empty text is simply not a keyword.
        Arrived::Speech(s) | Arrived::Text(s)
            if s.trim().is_empty() && !matches!(input, Input::Keyword(_)) =>
        {
            return Class::Timeout;
        }
        Arrived::Speech(s) | Arrived::Text(s) => Got::Words(s.trim()),
    };
    match (input, got) {
        (Input::None | Input::Record { .. }, _) => Class::Invalid,
        (Input::Digits(spec), Got::Keys(k)) => digit_string(spec, k),
        (Input::Digits(spec), Got::Words(w)) => {
            // Speech recognisers write numbers as "303-658 2075".
            let spoken: String = w
                .chars()
                .filter(|c| !matches!(c, ' ' | '-' | '.' | ','))
                .take(MAX_KEYS + 1)
                .collect();
            if spoken.chars().all(|c| c.is_ascii_digit()) {
                digit_string(spec, &spoken)
            } else {
                Class::Invalid
            }
        }
        (Input::Menu(_), got) => {
            let key = match got {
                Got::Keys(k) => Some(k.trim_end_matches('#')),
                Got::Words(w) => spoken_key(w),
            };
            match key.and_then(|k| offered.iter().find(|o| **o == k)) {
                Some(k) => accepted(k, k),
                None => Class::Invalid,
            }
        }
        (Input::YesNo { .. }, got) => {
            let answer = match got {
                Got::Keys("1") => Some(true),
                Got::Keys("2") => Some(false),
                Got::Keys(_) => None,
                Got::Words(w) => spoken_yes_no(w),
            };
            match answer {
                Some(true) => accepted("yes", "yes"),
                Some(false) => accepted("no", "no"),
                None => Class::Invalid,
            }
        }
        (Input::Speech { .. }, Got::Words(w)) => accepted("ok", w),
        (Input::Keyword(k), Got::Words(w)) => keyword(k, w),
        (Input::Speech { .. } | Input::Keyword(_), Got::Keys(_)) => Class::Invalid,
    }
}

/// A digit string within bounds, the finish key (when pressed) left off.
fn digit_string(spec: &DigitString, keys: &str) -> Class {
    let digits = match spec.finish {
        Some(f) => keys.strip_suffix(f).unwrap_or(keys),
        None => keys,
    };
    let n = digits.len();
    if n == 0 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Class::Invalid;
    }
    let n = u32::try_from(n).unwrap_or(u32::MAX);
    if n < spec.min || n > spec.max {
        return Class::Invalid;
    }
    accepted("ok", digits)
}

/// Lower-case words without surrounding punctuation.
fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split_whitespace()
        .map(|w| {
            w.trim_matches(|c: char| !c.is_alphanumeric())
                .to_lowercase()
        })
        .filter(|w| !w.is_empty())
}

/// The first key named in speech: "2", "two", "press two", "dos", "oprima el dos".
fn spoken_key(text: &str) -> Option<&'static str> {
    const NUMBERS: [(&str, &[&str]); 10] = [
        ("0", &["0", "zero", "cero"]),
        ("1", &["1", "one", "uno", "una"]),
        ("2", &["2", "two", "dos"]),
        ("3", &["3", "three", "tres"]),
        ("4", &["4", "four", "cuatro"]),
        ("5", &["5", "five", "cinco"]),
        ("6", &["6", "six", "seis"]),
        ("7", &["7", "seven", "siete"]),
        ("8", &["8", "eight", "ocho"]),
        ("9", &["9", "nine", "nueve"]),
    ];
    words_of(text).take(8).find_map(|w| {
        NUMBERS
            .iter()
            .find(|(_, names)| names.contains(&w.as_str()))
            .map(|(key, _)| *key)
    })
}

/// Yes or no in English or Spanish; `None` when neither or both.
fn spoken_yes_no(text: &str) -> Option<bool> {
    const YES: [&str; 10] = [
        "yes", "yeah", "yep", "correct", "right", "sí", "si", "claro", "correcto", "1",
    ];
    const NO: [&str; 5] = ["no", "nope", "incorrect", "incorrecto", "2"];
    let mut yes = false;
    let mut no = false;
    for w in words_of(text).take(16) {
        yes |= YES.contains(&w.as_str());
        no |= NO.contains(&w.as_str());
    }
    match (yes, no) {
        (true, false) => Some(true),
        (false, true) => Some(false),
        _ => None,
    }
}

/// The group of the text's first word; the value is the rest of the text.
fn keyword(k: &Keywords, text: &str) -> Class {
    let mut parts = text.splitn(2, char::is_whitespace);
    let first = parts
        .next()
        .unwrap_or("")
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_uppercase();
    let rest = parts.next().unwrap_or("").trim();
    if first.is_empty() {
        return Class::Invalid;
    }
    match k.groups.iter().find(|(_, words)| words.contains(&first)) {
        Some((group, _)) => accepted(group, rest),
        None => Class::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flows::model::Menu;

    fn digits(min: u32, max: u32) -> Input {
        Input::Digits(DigitString {
            min,
            max,
            finish: Some('#'),
            speech: false,
        })
    }

    fn keys(s: &str) -> Arrived {
        Arrived::Digits(s.into())
    }

    #[test]
    fn digit_strings_within_bounds_lose_the_finish_key() {
        let input = digits(4, 10);
        assert_eq!(
            classify(&input, &keys("1900862#"), &[]),
            accepted("ok", "1900862")
        );
        assert_eq!(
            classify(&input, &keys("1900862"), &[]),
            accepted("ok", "1900862")
        );
        for bad in [
            "*#",
            "#",
            "12#",
            "123*456#",
            "19008620000#",
            "12a4#",
            "1 2 3 4#",
        ] {
            assert_eq!(classify(&input, &keys(bad), &[]), Class::Invalid, "{bad}");
        }
        assert_eq!(
            classify(&input, &keys(&"9".repeat(200)), &[]),
            Class::Invalid
        );
        assert_eq!(classify(&input, &keys(""), &[]), Class::Timeout);
        assert_eq!(classify(&input, &Arrived::Timeout, &[]), Class::Timeout);
        assert_eq!(
            classify(&input, &Arrived::Speech("303-658 2075".into()), &[]),
            accepted("ok", "3036582075")
        );
        assert_eq!(
            classify(&input, &Arrived::Speech("<Say>1234</Say>".into()), &[]),
            Class::Invalid
        );
    }

    #[test]
    fn menus_take_offered_keys_pressed_or_spoken() {
        let input = Input::Menu(Menu {
            keys: vec!["1".into(), "2".into(), "3".into()],
            ..Menu::default()
        });
        let offered = ["1", "3"];
        assert_eq!(classify(&input, &keys("3"), &offered), accepted("3", "3"));
        assert_eq!(classify(&input, &keys("2"), &offered), Class::Invalid);
        assert_eq!(classify(&input, &keys("9"), &offered), Class::Invalid);
        assert_eq!(classify(&input, &keys("13"), &offered), Class::Invalid);
        assert_eq!(
            classify(&input, &Arrived::Speech("Press one.".into()), &offered),
            accepted("1", "1")
        );
        assert_eq!(
            classify(&input, &Arrived::Speech("el tres".into()), &offered),
            accepted("3", "3")
        );
        assert_eq!(
            classify(&input, &Arrived::Speech("help me".into()), &offered),
            Class::Invalid
        );
        assert_eq!(
            classify(&input, &Arrived::Recording, &offered),
            Class::Invalid
        );
    }

    #[test]
    fn yes_and_no_in_either_language() {
        let input = Input::YesNo { speech: true };
        for (said, want) in [
            ("1", Some("yes")),
            ("2", Some("no")),
            ("3", None),
            ("*", None),
        ] {
            let got = classify(&input, &keys(said), &[]);
            match want {
                Some(o) => assert_eq!(got, accepted(o, o), "{said}"),
                None => assert_eq!(got, Class::Invalid, "{said}"),
            }
        }
        for (said, want) in [
            ("Yes.", Some("yes")),
            ("Sí", Some("yes")),
            ("si, claro", Some("yes")),
            ("No!", Some("no")),
            ("yes no", None),
            ("maybe", None),
        ] {
            let got = classify(&input, &Arrived::Speech(said.into()), &[]);
            match want {
                Some(o) => assert_eq!(got, accepted(o, o), "{said}"),
                None => assert_eq!(got, Class::Invalid, "{said}"),
            }
        }
    }

    #[test]
    fn keywords_take_the_first_word_and_keep_the_rest() {
        let mut groups = std::collections::BTreeMap::new();
        groups.insert("reset".to_string(), vec!["RESET".to_string()]);
        groups.insert("reset_es".to_string(), vec!["CLAVE".to_string()]);
        let input = Input::Keyword(Keywords { groups });
        let text = |s: &str| Arrived::Text(s.into());
        assert_eq!(
            classify(&input, &text("  reset  1900862 "), &[]),
            accepted("reset", "1900862")
        );
        assert_eq!(
            classify(&input, &text("Clave: C-1001"), &[]),
            accepted("reset_es", "C-1001")
        );
        assert_eq!(classify(&input, &text("RESET"), &[]), accepted("reset", ""));
        assert_eq!(classify(&input, &text("hello"), &[]), Class::Invalid);
        assert_eq!(classify(&input, &text(""), &[]), Class::Invalid);
        assert_eq!(classify(&input, &text("¿¿"), &[]), Class::Invalid);
        assert_eq!(classify(&input, &keys("1"), &[]), Class::Invalid);
        let long = format!("RESET {}", "1".repeat(MAX_TEXT));
        assert_eq!(classify(&input, &text(&long), &[]), Class::Invalid);
    }

    #[test]
    fn recordings_and_speech() {
        let record = Input::Record { max_seconds: 60 };
        assert_eq!(
            classify(&record, &Arrived::Recording, &[]),
            accepted("ok", "")
        );
        assert_eq!(classify(&record, &keys("1"), &[]), Class::Invalid);
        let speech = Input::Speech { hints: vec![] };
        assert_eq!(
            classify(&speech, &Arrived::Speech(" hi ".into()), &[]),
            accepted("ok", "hi")
        );
        assert_eq!(
            classify(&speech, &Arrived::Speech("  ".into()), &[]),
            Class::Timeout
        );
        assert_eq!(classify(&speech, &keys("5"), &[]), Class::Invalid);
    }
}
