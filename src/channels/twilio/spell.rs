//! A temporary password as the phone line says it: in its groups (split at the hyphen), one
//! character at a time, each letter with its case and its word in the spelling alphabet
//! ("capital H, as in Hotel"), digits as digits. The words are the catalogue's
//! (`voice_spell_…`), in the call's language.

use crate::domain::language::Lang;
use crate::flows::{SPELLING_ALPHABET, Slot, Slots, Words};

/// `secret` spelled for `<Say>`.
pub fn spell(words: &Words, lang: Lang, secret: &str) -> String {
    let alphabet: Vec<&str> = words
        .text(lang, SPELLING_ALPHABET)
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let dash = words.render(lang, "voice_spell_dash", &Slots::new());
    secret
        .split('-')
        .map(|group| {
            group
                .chars()
                .map(|c| character(words, lang, &alphabet, c))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .collect::<Vec<_>>()
        .join(&format!(". {dash}. "))
}

fn character(words: &Words, lang: Lang, alphabet: &[&str], c: char) -> String {
    let key = if c.is_ascii_uppercase() {
        "voice_spell_upper"
    } else if c.is_ascii_lowercase() {
        "voice_spell_lower"
    } else {
        return c.to_string();
    };
    let index = usize::from(c.to_ascii_uppercase() as u8 - b'A');
    let slots = Slots::new()
        .with(Slot::Letter, c.to_string())
        .with(Slot::Word, alphabet.get(index).copied().unwrap_or_default());
    words.render(lang, key, &slots)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_letters_and_digits_are_read_apart_in_both_languages() {
        let words = Words::builtin();
        assert_eq!(
            spell(&words, Lang::En, "Hq7k-3Wm"),
            "capital H, as in Hotel, small q, as in Quebec, 7, small k, as in Kilo. dash. \
             3, capital W, as in Whiskey, small m, as in Mike"
        );
        assert_eq!(
            spell(&words, Lang::Es, "Ab-9"),
            "A mayúscula, de Antonio, b minúscula, de Barcelona. guion. 9"
        );
    }

    #[test]
    fn every_letter_has_a_word_in_every_language() {
        let words = Words::builtin();
        for lang in Lang::ALL {
            for c in ('A'..='Z').chain('a'..='z') {
                let said = spell(&words, lang, &c.to_string());
                assert!(!said.ends_with(' '), "{lang:?} {c}: {said}");
                assert!(said.len() > 8, "{lang:?} {c}: {said}");
            }
        }
    }
}
